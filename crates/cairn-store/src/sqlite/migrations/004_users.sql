-- Cairn store schema 4: organisations and users. Every token belongs to a user and carries the
-- user's role and organisation; disabling the user stops all of their tokens at once. Tokens
-- stay SHA-256 hashes of 256-bit random secrets (see CHANGELOG.md, "Decisions").
--
-- Tokens of schema 2 named their holder, role and organisation themselves: each distinct
-- (name, role, organisation) becomes a user named after the holder ("name (role, organisation)"
-- when one name was used with several roles or organisations), and the tokens move to it.

CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL        -- microseconds since 1970 UTC
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('field', 'officer', 'auditor', 'admin')),
    organisation_id INTEGER REFERENCES organisations(id),
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER           -- set once; a disabled user's tokens are refused
);

INSERT INTO organisations (name, created_at)
    SELECT organisation, min(created_at) FROM tokens
    WHERE organisation IS NOT NULL GROUP BY organisation;

CREATE TEMP TABLE token_owners AS
    SELECT g.name, g.role, g.organisation, g.created_at,
           CASE WHEN g.same_name > 1
                THEN g.name || ' (' || g.role || coalesce(', ' || g.organisation, '') || ')'
                ELSE g.name END AS user_name
    FROM (SELECT name, role, organisation, min(created_at) AS created_at,
                 count(*) OVER (PARTITION BY name) AS same_name
          FROM tokens GROUP BY name, role, organisation) g;

INSERT INTO users (name, role, organisation_id, created_at)
    SELECT w.user_name, w.role, (SELECT o.id FROM organisations o WHERE o.name = w.organisation),
           w.created_at
    FROM token_owners w;

CREATE TABLE tokens_v4 (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    hash       BLOB NOT NULL UNIQUE,   -- SHA-256 of the secret
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

INSERT INTO tokens_v4 (id, user_id, hash, created_at, expires_at, revoked_at)
    SELECT t.id, u.id, t.hash, t.created_at, t.expires_at, t.revoked_at
    FROM tokens t
    JOIN token_owners w ON w.name = t.name AND w.role = t.role AND w.organisation IS t.organisation
    JOIN users u ON u.name = w.user_name;

DROP TABLE tokens;
ALTER TABLE tokens_v4 RENAME TO tokens;
CREATE INDEX tokens_user ON tokens(user_id);
DROP TABLE temp.token_owners;

-- Cairn on PostgreSQL, schema 2: organisations, users and their API tokens. Every token belongs
-- to a user and carries the user's role and organisation; only a SHA-256 hash of the secret is
-- kept. Nothing is deleted: a user who leaves is disabled, which refuses every token of theirs.

CREATE TABLE organisations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text COLLATE "C" NOT NULL UNIQUE,
    role            text NOT NULL CHECK (role IN ('field', 'officer', 'auditor', 'admin')),
    organisation_id bigint REFERENCES organisations(id),
    created_at      timestamptz NOT NULL,
    disabled_at     timestamptz           -- set once; a disabled user's tokens are refused
);

CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id),
    hash       bytea NOT NULL UNIQUE,     -- SHA-256 of the secret
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX tokens_user ON tokens (user_id);

-- Cairn store schema 2: API tokens. Only a SHA-256 hash of each token is kept.

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    organisation TEXT,
    hash         BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,    -- microseconds since 1970 UTC
    expires_at   INTEGER,
    revoked_at   INTEGER
);

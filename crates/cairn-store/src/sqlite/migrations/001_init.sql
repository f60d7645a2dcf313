-- Cairn store schema 1: append-only revisions of records, grouped in attributed changesets.

CREATE TABLE changesets (
    id          INTEGER PRIMARY KEY,
    recorded_at INTEGER NOT NULL,      -- microseconds since 1970-01-01 UTC, strictly increasing
    author      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    source      TEXT
);

CREATE TABLE revisions (
    rev            INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,      -- 'area' for hazardous areas
    record_id      TEXT NOT NULL,
    seq            INTEGER NOT NULL,   -- the record's own revision number, from 1
    changeset      INTEGER NOT NULL REFERENCES changesets(id) DEFERRABLE INITIALLY DEFERRED,
    op             TEXT NOT NULL,      -- create | update
    status         TEXT,
    classification TEXT,
    minx REAL, miny REAL, maxx REAL, maxy REAL,
    geom           BLOB NOT NULL,      -- little-endian ISO WKB, WGS 84
    props          TEXT NOT NULL,      -- the record's properties as JSON
    UNIQUE (kind, record_id, seq)
);

CREATE INDEX revisions_changeset ON revisions(changeset);

-- The latest revision of each record: a projection of revisions, rewritten on every write.
CREATE TABLE heads (
    kind      TEXT NOT NULL,
    record_id TEXT NOT NULL,
    rev       INTEGER NOT NULL REFERENCES revisions(rev),
    seq       INTEGER NOT NULL,
    PRIMARY KEY (kind, record_id)
) WITHOUT ROWID;

CREATE TRIGGER revisions_are_append_only_update BEFORE UPDATE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;
CREATE TRIGGER revisions_are_append_only_delete BEFORE DELETE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;
CREATE TRIGGER changesets_are_append_only_update BEFORE UPDATE ON changesets
BEGIN SELECT RAISE(ABORT, 'changesets are append-only'); END;
CREATE TRIGGER changesets_are_append_only_delete BEFORE DELETE ON changesets
BEGIN SELECT RAISE(ABORT, 'changesets are append-only'); END;

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters VALUES ('area_id', 0);

-- Cairn store schema 3: reports of suspicious objects from the public, and their triage.
-- Both tables are append-only: a report is never changed or deleted, and a triage decision is a
-- new row naming who decided, when and why.

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    reference   TEXT NOT NULL UNIQUE,  -- R-XXXX-XXXX, quoted by the reporter
    received_at INTEGER NOT NULL,      -- microseconds since 1970 UTC (recorded time)
    lon         REAL NOT NULL,
    lat         REAL NOT NULL,
    accuracy_m  REAL,
    category    TEXT NOT NULL,
    description TEXT NOT NULL,
    seen_at     INTEGER,               -- when the reporter saw it (valid time), if given
    photo_type  TEXT,                  -- image/jpeg | image/png | image/webp
    photo       BLOB                   -- metadata stripped; last, so lists never read it
);

CREATE INDEX reports_received ON reports(received_at);

CREATE TABLE report_triage (
    id        INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL UNIQUE REFERENCES reports(id),  -- one decision per report
    at        INTEGER NOT NULL,        -- microseconds since 1970 UTC
    by        TEXT NOT NULL,           -- the token's holder or --by
    action    TEXT NOT NULL CHECK (action IN ('link', 'open', 'dismiss')),
    area_id   TEXT,                    -- link and open: the hazardous area
    reason    TEXT,                    -- dismiss: why
    changeset INTEGER REFERENCES changesets(id) DEFERRABLE INITIALLY DEFERRED  -- open: the area's creation
);

CREATE TRIGGER reports_are_append_only_update BEFORE UPDATE ON reports
BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END;
CREATE TRIGGER reports_are_append_only_delete BEFORE DELETE ON reports
BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END;
CREATE TRIGGER report_triage_is_append_only_update BEFORE UPDATE ON report_triage
BEGIN SELECT RAISE(ABORT, 'triage decisions are append-only'); END;
CREATE TRIGGER report_triage_is_append_only_delete BEFORE DELETE ON report_triage
BEGIN SELECT RAISE(ABORT, 'triage decisions are append-only'); END;

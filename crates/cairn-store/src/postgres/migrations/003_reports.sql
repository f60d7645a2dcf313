-- Cairn on PostgreSQL, schema 3: reports of suspicious objects from the public, and their triage.
-- Both tables are append-only: a report is never changed or deleted, and a triage decision is a
-- new row naming who decided, when and why (one decision per report).

CREATE TABLE reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference   text NOT NULL UNIQUE,     -- R-XXXX-XXXX, quoted by the reporter
    received_at timestamptz NOT NULL,     -- recorded time
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    place       geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
    accuracy_m  double precision,
    category    text NOT NULL,
    description text NOT NULL,
    seen_at     timestamptz,              -- when the reporter saw it (valid time), if given
    photo_type  text,                     -- image/jpeg | image/png | image/webp
    photo       bytea                     -- metadata stripped
);
CREATE INDEX reports_received ON reports (received_at);

CREATE TABLE report_triage (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id  bigint NOT NULL UNIQUE REFERENCES reports(id),
    at         timestamptz NOT NULL,
    decided_by text NOT NULL,
    action     text NOT NULL CHECK (action IN ('link', 'open', 'dismiss')),
    area_id    text,                      -- link and open: the hazardous area
    reason     text,                      -- dismiss: why
    changeset  bigint REFERENCES changesets(id) DEFERRABLE INITIALLY DEFERRED  -- open: the area's creation
);

CREATE TRIGGER reports_are_append_only BEFORE UPDATE OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION cairn_refuse_change('reports');
CREATE TRIGGER reports_are_append_only_truncate BEFORE TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_refuse_change('reports');
CREATE TRIGGER report_triage_is_append_only BEFORE UPDATE OR DELETE ON report_triage
    FOR EACH ROW EXECUTE FUNCTION cairn_refuse_change('triage decisions');
CREATE TRIGGER report_triage_is_append_only_truncate BEFORE TRUNCATE ON report_triage
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_refuse_change('triage decisions');

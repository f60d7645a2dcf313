-- Cairn on PostgreSQL/PostGIS, schema 1: append-only revisions of records, grouped in attributed
-- changesets (the same tables as the SQLite backend's, in PostgreSQL's types).
--
-- For GIS officers: `revisions.geom` is PostGIS `geometry(Geometry, 4326)` with a GiST index, and
-- the view `current_areas` shows every hazardous area as it is now (open it in QGIS, or query it
-- with ST_Intersects in psql). Every record's history stays in `revisions`; nothing is ever
-- updated or deleted there, and triggers refuse it.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE changesets (
    id          bigint PRIMARY KEY,       -- the change feed's number: assigned in commit order
    recorded_at timestamptz NOT NULL,     -- strictly increasing with id
    author      text NOT NULL,
    reason      text NOT NULL,
    source      text
);

CREATE TABLE revisions (
    rev            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text COLLATE "C" NOT NULL,  -- 'area', 'activity', 'release', 'find', 'zone', 'accident'
    record_id      text COLLATE "C" NOT NULL,
    seq            bigint NOT NULL,            -- the record's own revision number, from 1
    changeset      bigint NOT NULL REFERENCES changesets(id) DEFERRABLE INITIALLY DEFERRED,
    op             text NOT NULL CHECK (op IN ('create', 'update')),
    status         text,
    classification text,
    geom           geometry(Geometry, 4326) NOT NULL,
    props          json NOT NULL,              -- as written: `json` keeps the text byte for byte
    command        text,                       -- the domain command that wrote an area's revision
    UNIQUE (kind, record_id, seq)
);

CREATE INDEX revisions_changeset ON revisions (changeset);
CREATE INDEX revisions_geom ON revisions USING gist (geom);
CREATE INDEX revisions_activity_area ON revisions ((props->>'area_id')) WHERE kind = 'activity';
CREATE INDEX revisions_release_area ON revisions ((props->>'area_id')) WHERE kind = 'release';
CREATE INDEX revisions_find_release ON revisions ((props->>'release_id')) WHERE kind = 'find';
CREATE INDEX revisions_emplacement ON revisions (record_id)
    WHERE kind = 'area' AND props->>'emplacement' IS NOT NULL;

-- The latest revision of each record: a projection of revisions, rewritten on every write.
CREATE TABLE heads (
    kind      text COLLATE "C" NOT NULL,
    record_id text COLLATE "C" NOT NULL,
    rev       bigint NOT NULL REFERENCES revisions(rev),
    seq       bigint NOT NULL,
    PRIMARY KEY (kind, record_id)
);
CREATE INDEX heads_rev ON heads (rev);

CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters VALUES ('area_id', 0), ('activity_id', 0), ('release_id', 0), ('find_id', 0),
    ('accident_id', 0);

-- History is append-only: UPDATE, DELETE and TRUNCATE are refused on the tables that hold it.
CREATE FUNCTION cairn_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are append-only', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER revisions_are_append_only BEFORE UPDATE OR DELETE ON revisions
    FOR EACH ROW EXECUTE FUNCTION cairn_refuse_change('revisions');
CREATE TRIGGER revisions_are_append_only_truncate BEFORE TRUNCATE ON revisions
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_refuse_change('revisions');
CREATE TRIGGER changesets_are_append_only BEFORE UPDATE OR DELETE ON changesets
    FOR EACH ROW EXECUTE FUNCTION cairn_refuse_change('changesets');
CREATE TRIGGER changesets_are_append_only_truncate BEFORE TRUNCATE ON changesets
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_refuse_change('changesets');

-- Every hazardous area as it is now, for QGIS and psql.
CREATE VIEW current_areas AS
    SELECT r.record_id AS id, r.status, r.classification, r.props->>'name' AS name, r.seq,
           c.recorded_at, c.author, r.props, r.geom
    FROM heads h JOIN revisions r ON r.rev = h.rev JOIN changesets c ON c.id = r.changeset
    WHERE h.kind = 'area';

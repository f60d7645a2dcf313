-- Cairn on PostgreSQL, schema 4: the device catalogue, versioned in the store. Each version is
-- the whole catalogue as TOML, numbered 1, 2, 3… and written in a changeset of its own; version 1,
-- the catalogue shipped with Cairn, is written when the store is created. Like revisions,
-- versions are never updated or deleted.

CREATE TABLE catalogue_versions (
    version   bigint PRIMARY KEY,
    changeset bigint NOT NULL UNIQUE REFERENCES changesets(id) DEFERRABLE INITIALLY DEFERRED,
    toml      text NOT NULL
);

CREATE TRIGGER catalogue_versions_are_append_only BEFORE UPDATE OR DELETE ON catalogue_versions
    FOR EACH ROW EXECUTE FUNCTION cairn_refuse_change('catalogue versions');
CREATE TRIGGER catalogue_versions_are_append_only_truncate BEFORE TRUNCATE ON catalogue_versions
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_refuse_change('catalogue versions');

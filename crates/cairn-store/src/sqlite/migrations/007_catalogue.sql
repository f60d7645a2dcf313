-- Cairn store schema 7: the device catalogue, versioned in the store.
-- Each version is the whole catalogue as TOML (the format of cairn-core's device-types.toml),
-- numbered 1, 2, 3… and written in a changeset of its own, so who changed which profile, when
-- and why is recorded like any other change. Version 1 is the catalogue shipped with the Cairn
-- that created (or upgraded) the store, written by the migration with author "cairn". Like
-- revisions, versions are never updated or deleted.

CREATE TABLE catalogue_versions (
    version   INTEGER PRIMARY KEY,
    changeset INTEGER NOT NULL UNIQUE REFERENCES changesets(id) DEFERRABLE INITIALLY DEFERRED,
    toml      TEXT NOT NULL
);

CREATE TRIGGER catalogue_versions_are_append_only_update BEFORE UPDATE ON catalogue_versions
BEGIN SELECT RAISE(ABORT, 'catalogue versions are append-only'); END;
CREATE TRIGGER catalogue_versions_are_append_only_delete BEFORE DELETE ON catalogue_versions
BEGIN SELECT RAISE(ABORT, 'catalogue versions are append-only'); END;

-- Cairn store schema 8: each revision names the domain command that wrote it (create, migrate,
-- edit, correct, release, …), so a correction that weakened a hazard shows as such in history.
-- Older revisions have none. The changeset id is the change feed's sequence number.

ALTER TABLE revisions ADD COLUMN command TEXT;

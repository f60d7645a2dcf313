-- Cairn store schema 5: activities, land releases and post-release finds.
-- They are records in the revisions table beside hazardous areas (kind 'activity', 'release' and
-- 'find'), so they share the areas' append-only history, changesets and attribution; the
-- geometry column holds the land worked, the land released, or the find's place. This migration
-- adds their id counters and indexes that find them by area and by release.

INSERT INTO counters VALUES ('activity_id', 0), ('release_id', 0), ('find_id', 0);

CREATE INDEX revisions_activity_area ON revisions(json_extract(props, '$.area_id')) WHERE kind = 'activity';
CREATE INDEX revisions_release_area ON revisions(json_extract(props, '$.area_id')) WHERE kind = 'release';
CREATE INDEX revisions_find_release ON revisions(json_extract(props, '$.release_id')) WHERE kind = 'find';

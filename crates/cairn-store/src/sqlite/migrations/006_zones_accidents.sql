-- Cairn store schema 6: zones and accidents.
-- Both are records in the revisions table (kind 'zone' and 'accident'), so they share the
-- append-only history, changesets and attribution of every other record. A zone's geometry is
-- its outline; an accident's is its place. Emplacement records are hazardous areas whose
-- properties carry an `emplacement` object; the partial index finds them for the audit without
-- reading every area.

INSERT INTO counters VALUES ('accident_id', 0);

CREATE INDEX revisions_emplacement ON revisions(record_id)
    WHERE kind = 'area' AND json_extract(props, '$.emplacement') IS NOT NULL;

-- The peer of `cairn report transparency` in bench/report.sh: the sector figures a user would
-- compute with SQL over the same store instead (sqlite3), for the period :from to :to given as
-- parameters. No oblast split (SQLite has no geometry functions) and no page: figures only.
.parameter init
-- Released land per method and month, dated by the activity's end.
SELECT json_extract(r.props, '$.method'), substr(json_extract(a.props, '$.ended'), 1, 7),
       sum(json_extract(r.props, '$.released_m2')), count(*)
FROM heads h JOIN revisions r ON r.rev = h.rev
JOIN heads ha ON ha.kind = 'activity' AND ha.record_id = json_extract(r.props, '$.activity_id')
JOIN revisions a ON a.rev = ha.rev
WHERE h.kind = 'release' AND json_extract(a.props, '$.ended') BETWEEN @from AND @to GROUP BY 1, 2;
-- Devices found and destroyed per type.
SELECT json_extract(d.value, '$.type'), json_extract(d.value, '$.action'), sum(json_extract(d.value, '$.count'))
FROM heads h JOIN revisions r ON r.rev = h.rev, json_each(r.props, '$.devices') d
WHERE h.kind = 'activity' AND json_extract(r.props, '$.ended') BETWEEN @from AND @to GROUP BY 1, 2;
-- Post-release finds.
SELECT count(*), coalesce(sum(json_extract(r.props, '$.count')), 0) FROM heads h JOIN revisions r ON r.rev = h.rev
WHERE h.kind = 'find' AND substr(json_extract(r.props, '$.recorded_at'), 1, 10) BETWEEN @from AND @to;
-- Casualties per month, outcome and role.
SELECT substr(json_extract(r.props, '$.occurred_at'), 1, 7), json_extract(c.value, '$.outcome'),
       json_extract(c.value, '$.role'), count(*)
FROM heads h JOIN revisions r ON r.rev = h.rev, json_each(r.props, '$.casualties') c
WHERE h.kind = 'accident' AND substr(json_extract(r.props, '$.occurred_at'), 1, 10) BETWEEN @from AND @to
GROUP BY 1, 2, 3;
-- Risk education per month.
SELECT substr(json_extract(r.props, '$.ended'), 1, 7), count(*), sum(json_extract(r.props, '$.participants'))
FROM heads h JOIN revisions r ON r.rev = h.rev
WHERE h.kind = 'activity' AND json_extract(r.props, '$.kind') = 'risk-education'
  AND json_extract(r.props, '$.ended') BETWEEN @from AND @to GROUP BY 1;
-- Open hazards by status and marking.
SELECT r.status, json_extract(r.props, '$.marking'), count(*) FROM heads h JOIN revisions r ON r.rev = h.rev
WHERE h.kind = 'area' AND r.status IN ('suspected', 'confirmed', 'reduced') GROUP BY 1, 2;

#!/usr/bin/env bash
# The peer of bench/audit.sh: PostGIS asked the audit's two spatial rules — the area of every AP
# emplacement record outside the union of the permitted zones (ST_Union, ST_CoveredBy,
# ST_Difference, area on the geography) and every AP emplacement record within 1 km of a GeoNames
# settlement (ST_DWithin on the geography, GiST) — on the same areas, zones and settlements;
# beside Cairn's audit with a policy of those two rules only, in the same run.
# Needs the `areas` table of bench/postgis.sh (same synth geometry, seed 1) and the store of
# bench/audit.sh. Usage: bench/audit-postgis.sh (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/bench/out
N=${N:-1000000}
STORE=$OUT/audit-$N.db
[ -f "$STORE" ] || { echo "run bench/audit.sh first ($STORE is missing)" >&2; exit 1; }
pg_isready -q || pg_ctlcluster --skip-systemctl-redirect 15 main start
for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
export PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0 -c client_min_messages=warning"
sql() { psql -X -q -v ON_ERROR_STOP=1 -d cairn_bench "$@"; }
sql -tAc "select count(*) from areas" | grep -q . || { echo "run bench/postgis.sh first" >&2; exit 1; }

# The AP emplacement records (ids), the zones and the settlements, as Cairn has them.
sqlite3 -readonly "$STORE" "select r.record_id from revisions r join heads h on h.kind = r.kind and h.record_id = r.record_id and h.rev = r.rev where r.kind = 'area' and json_extract(r.props, '$.emplacement') is not null and exists (select 1 from json_each(r.props, '$.devices') d where json_extract(d.value, '$.type') like 'ap-mine%' and (json_extract(d.value, '$.how_known') = 'record' or not exists (select 1 from json_each(r.props, '$.devices') e where json_extract(e.value, '$.how_known') = 'record')))" > "$OUT/ap-emplacement-ids.txt"
cut -d, -f2-4 crates/cairn-synth/data/settlements-ua.csv | tail -n +2 > "$OUT/settlements.csv"
sql -c "drop table if exists empl, zones_permitted, settlements, permitted" \
  -c "create table empl (id text primary key)" -c "\\copy empl from '$OUT/ap-emplacement-ids.txt'" \
  -c "create table settlements (name text, lat float8, lon float8)" -c "\\copy settlements from '$OUT/settlements.csv' csv" \
  -c "alter table settlements add column p geography(Point, 4326)" -c "update settlements set p = st_makepoint(lon, lat)::geography" \
  -c "create index on settlements using gist (p)" -c "vacuum analyze empl" -c "vacuum analyze settlements"
ogr2ogr -f PostgreSQL PG:"dbname=cairn_bench" "$OUT/zones-permitted.geojson" -nln zones_permitted -lco GEOMETRY_NAME=geom -nlt MULTIPOLYGON -overwrite
echo "AP emplacement records: $(wc -l < "$OUT/ap-emplacement-ids.txt"), permitted zones: $(sql -tAc 'select count(*) from zones_permitted'), settlements: $(sql -tAc 'select count(*) from settlements')"

cat > "$OUT/audit-postgis.sql" <<'SQL'
\timing on
-- permitted-zones: the union, then each record's part outside it (spots and tracks as their
-- buffers on the geography, as Cairn draws them).
create temp table permitted as select st_union(geom) as u from zones_permitted;
select count(*) as outside, round(sum(km2)::numeric, 3) as km2 from (
  select st_area(st_difference(g, p.u)::geography) / 1e6 as km2
  from (select case when a.pad > 0 then st_buffer(a.geom::geography, a.pad)::geometry else a.geom end as g
        from areas a join empl using (id)) x, permitted p
  where not st_coveredby(g, p.u)) y where km2 > 1e-6;
-- settlement-distance: records within 1 km of a settlement.
select count(distinct a.id) as near
  from areas a join empl using (id) join settlements s on st_dwithin(a.geom::geography, s.p, 1000 + a.pad);
SQL
echo "== PostGIS"
/usr/bin/time -f "%e s wall (psql, both rules)" psql -X -d cairn_bench -f "$OUT/audit-postgis.sql"
printf '[rules.permitted-zones]\nzone-kind = "permitted"\n[rules.settlement-distance]\nminimum = "1 km"\n' > "$OUT/policy-spatial.toml"
echo "== Cairn"
target/release/cairn --db "$STORE" audit --policy "$OUT/policy-spatial.toml" | head -4 || true
hyperfine -i -w 1 -r 5 "target/release/cairn --db $STORE audit --policy $OUT/policy-spatial.toml --json > /dev/null"

#!/usr/bin/env bash
# Benchmark: PostGIS (Debian postgresql-15-postgis-3) asked the questions Cairn's spatial engine
# answers in crates/cairn-index/benches/engine.rs, on the same 1,000,000 synthetic areas (seed 1),
# the same query points (the benchmark's first 20,000 of 100,000) and the same 100 km route with
# a 500 m corridor. Prints place checks per second inside the database on one core and over the
# wire with pgbench and prepared statements, and the route check's latency. Figures go into
# BENCHMARKS.md beside Cairn's.
# Usage: bench/postgis.sh   (as root; installs PostgreSQL 15 and PostGIS 3 when missing; keeps the
# database `cairn_bench` between runs and reloads it only when the GeoJSON file changed)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/bench/out
DB=cairn_bench
SRC=$OUT/synth-1000000.geojson
POINTS=$OUT/points-100000.csv
SECONDS_EACH=${PGBENCH_SECONDS:-20}
# How many of the query points the in-database runs use (the first ones: half near, half random).
PG_POINTS=${PG_POINTS:-20000}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$OUT"
say() { printf '\n== %s\n' "$*"; }

# PostgreSQL 15 with PostGIS 3, and GDAL for loading, from Debian's packages when missing.
need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
command -v ogr2ogr >/dev/null 2>&1 || need+=(gdal-bin)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "bench/postgis.sh: run as root to install ${need[*]}" >&2; exit 1; }
  say "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -f /usr/share/postgresql/15/extension/postgis.control ] || { echo "bench/postgis.sh: PostGIS is still missing" >&2; exit 1; }

# The cluster, with enough shared buffers to hold the table and its indexes. JIT is off and
# parallel query too, so that a query runs on one core, as Cairn's figures do.
pg_lsclusters -h | awk '$1 == 15 && $2 == "main" { found = 1 } END { exit !found }' || pg_createcluster 15 main >/dev/null
start() {
  pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || true
  for _ in $(seq 1 30); do pg_isready -q && return 0; sleep 1; done
  echo "bench/postgis.sh: PostgreSQL did not start; see /var/log/postgresql/postgresql-15-main.log" >&2
  exit 1
}
pg_isready -q || start
su postgres -c "psql -XtAc \"select 1 from pg_roles where rolname = 'root'\"" | grep -q 1 ||
  su postgres -c "createuser -s root"
if [ "$(psql -XtAd postgres -c 'show shared_buffers')" != "2GB" ]; then
  psql -Xqd postgres -c "alter system set shared_buffers = '2GB'"
  pg_ctlcluster --skip-systemctl-redirect 15 main restart 2>/dev/null || true
  start
fi
export PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0 -c client_min_messages=warning"
psql -XtAd postgres -c "select 1 from pg_database where datname = '$DB'" | grep -q 1 || createdb "$DB"
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
sql -c "create extension if not exists postgis" -c "create extension if not exists pg_prewarm"

# The same data as Cairn's benchmark: the synthetic areas and the exported points and route.
if [ ! -f "$SRC" ]; then
  say "writing $SRC"
  cargo build --release --quiet --bin cairn </dev/null
  "$TARGET/release/cairn" synth --areas 1000000 --seed 1 -o "$SRC"
fi
if [ ! -f "$POINTS" ] || [ ! -f "$OUT/route.wkt" ]; then
  say "exporting the query points and route from crates/cairn-index/benches/engine.rs"
  CAIRN_BENCH_EXPORT=$OUT cargo bench --quiet -p cairn-index --bench engine </dev/null
fi
ROUTE=$(cat "$OUT/route.wkt")

# Load once per GeoJSON file: the load is stamped with the file's size and time.
stamp=$(stat -c '%s-%Y' "$SRC")
have=$(sql -tAc "select obj_description(to_regclass('areas'), 'pg_class')")
if [ "$have" != "$stamp" ]; then
  say "loading $SRC into PostGIS"
  sql -c "drop table if exists areas, areas_load"
  t0=$(date +%s.%N)
  ogr2ogr -f PostgreSQL PG:"dbname=$DB" "$SRC" -nln areas_load -nlt GEOMETRY \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=NONE -lco FID=fid \
    -select id,status,radius_m,width_m -gt 65536
  t1=$(date +%s.%N)
  # `pad` is a spot's radius or half a track's width, in metres; 0 for polygons.
  sql <<SQL
create table areas as
  select fid, id, status, coalesce(radius_m, width_m / 2, 0)::float8 as pad, geom from areas_load order by fid;
drop table areas_load;
alter table areas add primary key (fid);
create index areas_geom on areas using gist (geom);
create index areas_geog_polygons on areas using gist ((geom::geography)) where pad = 0;
create index areas_geog_padded on areas using gist ((geom::geography)) where pad > 0;
vacuum analyze areas;
comment on table areas is '$stamp';
SQL
  t2=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "load: ogr2ogr %.1f s, table and GiST indexes %.1f s\n", b - a, c - b }'
fi
sql -c "drop table if exists qpoints" -c "create table qpoints (qid int primary key, kind text not null, lon float8 not null, lat float8 not null)" \
  -c "\\copy qpoints from '$POINTS' csv" \
  -c "alter table qpoints add column p geometry(Point, 4326)" \
  -c "update qpoints set p = st_setsrid(st_makepoint(lon, lat), 4326)" -c "vacuum analyze qpoints"
MAXPAD=$(sql -tAc "select max(pad) from areas")
# Table and indexes into shared buffers, so that no run pays for a cold cache.
sql -tAc "select sum(pg_prewarm(c)) || ' blocks prewarmed' from unnest(array['areas', 'areas_pkey', 'areas_geom', 'areas_geog_polygons', 'areas_geog_padded', 'qpoints', 'qpoints_pkey']::regclass[]) c"

# The queries. Polygons are found through the geography index of polygons; spots and tracks
# through the index of padded shapes, searched with the largest pad and then refined with each
# row's own (the distance of a GiST-searchable ST_DWithin must not depend on the row).
OPEN="a.status in ('suspected', 'confirmed', 'reduced')"
# Hazards containing point $1 or within $2 metres of it, with the distance (0 when inside).
q_check() {
  cat <<SQL
select a.id, a.status, case when st_intersects(a.geom, $1) then 0 else st_distance(a.geom::geography, $1::geography) end as distance_m
  from areas a where a.pad = 0 and $OPEN and st_dwithin(a.geom::geography, $1::geography, $2)
union all
select id, status, greatest(d - pad, 0) from (
  select a.id, a.status, a.pad, st_distance(a.geom::geography, $1::geography) as d
    from areas a where a.pad > 0 and $OPEN and st_dwithin(a.geom::geography, $1::geography, $2 + $MAXPAD)) s
  where d <= $2 + pad
SQL
}
# Hazards containing point $1 (accuracy 0): ST_Intersects on geometry for polygons.
q_inside() {
  cat <<SQL
select a.id, a.status from areas a where a.pad = 0 and $OPEN and st_intersects(a.geom, $1)
union all
select a.id, a.status from areas a
  where a.pad > 0 and $OPEN and st_dwithin(a.geom::geography, $1::geography, $MAXPAD)
    and st_dwithin(a.geom::geography, $1::geography, a.pad)
SQL
}
# The nearest open hazard within 50 km of point $1: ten candidates by the geometry index's
# k-nearest search, measured on the ellipsoid, less their pads.
q_nearest() {
  cat <<SQL
select id from (
  select a.id, greatest(st_distance(a.geom::geography, $1::geography) - a.pad, 0) as d
    from areas a where $OPEN order by a.geom <-> $1 limit 10) s
  where d <= 50000 order by d, id limit 1
SQL
}
# Hazards within 250 m of the route ($1, a geography): the corridor is 500 m wide.
q_route() {
  cat <<SQL
select a.id, a.status from areas a where a.pad = 0 and $OPEN and st_dwithin(a.geom::geography, $1, 250)
union all
select a.id, a.status from areas a
  where a.pad > 0 and $OPEN and st_dwithin(a.geom::geography, $1, 250 + $MAXPAD)
    and st_dwithin(a.geom::geography, $1, 250 + a.pad)
SQL
}
# Cairn's route is straight in longitude and latitude, not along great circles: densify it in
# degrees first (0.0045 degrees, about 500 m or less) so PostGIS follows the same line.
R_GEOM="st_segmentize('SRID=4326;$ROUTE'::geometry, 0.0045)"
ROUTE_WHOLE="select * from ($(q_route "$R_GEOM::geography")) x"
# The same, with the route cut into its short segments and each searched on its own.
ROUTE_PIECES="select distinct x.id, x.status from (select (st_dumpsegments($R_GEOM)).geom::geography as g) seg
  cross join lateral ($(q_route seg.g)) x"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
echo "postgres: $(sql -tAc 'select version()' | cut -d' ' -f1-2), postgis $(sql -tAc 'select postgis_lib_version()'), GEOS $(sql -tAc 'select postgis_geos_version()' | cut -d- -f1)"
echo "areas: $(sql -tAc 'select count(*) from areas'); table $(sql -tAc "select pg_size_pretty(pg_table_size('areas'))"), indexes $(sql -tAc "select pg_size_pretty(pg_indexes_size('areas'))"); largest pad $MAXPAD m; shared_buffers $(sql -tAc 'show shared_buffers')"

say "plans (one point; the route cut into segments), each line cut at 160 characters"
sql -c "explain (costs off) select x.* from qpoints q cross join lateral ($(q_check q.p 25)) x where q.qid = 1" | cut -c1-160
sql -c "explain (costs off) $ROUTE_PIECES" | cut -c1-160

# Inside the database, on one core: the first $PG_POINTS query points in one statement, after a
# warm-up on the first 1,000. The counts are to be compared with Cairn's summary line for them.
indb() { # label, statement with QPOINTS standing for the table of query points
  sql -tAc "${2//QPOINTS/(select * from qpoints where qid <= 1000)}" >/dev/null
  local t0 t1 res
  t0=$(date +%s%N)
  res=$(sql -tA -F ', ' -c "${2//QPOINTS/(select * from qpoints where qid <= $PG_POINTS)}")
  t1=$(date +%s%N)
  awk -v l="$1" -v r="$res" -v n="$PG_POINTS" -v ns=$((t1 - t0)) \
    'BEGIN { printf "%s: %.2f s for %d points = %.0f points/s on one core (%s)\n", l, ns / 1e9, n, n / (ns / 1e9), r }'
}
say "inside the database, one core (psql; first $PG_POINTS query points)"
indb "point check, accuracy 25 m" \
  "select count(*) filter (where distance_m = 0) || ' pairs inside', count(*) filter (where distance_m > 0) || ' more within 25 m'
     from QPOINTS q cross join lateral ($(q_check q.p 25)) x"
indb "point check, accuracy 0" \
  "select count(*) || ' pairs inside' from QPOINTS q cross join lateral ($(q_inside q.p)) x"
indb "nearest open hazard within 50 km, every point" \
  "select count(*) || ' points with a nearest' from QPOINTS q cross join lateral ($(q_nearest q.p)) n"
indb "point check as Cairn's (accuracy 25 m, nearest when inside none)" \
  "select count(*) filter (where c.inside > 0) || ' points inside', sum(c.inside) || ' pairs inside', sum(c.near) || ' more within 25 m',
          count(c.nearest) || ' points with a nearest'
     from QPOINTS q cross join lateral (
       select x.inside, x.near, case when x.inside = 0 then ($(q_nearest q.p)) else 'inside' end as nearest
         from (select count(*) filter (where distance_m = 0) as inside, count(*) filter (where distance_m > 0) as near
                 from ($(q_check q.p 25)) y) x) c"

route_run() { # label, statement
  sql -tAc "$2" >/dev/null
  local t0 t1 n
  t0=$(date +%s%N)
  for _ in 1 2 3; do n=$(sql -tAc "select count(*) from ($2) z"); done
  t1=$(date +%s%N)
  awk -v l="$1" -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%s: %d hazards, %.1f ms per check (psql, mean of 3 after one warm-up)\n", l, n, ns / 3e6 }'
}
say "route check inside the database"
route_run "route, whole line" "$ROUTE_WHOLE"
route_run "route, cut into segments" "$ROUTE_PIECES"

# Over the wire: pgbench with prepared statements, a random one of the first $PG_POINTS points per query.
pgb() { # label, clients, script file
  local out
  out=$(pgbench -n -M prepared -T "$SECONDS_EACH" -c "$2" -j "$2" -f "$3" "$DB" 2>&1) || { echo "$out" >&2; return 1; }
  printf '%s (pgbench -n -M prepared -T %s -c %s -j %s): %s\n' "$1" "$SECONDS_EACH" "$2" "$2" \
    "$(grep -E '^(latency average|tps)' <<<"$out" | sed 's/ (without initial connection time)//' | paste -sd ';' | sed 's/;/; /')"
}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
printf '\\set i random(1, %s)\nselect p from qpoints where qid = :i;\n' "$PG_POINTS" >"$W/floor.sql"
printf '\\set i random(1, %s)\nselect x.* from qpoints q cross join lateral (%s) x where q.qid = :i;\n' "$PG_POINTS" "$(q_check q.p 25 | tr '\n' ' ')" >"$W/check25.sql"
printf '\\set i random(1, %s)\nselect x.* from qpoints q cross join lateral (%s) x where q.qid = :i;\n' "$PG_POINTS" "$(q_inside q.p | tr '\n' ' ')" >"$W/check0.sql"
printf '%s;\n' "$(tr '\n' ' ' <<<"$ROUTE_PIECES")" >"$W/route-pieces.sql"
printf '%s;\n' "$(tr '\n' ' ' <<<"$ROUTE_WHOLE")" >"$W/route-whole.sql"
say "over the wire"
pgb "floor: fetch one query point by key" 1 "$W/floor.sql"
pgb "point check, accuracy 25 m" 1 "$W/check25.sql"
pgb "point check, accuracy 25 m" 2 "$W/check25.sql"
pgb "point check, accuracy 0" 1 "$W/check0.sql"
pgb "route, cut into segments" 1 "$W/route-pieces.sql"
pgb "route, whole line" 1 "$W/route-whole.sql"

#!/usr/bin/env bash
# Benchmark: land-release operations on areas of 200 vertices, Cairn beside PostGIS on the same
# 1,000 polygon pairs. Cairn's figures come from crates/cairn-store/benches/release.rs (criterion,
# one thread): the boolean difference alone, the whole release plan, and a whole release through
# the store with a durable commit. PostGIS (Debian postgresql-15-postgis-3) is asked, inside the
# database on one core, for ST_Difference alone and for the plan's equivalent (the clip to the
# activity's land, ST_Intersection, ST_Difference and four ellipsoidal ST_Area on geography).
# Usage: bench/release.sh   (as root; uses its own database cairn_release and drops it at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/bench/out
DB=cairn_release
RUNS=${RUNS:-5}
mkdir -p "$OUT"
say() { printf '\n== %s\n' "$*"; }

say "machine: $(nproc) cores, $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"

say "the polygon pairs"
CAIRN_BENCH_EXPORT="$OUT" nice -n 5 cargo bench -q -p cairn-store --bench release

say "Cairn (criterion, one thread)"
nice -n 5 cargo bench -q -p cairn-store --bench release 2>&1 | grep -E 'release-200|time:|thrpt:|store release'

say "PostGIS"
pg_isready -q || pg_ctlcluster --skip-systemctl-redirect 15 main start
for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
su postgres -c "psql -XtAc \"select 1 from pg_roles where rolname = 'root'\"" | grep -q 1 ||
  su postgres -c "createuser -s root"
trap 'dropdb --if-exists "$DB" >/dev/null 2>&1 || true' EXIT
dropdb --if-exists "$DB" >/dev/null 2>&1 || true
createdb "$DB"
export PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0 -c client_min_messages=warning"
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
sql -c "create extension postgis" \
    -c "create table raw (a text, b text)" \
    -c "\\copy raw from '$OUT/release-pairs.tsv'" \
    -c "create table pairs as select st_geomfromtext(a, 4326) a, st_geomfromtext(b, 4326) b from raw" \
    -c "select postgis_full_version()" -c "select version()" >/dev/null
sql -tAc "select count(*), avg(st_npoints(a)) from pairs"
q_diff="select sum(st_npoints(st_difference(a, b))) from pairs"
q_plan="select sum(st_area(st_difference(b, b)::geography) + st_area(a::geography) + st_area(st_intersection(a, b)::geography) + st_area(st_difference(a, b)::geography)) from pairs"
for name in diff plan; do
  q=q_$name
  times=$( { echo '\timing on'; for _ in $(seq 1 "$RUNS"); do echo "${!q};"; done; } | sql -tA | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n | tr '\n' ' ')
  best=$(echo "$times" | awk '{print $1}')
  echo "postgis $name: runs (ms) $times; best $best ms for 1000 pairs = $(awk -v t="$best" 'BEGIN { printf "%.0f", 1000 / (t / 1000) }') per second"
done

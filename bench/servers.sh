#!/usr/bin/env bash
# Benchmark (issue 14): Cairn on PostgreSQL/PostGIS with several servers, on N synthetic areas
# (`cairn synth --areas N --seed 1`, about 29 vertices an area), in one throwaway cluster of
# scripts/pg-cluster (PostgreSQL 15 with its default settings, on the same 2 cores):
#
#  1. Import: `cairn import` into a fresh PostgreSQL store, beside `ogr2ogr -f PostgreSQL` of the
#     same file (COPY mode, GiST index, GDAL's defaults) and a plain `COPY` of it (converted first
#     to CSV with EWKT geometry and the properties as JSON by bench/servers/to_csv.py, the
#     conversion timed apart; then a GiST index), each into a database of its own. `cairn import`
#     into a SQLite file of the same data beside them.
#  2. Start: `cairn serve` on each store, timed until /health answers, and its RSS then.
#  3. Write to visible: two servers on the PostgreSQL store; an officer's POST of a new area
#     through one, then the other's public place check polled every 2 ms until it lists the area
#     (bench/servers/across.py), ROUNDS rounds, alternating servers.
#  4. Public place checks per second (wrk, 16 connections, 20 s; rate limits off) through one
#     server, then through both at once (two wrk, 8 connections each).
#
# Usage: bench/servers.sh [N] [ROUNDS]   (defaults 1000000 and 200; files under bench/out/;
# bench/servers.sh 20000 50 checks the script in a few minutes). Prints Markdown for
# BENCHMARKS.md. In two goes: ONLY_IMPORT=1 stops after part 1 and keeps the cluster running
# (bench/out/servers-pg) with the imported stores; REUSE=1 then skips part 1, printing the saved
# import table, and runs parts 2-4 on those stores.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
ROUNDS=${2:-200}
OUT=bench/out
DURATION=${DURATION:-20s}
fail() { echo "bench/servers.sh: $*" >&2; exit 1; }
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || fail "N must be a positive number of areas, not '$N'"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || fail "ROUNDS must be a positive number, not '$ROUNDS'"
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v ogr2ogr >/dev/null || need_apt+=(gdal-bin)
command -v psql >/dev/null || need_apt+=(postgresql-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
mkdir -p "$OUT"
cargo build --release --quiet --bin cairn || fail "cargo build --release --bin cairn failed"
BIN=target/release/cairn
SRC="$OUT/synth-$N.geojson"
[ -f "$SRC" ] || "$BIN" synth --areas "$N" --seed 1 -o "$SRC" || fail "cairn synth failed"
CLUSTER="$OUT/servers-pg"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${ONLY_IMPORT:-}" != 1 ] && [ -d "$CLUSTER/data" ]; then
    scripts/pg-cluster stop "$CLUSTER" 2>/dev/null || true
  fi
}
trap cleanup EXIT
IMPORT_MD="$OUT/servers-$N-import.md"
SQLITE_DB="$OUT/servers-$N.db"
if [ "${REUSE:-}" = 1 ]; then
  [ -f "$CLUSTER/url" ] && [ -f "$IMPORT_MD" ] && [ -f "$SQLITE_DB" ] ||
    fail "REUSE=1 needs a run with ONLY_IMPORT=1 first (bench/out/servers-pg, $IMPORT_MD, $SQLITE_DB)"
  psql -qtA "$(cat "$CLUSTER/url")" -c 'select 1' >/dev/null 2>&1 || scripts/pg-cluster resume "$CLUSTER"
  ADMIN=$(cat "$CLUSTER/url")
else
  if [ -d "$CLUSTER/data" ]; then
    scripts/pg-cluster stop "$CLUSTER" 2>/dev/null || true
  fi
  rm -rf "$CLUSTER"
  ADMIN=$(scripts/pg-cluster start "$CLUSTER")
fi
BASE=${ADMIN%/*}
db() { psql -qtA -v ON_ERROR_STOP=1 "$BASE/$1" -c "$2"; }
secs() { echo "$(date +%s.%N) - $1" | bc; }

echo "### Several servers on PostgreSQL/PostGIS (bench/servers.sh $N $ROUNDS)"
echo
dirty=
[ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=", with uncommitted changes"
echo "Command: \`bench/servers.sh $N $ROUNDS\` ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)$dirty)."
echo "Machine: $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p')), $(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)."
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "Database: $(psql -qtA "$ADMIN" -c 'select version()' | cut -d, -f1), PostGIS $(psql -qtA "$ADMIN" -c "select default_version from pg_available_extensions where name = 'postgis'"), default settings, same machine."
echo

# 1. Import.
if [ "${REUSE:-}" = 1 ]; then
  cat "$IMPORT_MD"
else
for d in cairn_pg ogr copy; do
  db cairn "CREATE DATABASE $d" >/dev/null
  db "$d" "CREATE EXTENSION postgis" >/dev/null
done
t0=$(date +%s.%N)
"$BIN" --db "$BASE/cairn_pg" init >/dev/null
"$BIN" --db "$BASE/cairn_pg" import "$SRC" --author bench/servers.sh >/dev/null || fail "cairn import into PostgreSQL failed"
CAIRN_PG_S=$(secs "$t0")
rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
t0=$(date +%s.%N)
"$BIN" --db "$SQLITE_DB" import "$SRC" --author bench/servers.sh >/dev/null || fail "cairn import into SQLite failed"
CAIRN_SQLITE_S=$(secs "$t0")
t0=$(date +%s.%N)
PGPASSWORD= ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 port=$(cat "$CLUSTER/port") user=cairn dbname=ogr" "$SRC" \
  -nln areas -nlt GEOMETRY -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST || fail "ogr2ogr -f PostgreSQL failed"
OGR_S=$(secs "$t0")
CSV="$OUT/servers-$N.csv"
t0=$(date +%s.%N)
python3 bench/servers/to_csv.py "$SRC" "$CSV" || fail "bench/servers/to_csv.py failed"
CONVERT_S=$(secs "$t0")
db copy "CREATE TABLE areas (id text PRIMARY KEY, geom geometry(Geometry, 4326) NOT NULL, props jsonb NOT NULL)"
t0=$(date +%s.%N)
psql -qtA -v ON_ERROR_STOP=1 "$BASE/copy" -c "\\copy areas FROM '$CSV' WITH (FORMAT csv)" || fail "COPY failed"
COPY_S=$(secs "$t0")
t0=$(date +%s.%N)
db copy "CREATE INDEX ON areas USING gist (geom)"
GIST_S=$(secs "$t0")
rm -f "$CSV"
rows() { psql -qtA "$BASE/$1" -c "$2"; }
{
echo "Import of $N areas ($(du -h "$SRC" | cut -f1) of GeoJSON; load before: $LOAD_BEFORE):"
echo
echo "| what | time | rows |"
echo "| --- | --- | --- |"
echo "| \`cairn import\` into PostgreSQL (through the one door: validation, history, changeset) | $(printf %.1f "$CAIRN_PG_S") s | $(rows cairn_pg 'select count(*) from current_areas') |"
echo "| \`ogr2ogr -f PostgreSQL\` (COPY, GiST index) | $(printf %.1f "$OGR_S") s | $(rows ogr 'select count(*) from areas') |"
echo "| \`COPY\` of the data as CSV, then a GiST index | $(printf %.1f "$COPY_S") s + $(printf %.1f "$GIST_S") s (the conversion to CSV before it: $(printf %.1f "$CONVERT_S") s) | $(rows copy 'select count(*) from areas') |"
echo "| \`cairn import\` into SQLite, for scale | $(printf %.1f "$CAIRN_SQLITE_S") s | — |"
echo
} | tee "$IMPORT_MD"
fi
[ "${ONLY_IMPORT:-}" = 1 ] && exit 0

# 2. Start and memory.
"$BIN" --db "$BASE/cairn_pg" user add Bench --role officer >/dev/null 2>&1 || true  # made by an earlier REUSE run
TOKEN=$("$BIN" --db "$BASE/cairn_pg" token create --user Bench 2>/dev/null)
CONFIG="$OUT/servers.toml"
printf '[rate_limits]\nenabled = false\n[reports]\nrate_limit = false\n' >"$CONFIG"
start() { # start NAME DB: starts a server, sets ADDR_NAME, START_NAME, RSS_NAME, PID_NAME
  local name=$1 store=$2 log="$OUT/servers-$1.log" t0 addr=
  : >"$log"
  t0=$(date +%s.%N)
  CAIRN_LOG=warn "$BIN" --db "$store" serve --addr 127.0.0.1:0 --config "$CONFIG" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 6000); do
    addr=$(sed -n 's|.*Cairn is serving on http://\([^/]*\)/.*|\1|p' "$log" | head -n 1)
    [ -n "$addr" ] && curl -sf --max-time 5 "http://$addr/health" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "cairn serve ($name) exited; see $log"
    sleep 0.1
  done
  [ -n "$addr" ] || fail "cairn serve ($name) did not serve within 10 minutes; see $log"
  printf -v "START_$name" '%.1f' "$(secs "$t0")"
  printf -v "RSS_$name" '%s' "$(( $(ps -o rss= -p "$pid") / 1024 ))"
  printf -v "ADDR_$name" '%s' "$addr"
  printf -v "PID_$name" '%s' "$pid"
}
start sqlite "$SQLITE_DB"
kill "$PID_sqlite"; wait "$PID_sqlite" 2>/dev/null || true
start a "$BASE/cairn_pg"
start b "$BASE/cairn_pg"
echo "Start of \`cairn serve\` (until /health answers) and its resident memory then:"
echo
echo "| store | start | RSS |"
echo "| --- | --- | --- |"
echo "| SQLite file | $START_sqlite s | $RSS_sqlite MiB |"
echo "| PostgreSQL, first server | $START_a s | $RSS_a MiB |"
echo "| PostgreSQL, second server (starting beside the first) | $START_b s | $RSS_b MiB |"
echo

# 3. Write to visible on the other server.
python3 bench/servers/across.py --a "http://$ADDR_a" --b "http://$ADDR_b" --token "$TOKEN" --rounds "$ROUNDS" ||
  fail "bench/servers/across.py failed"
echo

# 4. Checks per second through one and two servers.
python3 bench/points.py || fail "bench/points.py failed"
rate() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
p99() { sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$1"; }
wrk -t2 -c16 -d"$DURATION" --latency -s bench/wrk/points.lua "http://$ADDR_a" >"$OUT/servers-wrk-one.txt"
wrk -t1 -c8 -d"$DURATION" --latency -s bench/wrk/points.lua "http://$ADDR_a" >"$OUT/servers-wrk-a.txt" &
w1=$!
wrk -t1 -c8 -d"$DURATION" --latency -s bench/wrk/points.lua "http://$ADDR_b" >"$OUT/servers-wrk-b.txt"
wait "$w1"
kill -0 "$PID_a" && kill -0 "$PID_b" || fail "a server died during the load"
ONE=$(rate "$OUT/servers-wrk-one.txt")
A=$(rate "$OUT/servers-wrk-a.txt")
B=$(rate "$OUT/servers-wrk-b.txt")
echo "Public place checks (accuracy 25 m, half near towns; wrk on the same 2 cores):"
echo
echo "| servers | checks per second | p99 |"
echo "| --- | --- | --- |"
echo "| one (wrk -t2 -c16 -d$DURATION) | $(printf %.0f "$ONE") | $(p99 "$OUT/servers-wrk-one.txt") |"
echo "| two at once (wrk -t1 -c8 -d$DURATION on each) | $(printf %.0f "$(echo "$A + $B" | bc)") ($(printf %.0f "$A") + $(printf %.0f "$B")) | $(p99 "$OUT/servers-wrk-a.txt"), $(p99 "$OUT/servers-wrk-b.txt") |"
echo
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)."

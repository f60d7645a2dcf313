#!/usr/bin/env bash
# Benchmark: the HTTP service on 1,000,000 areas with wrk on loopback (sharing the 2 cores), beside
# martin 1.14 serving the same areas from PostGIS in the same run:
#   - place checks per second and latency (the public's question, no token);
#   - tiles per second over a z6-z14 mix near towns, on a fresh process (cold) and again (warm),
#     for Cairn (with an officer's token, so it draws every area as martin does) and martin;
#   - tile sizes per zoom for both; time to first map render in headless Chromium.
# Usage: bench/http.sh   (as root; needs bench/out/bench.db from bench/import.sh and the PostGIS
# table from bench/postgis.sh; installs wrk and martin when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
DB=$OUT/bench.db
PGDB=cairn_bench
CAIRN=127.0.0.1:18090
MARTIN=127.0.0.1:18091
DURATION=${DURATION:-20s}
say() { printf '\n== %s\n' "$*"; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v martin >/dev/null || [ -x "$HOME/.cargo/bin/martin" ] ||
  cargo install martin --version 1.14.0 --locked --no-default-features --features postgres,metrics
MARTIN_BIN=$(command -v martin || echo "$HOME/.cargo/bin/martin")
[ -f "$DB" ] || { echo "bench/http.sh: run bench/import.sh 1000000 first" >&2; exit 1; }
pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || true
runuser -u postgres -- psql -qtAc "select 1 from pg_roles where rolname = 'root'" | grep -q 1 ||
  runuser -u postgres -- psql -qc "create role root superuser login"
rows=$(psql -qtA -d "$PGDB" -c "select count(*) from areas" 2>/dev/null || echo 0)
[ "$rows" -gt 0 ] || { echo "bench/http.sh: run bench/postgis.sh first (table areas in $PGDB)" >&2; exit 1; }
(cd crates/cairn/tests/browser && [ -d node_modules/playwright-core ] || npm ci --silent)
cargo build --release --quiet --bin cairn
BIN=target/release/cairn

echo "command: bench/http.sh ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD))"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
echo "martin: $($MARTIN_BIN --version); PostGIS: $(psql -qtA -d "$PGDB" -c 'select postgis_lib_version()'), $rows rows in areas"
echo "load before: $(uptime)"

# Query places: half near towns where the synthetic hazards cluster, half anywhere in the data's
# box; tiles: a z6-z14 mix (more tiles at the zooms people read a map at) near towns.
python3 - <<'PY'
import random, math, sys
sys.path.insert(0, "bench")
from points import towns as load_towns, write_points  # bench/points.py
random.seed(7)
towns = load_towns()
write_points(towns)
def tile(lon, lat, z):
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
# Distinct tiles in a z6-z14 mix near towns, shuffled: a pass over them from a fresh process
# asks for every tile for the first time (cold); the tiles a cold pass served, asked again, are
# the warm pass.
seen, order = set(), []
weights = [6, 7, 8, 9, 10, 11, 12, 12, 13, 13, 14, 14]
tries = 0
while len(order) < 60000 and tries < 2000000:
    tries += 1
    t = random.choice(towns)
    z = random.choice(weights)
    x, y = tile(float(t["lon"]) + random.uniform(-0.2, 0.2), float(t["lat"]) + random.uniform(-0.2, 0.2), z)
    p = f"/{z}/{x}/{y}"
    if p not in seen:
        seen.add(p)
        order.append(p)
with open("bench/out/tiles.txt", "w") as f:
    f.write("".join(p + "\n" for p in order))
PY
echo "tile paths (distinct): $(wc -l < $OUT/tiles.txt); by zoom: $(sed 's|^/\([0-9]*\)/.*|z\1|' $OUT/tiles.txt | sort -V | uniq -c | awk '{printf "%s %s, ", $2, $1}')"

TOKEN=$("$BIN" --db "$DB" token create --name "bench/http.sh" --role officer 2>"$OUT/token.err")
TOKEN_ID=$(sed -n 's/^token \([0-9]*\) for.*/\1/p' "$OUT/token.err")
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
start_cairn() {
  # One address (wrk's) sends everything: the per-client rate limits are turned off.
  printf '[rate_limits]\nenabled = false\n' > "$OUT/http.toml"
  "$BIN" --db "$DB" serve --addr "$CAIRN" --config "$OUT/http.toml" > "$OUT/serve.log" 2>&1 &
  CAIRN_PID=$!
  PIDS+=("$CAIRN_PID")
  local t0
  t0=$(date +%s.%N)
  until curl -sf "http://$CAIRN/health" >/dev/null; do sleep 0.1; done
  echo "Cairn ready after $(echo "$(date +%s.%N) - $t0" | bc) s (reads the store, builds the read model and indexes); RSS $(( $(ps -o rss= -p "$CAIRN_PID") / 1024 )) MiB"
}
start_martin() {
  "$MARTIN_BIN" --listen-addresses "$MARTIN" "postgresql:///$PGDB?host=/var/run/postgresql&user=root" > "$OUT/martin.log" 2>&1 &
  MARTIN_PID=$!
  PIDS+=("$MARTIN_PID")
  local t0
  t0=$(date +%s.%N)
  until curl -sf "http://$MARTIN/health" >/dev/null; do sleep 0.1; done
  echo "martin ready after $(echo "$(date +%s.%N) - $t0" | bc) s"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
run_wrk() {
  wrk -t2 -c16 -d"$DURATION" --latency "$@" | tee "$OUT/wrk.last" |
    grep -E 'Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors|Transfer/sec|requests in|tile paths'
}
# The tiles a cold pass served (the first N of the list, less a margin for the two threads).
served() {
  local n
  n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$OUT/wrk.last")
  head -n $(( n > 100 ? n - 100 : 1 )) "$OUT/tiles.txt" > "$1"
  echo "warm pass over the $(wc -l < "$1") tiles the cold pass served"
}

say "Cairn: place checks, wrk -t2 -c16 -d$DURATION (public, accuracy 25 m)"
start_cairn
run_wrk -s bench/wrk/points.lua "http://$CAIRN"
say "Cairn: tiles z6-z14, cold (fresh process), wrk -t2 -c16 -d$DURATION"
stop "$CAIRN_PID"; start_cairn
AUTH=$TOKEN run_wrk -s bench/wrk/tiles.lua "http://$CAIRN"
say "Cairn: tiles z6-z14, warm (the same tiles again)"
served "$OUT/tiles-warm-cairn.txt"
TILES=$OUT/tiles-warm-cairn.txt AUTH=$TOKEN run_wrk -s bench/wrk/tiles.lua "http://$CAIRN"

say "martin: tiles z6-z14, cold (fresh process), wrk -t2 -c16 -d$DURATION"
stop "$CAIRN_PID"
start_martin
PREFIX=/areas SUFFIX= run_wrk -s bench/wrk/tiles.lua "http://$MARTIN"
say "martin: tiles z6-z14, warm (the same tiles again)"
served "$OUT/tiles-warm-martin.txt"
TILES=$OUT/tiles-warm-martin.txt PREFIX=/areas SUFFIX= run_wrk -s bench/wrk/tiles.lua "http://$MARTIN"

say "tile sizes and first-fetch times per zoom, the first 20 tiles of each zoom, one at a time, both processes fresh (Cairn with the token; no gzip)"
stop "$MARTIN_PID"
start_martin
start_cairn
for z in 6 7 8 9 10 11 12 13 14; do
  for who in cairn martin; do
    # awk reads all its input, so no SIGPIPE stops the script (pipefail) as grep | head would.
    awk -v z="$z" 'index($0, "/" z "/") == 1 && n++ < 20' "$OUT/tiles.txt" | while read -r p; do
      if [ $who = cairn ]; then
        curl -s --max-time 120 -o /dev/null -w '%{size_download} %{time_total}\n' -H "Authorization: Bearer $TOKEN" "http://$CAIRN/tiles$p.mvt"
      else
        curl -s --max-time 120 -o /dev/null -w '%{size_download} %{time_total}\n' "http://$MARTIN/areas$p"
      fi
    done | awk -v z=$z -v who=$who '{s+=$1; t+=$2; if($1>m)m=$1; if($2>mt)mt=$2} END {printf "z%d %-6s mean %8.0f B, max %8d B; first fetch mean %.1f ms, max %.1f ms\n", z, who, s/NR, m, t*1000/NR, mt*1000}'
  done
done
stop "$MARTIN_PID"

say "time to first map render (headless Chromium, empty cache each load)"
node bench/first-render.mjs "http://$CAIRN/" 7
stop "$CAIRN_PID"
"$BIN" --db "$DB" token revoke "$TOKEN_ID"
echo
echo "load after: $(uptime)"

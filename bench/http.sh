#!/usr/bin/env bash
# Benchmark: the HTTP service on 1,000,000 areas with wrk on loopback (shares the 2 cores):
# place checks per second and latency, and tiles per second over a z6-z14 mix, cold and warm.
# Usage: bench/http.sh   (needs bench/out/bench.db from bench/import.sh, and wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet --bin cairn
BIN=target/release/cairn
DB=bench/out/bench.db
[ -f "$DB" ] || { echo "bench/http.sh: run bench/import.sh first" >&2; exit 1; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
# Query places: half near hazards (the synth settlements), half anywhere in the data's box.
python3 - <<'PY'
import random, csv
random.seed(7)
towns = [r for r in csv.DictReader(open("crates/cairn-synth/data/settlements-ua.csv")) if r["admin1"] in ("05", "07", "14", "26", "08")]
with open("bench/out/points.txt", "w") as f:
    for i in range(100000):
        if i % 2:
            t = random.choice(towns)
            f.write(f"{float(t['lon']) + random.uniform(-0.05, 0.05):.6f} {float(t['lat']) + random.uniform(-0.05, 0.05):.6f}\n")
        else:
            f.write(f"{random.uniform(22.2, 40.2):.6f} {random.uniform(44.4, 52.3):.6f}\n")
import math
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
with open("bench/out/tiles.txt", "w") as f:
    for i in range(20000):
        t = random.choice(towns)
        z = random.choice([6, 7, 8, 9, 10, 11, 12, 12, 13, 13, 14, 14])
        x, y = tile(float(t["lon"]) + random.uniform(-0.2, 0.2), float(t["lat"]) + random.uniform(-0.2, 0.2), z)
        f.write(f"/{z}/{x}/{y}\n")
PY
"$BIN" --db "$DB" serve --addr 127.0.0.1:18090 > bench/out/serve.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
start=$(date +%s.%N)
until curl -sf http://127.0.0.1:18090/health >/dev/null; do sleep 0.2; done
echo "service ready after $(echo "$(date +%s.%N) - $start" | bc) s (reads the store and builds the read model and indexes)"
echo "RSS of the service: $(ps -o rss= -p $PID) KB"
echo "== place checks, wrk -t2 -c16 -d20s"
wrk -t2 -c16 -d20s --latency -s bench/wrk/points.lua http://127.0.0.1:18090 | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== tiles z6-z14, first pass (cold), wrk -t2 -c16 -d20s"
wrk -t2 -c16 -d20s --latency -s bench/wrk/tiles.lua http://127.0.0.1:18090 | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Transfer'
echo "== tiles z6-z14, second pass (warm), wrk -t2 -c16 -d20s"
wrk -t2 -c16 -d20s --latency -s bench/wrk/tiles.lua http://127.0.0.1:18090 | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Transfer'
echo "== tile sizes per zoom (bytes; 20 tiles each)"
for z in 6 8 10 12 14; do
  grep "^/$z/" bench/out/tiles.txt | head -20 | while read -r p; do curl -s -o /dev/null -w '%{size_download}\n' "http://127.0.0.1:18090/tiles$p.mvt"; done \
    | awk -v z=$z '{s+=$1; if($1>m)m=$1} END {printf "z%d: mean %.0f, max %d\n", z, s/NR, m}'
done

#!/usr/bin/env bash
# Benchmark: base-map tiles per second from one PMTiles file, Cairn (`cairn serve --basemap`)
# beside martin 1.14 serving the same file (as it starts by default, and with its tile cache
# off), in the same run, with wrk on loopback (sharing the cores): z10-z15 tiles in shuffled
# order, each wrk thread going round its share of the list as often as the time allows, each
# server on a fresh process, as a browser asks (Accept-Encoding: gzip, so all send the file's
# gzip bytes as they are).
# The file is synthetic (bench/basemap-file.py: the file's layout and tile sizes, not real data).
# Usage: bench/basemap.sh   (as root; installs wrk, martin and the PyPI package pmtiles when
# missing; CAIRN_BIN and MARTIN_BIN may name binaries already built)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/basemap
CAIRN=127.0.0.1:18094
MARTIN=127.0.0.1:18095
DURATION=${DURATION:-20s}
say() { printf '\n== %s\n' "$*"; }
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
MARTIN_BIN=${MARTIN_BIN:-target/martin/bin/martin}
if [ ! -x "$MARTIN_BIN" ]; then
  say "installing martin 1.14.0 (PMTiles only) into target/martin"
  nice -n 19 cargo install martin --version 1.14.0 --locked --no-default-features --features pmtiles --root target/martin
fi
if [ -z "${CAIRN_BIN:-}" ]; then
  cargo build --release --quiet --bin cairn
  CAIRN_BIN=target/release/cairn
fi
if [ ! -x "$OUT/venv/bin/python" ]; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install --quiet --disable-pip-version-check "pmtiles==3.8.1"
fi
FILE=$OUT/bench.pmtiles
[ -s "$FILE" ] || "$OUT/venv/bin/python" bench/basemap-file.py "$FILE"
rm -f "$OUT/store.db"
"$CAIRN_BIN" --db "$OUT/store.db" init >/dev/null

say "machine"
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file: $(du -h "$FILE" | cut -f1) ($(wc -l < "$FILE.paths") paths z10-z15); martin: $($MARTIN_BIN --version); cairn: $CAIRN_BIN"

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
wait_up() { until curl -sf -o /dev/null "$1"; do sleep 0.1; done; }
run_wrk() {
  PREFIX=$1 SUFFIX=$2 TILES=$FILE.paths wrk -t2 -c16 -d"$DURATION" --latency -H 'Accept-Encoding: gzip' \
    -s bench/wrk/tiles.lua "$3" | tee "$OUT/wrk.last" |
    grep -E 'Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors|Transfer/sec|requests in|tile paths'
}

say "Cairn: cairn serve --basemap, wrk -t2 -c16 -d$DURATION"
printf '[rate_limits]\nenabled = false\n' > "$OUT/serve.toml"
"$CAIRN_BIN" --db "$OUT/store.db" serve --addr "$CAIRN" --config "$OUT/serve.toml" --basemap "$FILE" > "$OUT/cairn.log" 2>&1 &
PIDS+=($!)
wait_up "http://$CAIRN/basemap.json"
curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "http://$CAIRN/basemap$(head -1 "$FILE.paths").mvt" | grep -iE '^(HTTP|content-encoding|content-length)'
run_wrk /basemap .mvt "http://$CAIRN"
echo "cairn's log: $(wc -l < "$OUT/cairn.log") lines (one a request, as it logs by default)"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# martin as it starts by default keeps up to 256 MB of tiles in memory (its log says so): the
# whole file here after one pass. It runs twice: so, and with that cache off (--cache-size 0),
# which reads every tile from the file as Cairn does.
for CACHE in default 0; do
  ARGS=()
  [ "$CACHE" = default ] || ARGS=(--cache-size "$CACHE")
  say "martin: martin ${ARGS[*]} FILE, wrk -t2 -c16 -d$DURATION"
  "$MARTIN_BIN" --listen-addresses "$MARTIN" "${ARGS[@]}" "$FILE" > "$OUT/martin-$CACHE.log" 2>&1 &
  PIDS+=($!)
  wait_up "http://$MARTIN/health"
  grep -o 'Initializing tile cache.*' "$OUT/martin-$CACHE.log" | sed 's/\x1b\[[0-9;]*m//g' || echo "(no tile cache in martin's log)"
  curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "http://$MARTIN/bench$(head -1 "$FILE.paths")" | grep -iE '^(HTTP|content-encoding|content-length)'
  run_wrk /bench "" "http://$MARTIN"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

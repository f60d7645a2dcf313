#!/usr/bin/env bash
# Benchmark: the read model on 1,000,000 areas (issue 14) — how long `cairn serve` takes to start
# (until /health answers) and what it holds afterwards (RSS; with a build that completes its model
# after the start, also when that is done and the RSS then), then public place checks per second
# with wrk as bench/http.sh asks them (bench/wrk/points.lua, accuracy 25 m).
# Usage: bench/model.sh [BIN] [DB] [STARTS]   (defaults: target/release/cairn, bench/out/bench.db
# from bench/import.sh 1000000, 3 starts; needs bench/out/points.txt, written by bench/http.sh)
# DURATION (default 15s) sets each wrk run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/cairn}
DB=${2:-bench/out/bench.db}
STARTS=${3:-3}
DURATION=${DURATION:-15s}
ADDR=127.0.0.1:18095
OUT=bench/out
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -f "$OUT/points.txt" ] || { echo "bench/model.sh: run bench/http.sh first (bench/out/points.txt)" >&2; exit 1; }
echo "command: bench/model.sh $BIN $DB $STARTS ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD))"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
# One address sends every check, so the per-client rate limits are off (as in bench/soak.sh).
printf '[reports]\nrate_limit = false\n[rate_limits]\nenabled = false\n' > "$OUT/model.toml"
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT
for i in $(seq "$STARTS"); do
  echo "load before start $i: $(cut -d' ' -f1-3 /proc/loadavg)"
  t0=$(date +%s.%N)
  rm -f "$DB-wal" "$DB-shm"
  CAIRN_LOG=warn,cairn_server::model=info "$BIN" --db "$DB" serve --addr "$ADDR" --config "$OUT/model.toml" > "$OUT/model-serve.log" 2>&1 &
  PID=$!
  until curl -sf "http://$ADDR/health" >/dev/null; do
    kill -0 "$PID" 2>/dev/null || { echo "the server exited; see $OUT/model-serve.log" >&2; exit 1; }
    sleep 0.05
  done
  ready=$(echo "$(date +%s.%N) - $t0" | bc)
  sleep 1
  echo "start $i: ready after $ready s; RSS $(( $(ps -o rss= -p "$PID") / 1024 )) MiB (load $(cut -d' ' -f1-3 /proc/loadavg))"
  # A build that completes its model after the start (issue 14) logs each part when it is in.
  if grep -q 'grid and covering cells to come' "$OUT/model-serve.log"; then
    until grep -q 'point-location grid built after the start' "$OUT/model-serve.log"; do sleep 0.1; done
    done_at=$(echo "$(date +%s.%N) - $t0" | bc)
    sleep 1
    echo "start $i: model complete after $done_at s; RSS $(( $(ps -o rss= -p "$PID") / 1024 )) MiB (load $(cut -d' ' -f1-3 /proc/loadavg))"
  fi
  if [ "$i" = "$STARTS" ]; then
    echo "place checks: wrk -t2 -c16 -d$DURATION --latency -s bench/wrk/points.lua (load before $(cut -d' ' -f1-3 /proc/loadavg))"
    wrk -t2 -c16 -d"$DURATION" --latency -s bench/wrk/points.lua "http://$ADDR" |
      grep -E 'Requests/sec|50%|90%|99%|Non-2xx|Socket errors'
    echo "RSS after the checks: $(( $(ps -o rss= -p "$PID") / 1024 )) MiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
  fi
  kill "$PID"; wait "$PID" 2>/dev/null || true
  PID=
done

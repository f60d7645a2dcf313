#!/usr/bin/env bash
# Place checks per second of two builds of `cairn serve` on one store, both running at once, asked
# in turn (A, B, A, B, ...) so that both see the same load from the rest of the machine.
# Usage: bench/model-pair.sh BIN_A BIN_B [DB] [ROUNDS]   (DURATION per run, default 10s; needs
# bench/out/points.txt, written by bench/http.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; DB=${3:-bench/out/bench.db}; ROUNDS=${4:-3}; DURATION=${DURATION:-10s}
OUT=bench/out
printf '[reports]\nrate_limit = false\n[rate_limits]\nenabled = false\n' > "$OUT/model.toml"
echo "command: bench/model-pair.sh $A $B $DB $ROUNDS ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD))"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
start() {
  CAIRN_LOG=warn "$1" --db "$DB" serve --addr "$2" --config "$OUT/model.toml" > "$OUT/pair-$3.log" 2>&1 &
  PIDS+=($!)
  until curl -sf "http://$2/health" >/dev/null; do sleep 0.2; done
}
start "$A" 127.0.0.1:18101 a
start "$B" 127.0.0.1:18102 b
echo "both ready; RSS A $(( $(ps -o rss= -p "${PIDS[0]}") / 1024 )) MiB, B $(( $(ps -o rss= -p "${PIDS[1]}") / 1024 )) MiB"
for r in $(seq "$ROUNDS"); do
  for who in a b; do
    port=$([ $who = a ] && echo 18101 || echo 18102)
    load=$(cut -d' ' -f1 /proc/loadavg)
    res=$(wrk -t2 -c16 -d"$DURATION" --latency -s bench/wrk/points.lua "http://127.0.0.1:$port" |
      awk '/Requests\/sec/{rps=$2} / 50%/{p50=$2} / 99%/{p99=$2} /Non-2xx/{bad=$NF} END {printf "%s per s, p50 %s, p99 %s%s", rps, p50, p99, bad ? ", NON-2XX " bad : ""}')
    echo "round $r $who: $res (load $load)"
  done
done

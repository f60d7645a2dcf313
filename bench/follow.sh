#!/usr/bin/env bash
# Benchmark: how long from commit to visible in the public place check, on a running `cairn serve`
# over a store of N synthetic areas:
#   (a) a write by another process: `cairn import` of a one-feature GeoJSON file (a new public
#       confirmed area where there is no hazard), timed from the import's exit with status 0 to
#       the first public check that lists it (polled every 2 ms on a keep-alive connection); the
#       import process's own time beside it, so the part due to the follow interval shows;
#   (b) a write through the service's own door: OGC API Part 4 POST with an officer's token,
#       timed from sending to the 201 (sent only once the read model shows it), then one public
#       check that must list it.
# The measuring loop is bench/follow/measure.py (Python 3, standard library only). Prints a
# Markdown section for BENCHMARKS.md: machine, commit, N, the service's start time and RSS,
# p50/p99/max of each measure.
# Usage: bench/follow.sh [N] [ROUNDS]   (defaults 1000000 and 200; writes under bench/out/;
# bench/follow.sh 20000 50 checks the script in about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
ROUNDS=${2:-200}
OUT=bench/out
mkdir -p "$OUT"
fail() { echo "bench/follow.sh: $*" >&2; exit 1; }
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || fail "N must be a positive number of areas, not '$N'"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || fail "ROUNDS must be a positive number, not '$ROUNDS'"
command -v python3 >/dev/null || fail "python3 is needed (for bench/follow/measure.py)"
command -v curl >/dev/null || fail "curl is needed"
[ -f bench/follow/measure.py ] || fail "bench/follow/measure.py is missing"
cargo build --release --quiet --bin cairn || fail "cargo build --release --bin cairn failed"
BIN=target/release/cairn
SRC="$OUT/synth-$N.geojson"
DB="$OUT/follow-$N.db"
WORK="$OUT/follow-work"
LOG="$OUT/follow-serve.log"
if [ ! -f "$SRC" ]; then
  echo "generating $SRC" >&2
  "$BIN" synth --areas "$N" --seed 1 -o "$SRC" || fail "cairn synth failed"
fi

echo "building a fresh store $DB from $SRC" >&2
rm -f "$DB" "$DB-wal" "$DB-shm"
rm -rf "$WORK"
t0=$(date +%s.%N)
"$BIN" --db "$DB" import "$SRC" --author bench/follow.sh >/dev/null || fail "cairn import $SRC failed"
IMPORT_S=$(echo "$(date +%s.%N) - $t0" | bc)
"$BIN" --db "$DB" user add Bench --role officer >/dev/null || fail "cairn user add Bench failed"
TOKEN=$("$BIN" --db "$DB" token create --user Bench 2>/dev/null) || fail "cairn token create --user Bench failed"
[ -n "$TOKEN" ] || fail "cairn token create --user Bench printed no token"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT
# Emptied here, not by the redirection below: that one runs in the background job, and the loop
# could otherwise read a previous run's address first.
: >"$LOG"
t0=$(date +%s.%N)
"$BIN" --db "$DB" serve --addr 127.0.0.1:0 >"$LOG" 2>&1 &
SERVER_PID=$!
ADDR=
for _ in $(seq 6000); do  # up to 10 minutes: at a million areas the model takes a while to build
  ADDR=$(sed -n 's|.*Cairn is serving on http://\([^/]*\)/.*|\1|p' "$LOG" | head -n 1)
  [ -n "$ADDR" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "cairn serve exited before serving; its log ($LOG):
$(tail -n 20 "$LOG")"
  sleep 0.1
done
[ -n "$ADDR" ] || fail "cairn serve did not print 'Cairn is serving on http://ADDR/' within 10 minutes; see $LOG"
for _ in $(seq 1000); do
  curl -sf --max-time 5 "http://$ADDR/health" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "cairn serve exited; see $LOG"
  sleep 0.01
done
curl -sf --max-time 5 "http://$ADDR/health" >/dev/null || fail "cairn serve printed http://$ADDR/ but /health does not answer there; see $LOG"
START_S=$(echo "$(date +%s.%N) - $t0" | bc)
RSS_START=$(( $(ps -o rss= -p "$SERVER_PID") / 1024 ))

RESULTS=$(python3 bench/follow/measure.py --bin "$BIN" --db "$DB" --base "http://$ADDR" \
  --token "$TOKEN" --rounds "$ROUNDS" --work "$WORK") || fail "bench/follow/measure.py failed (above); service log: $LOG"
RSS_END=$(( $(ps -o rss= -p "$SERVER_PID") / 1024 ))
kill -0 "$SERVER_PID" 2>/dev/null || fail "cairn serve died during the run; see $LOG"
stop_server

dirty=
[ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=", with uncommitted changes"
cat <<MD
### Commit to visible: the change feed (bench/follow.sh $N $ROUNDS)

Command: \`bench/follow.sh $N $ROUNDS\` ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)$dirty).
Machine: $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p')), $(free -g | awk '/Mem:/{print $2}') GiB memory, Linux $(uname -r); load after: $(cut -d' ' -f1-3 /proc/loadavg).
Store: $N synthetic areas (\`cairn synth --areas $N --seed 1\`), imported into a fresh store in $(printf %.1f "$IMPORT_S") s.
Service: \`cairn serve\` ready (\`/health\` answers) $(printf %.2f "$START_S") s after start; RSS $RSS_START MiB then, $RSS_END MiB after the run. It follows the store's change feed every 100 ms.

$RESULTS

Peer: PostGIS has no separate read model (a committed row is visible to the next query of any
session), so its commit-to-visible time is the writing transaction itself; there is no follow
interval to measure. The import process's own time above is the closest like-for-like figure: what
remains of (a) beyond it is the cost of Cairn's in-memory read model following the store. The clock
of (a) starts at the import's exit, a little after its commit, so (a) can read slightly low.
MD

#!/usr/bin/env bash
# Fuzzing for longer: the property-based fuzz tests of the one test command (every crate's
# tests/fuzz.rs and crates/cairn/tests/fuzz_import.rs), run with CAIRN_FUZZ_SCALE raised so that
# each property tries SCALE times as many generated inputs. Prints each property's cases and
# time, then the totals. A failure prints the smallest failing input proptest found; add it to
# the test as a regression case when fixing the bug.
# Usage: bench/fuzz.sh [SCALE]   (default 20; debug build, as the test command uses)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-20}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
say() { printf '\n== %s\n' "$*"; }

command -v ogr2ogr >/dev/null || { echo "bench/fuzz.sh: ogr2ogr (Debian gdal-bin) is needed" >&2; exit 1; }
say "machine: $(nproc) cores, $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
say "building the tests"
cargo nextest run --workspace --no-run -E 'binary(fuzz) | binary(fuzz_import)' >/dev/null

say "fuzzing at CAIRN_FUZZ_SCALE=$SCALE"
start=$(date +%s.%N)
status=0
CAIRN_FUZZ_SCALE=$SCALE cargo nextest run --workspace --no-fail-fast --no-capture \
  -E 'binary(fuzz) | binary(fuzz_import)' 2>&1 | tee "$LOG" | grep -E '^fuzz |FAIL|panicked|minimal failing' || true
grep -qE '^\s+FAIL|error: test run failed' "$LOG" && status=1
end=$(date +%s.%N)

say "summary"
grep -E '^fuzz ' "$LOG" | sort | awk '
  { cases += $3; secs += $6; n++ }
  END { printf "%d properties, %d cases, %.1f s in the properties\n", n, cases, secs }'
awk -v a="$start" -v b="$end" 'BEGIN { printf "wall time: %.1f s\n", b - a }'
exit $status

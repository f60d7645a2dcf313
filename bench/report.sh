#!/usr/bin/env bash
# Benchmark: `cairn report transparency` for a year of fictional work over a store of 100,000
# synthetic areas (`cairn synth --areas 100000`, imported, then `cairn synth history` for the 12
# months to today, which adds approximate oblast outlines), timed with hyperfine when installed,
# else with /usr/bin/time. Prints how long the store took to build, the history's size, and the
# report's time per edition and format.
# Usage: bench/report.sh [AREAS]   (release build; work files in bench/out/report/)
set -euo pipefail
cd "$(dirname "$0")/.."
AREAS=${1:-100000}
RUNS=${RUNS:-5}
OUT=$PWD/bench/out/report
mkdir -p "$OUT"
say() { printf '\n== %s\n' "$*"; }

say "machine: $(nproc) cores, $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
cargo build -q --release -p cairn
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
CAIRN=$target/release/cairn
DB=$OUT/store-$AREAS.db
TO=$(date -u +%F)
FROM=$(date -u -d "$TO - 364 days" +%F)

if [ ! -f "$DB" ]; then
  say "building the store: $AREAS areas, a year of work $FROM to $TO"
  rm -f "$DB" "$DB-wal" "$DB-shm"
  "$CAIRN" synth --areas "$AREAS" -o "$OUT/areas.geojson"
  /usr/bin/time -f "import: %e s, %M KB peak" "$CAIRN" --db "$DB" import "$OUT/areas.geojson" >/dev/null
  /usr/bin/time -f "history: %e s, %M KB peak" "$CAIRN" --db "$DB" synth history --from "$FROM" --to "$TO" --seed 1
else
  say "reusing $DB (remove it to rebuild)"
fi
sqlite3_count() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(dict(c.execute(\"select kind, count(*) from heads group by kind\").fetchall()))" "$DB"; }
echo "records: $(sqlite3_count)"

say "cairn report transparency ($FROM to $TO)"
for edition in restricted public; do
  for format in html csv; do
    cmd="$CAIRN --db $DB report transparency --from $FROM --to $TO --edition $edition --format $format -o $OUT/report-$edition.$format"
    if command -v hyperfine >/dev/null; then
      hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/hyperfine-$edition-$format.json" "$cmd" |
        sed -n 's/^ *Time (mean ± σ): *\(.*\)$/\1/p' |
        sed "s/^/$edition $format: mean ± σ: /"
    else
      /usr/bin/time -f "$edition $format: %e s, %M KB peak" $cmd >/dev/null
    fi
  done
done
command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
say "peer: the sector figures in SQL with sqlite3 (bench/report-peer.sql; no oblast split, no page)"
PEER="sqlite3 -readonly -cmd '.parameter set @from \"$FROM\"' -cmd '.parameter set @to \"$TO\"' $DB < $PWD/bench/report-peer.sql > /dev/null"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs "$RUNS" "$PEER" | sed -n 's/^ *Time (mean ± σ): *\(.*\)$/sqlite3 peer: mean ± σ: \1/p'
else
  /usr/bin/time -f "sqlite3 peer: %e s" sh -c "$PEER"
fi
/usr/bin/time -f "peak memory of one restricted html report: %M KB" \
  "$CAIRN" --db "$DB" report transparency --from "$FROM" --to "$TO" -o "$OUT/report-restricted.html" >/dev/null
ls -l "$OUT"/report-*.html "$OUT"/report-*.csv | awk '{print $5, $9}'

#!/usr/bin/env bash
# The compliance audit on 1,000,000 synthetic areas (about 134,000 emplacement records) against
# the 50 fictional zones (27 oblast-like, 23 permitted) and every rule of docs/policy.example.toml,
# then the same with marking and public warning applied to every hazard (all-hazards scope).
# Figures go to BENCHMARKS.md with the machine; run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
OUT=bench/out
mkdir -p "$OUT"
cargo build --release -q
cargo build --release -q -p cairn-synth --example zones_geojson
BIN=target/release/cairn
DB=$OUT/audit-$N.db
if [ ! -f "$DB" ]; then
  $BIN synth --areas "$N" -o "$OUT/synth-audit-$N.geojson"
  $BIN --db "$DB" import "$OUT/synth-audit-$N.geojson"
fi
target/release/examples/zones_geojson oblast > "$OUT/zones-oblast.geojson"
target/release/examples/zones_geojson permitted > "$OUT/zones-permitted.geojson"
$BIN --db "$DB" zone import "$OUT/zones-oblast.geojson" --kind oblast
$BIN --db "$DB" zone import "$OUT/zones-permitted.geojson" --kind permitted
sed 's/^applies-to = "emplacement-records"/applies-to = "all-hazards"/' docs/policy.example.toml > "$OUT/policy-all-hazards.toml"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r)"
AT=$(date -u -d "+7 days" +%Y-%m-%dT%H:%M:%SZ)
$BIN --db "$DB" audit --policy docs/policy.example.toml --at "$AT" | head -12 || true
if command -v hyperfine >/dev/null; then
  hyperfine -i -w 1 -r 5 \
    "$BIN --db $DB audit --policy docs/policy.example.toml --at $AT --json > /dev/null" \
    "$BIN --db $DB audit --policy $OUT/policy-all-hazards.toml --at $AT --json > /dev/null"
else
  for p in docs/policy.example.toml "$OUT/policy-all-hazards.toml"; do
    /usr/bin/time -f "%e s, %M KiB max RSS: audit $p" $BIN --db "$DB" audit --policy "$p" --at "$AT" --json > /dev/null || true
  done
fi
for p in docs/policy.example.toml "$OUT/policy-all-hazards.toml"; do
  /usr/bin/time -f "%e s, %M KiB max RSS: audit $p" $BIN --db "$DB" audit --policy "$p" --at "$AT" --json > /dev/null || true
done

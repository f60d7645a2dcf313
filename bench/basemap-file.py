#!/usr/bin/env python3
"""Writes the PMTiles file bench/basemap.sh serves: every tile of zooms 0 to 15 over the country
around Kharkiv (36.0-37.0 E, 49.5-50.3 N), in the Protomaps schema's shape as the servers see it
(vector tiles, gzip-compressed, metadata naming the layers). Neither server decodes a tile, so
each tile is an incompressible body of a seeded, log-normally distributed size (median 12 KiB,
capped at 200 KiB: an assumption, not a measurement of a real build) — what is measured is
finding a tile in the file and sending it.

Usage: basemap-file.py OUT.pmtiles   (needs the PyPI package pmtiles)
"""

import gzip
import json
import math
import random
import sys

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

W, S, E, N = 36.0, 49.5, 37.0, 50.3
MAXZOOM = 15


def tile_xy(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    s = math.radians(lat)
    y = int((1 - math.log(math.tan(s) + 1 / math.cos(s)) / math.pi) / 2 * n)
    return min(x, n - 1), min(y, n - 1)


def main():
    out = sys.argv[1]
    rng = random.Random(17)
    ids = []
    for z in range(MAXZOOM + 1):
        x0, y0 = tile_xy(W, N, z)
        x1, y1 = tile_xy(E, S, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                ids.append(zxy_to_tileid(z, x, y))
    ids.sort()
    total = 0
    with open(out, "wb") as f:
        w = Writer(f)
        for tid in ids:
            size = min(200 * 1024, int(rng.lognormvariate(math.log(12 * 1024), 0.8)))
            body = gzip.compress(rng.randbytes(size), compresslevel=1)
            total += len(body)
            w.write_tile(tid, body)
        w.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": 0,
                "max_zoom": MAXZOOM,
                "min_lon_e7": int(W * 1e7),
                "min_lat_e7": int(S * 1e7),
                "max_lon_e7": int(E * 1e7),
                "max_lat_e7": int(N * 1e7),
                "center_zoom": 12,
                "center_lon_e7": int((W + E) / 2 * 1e7),
                "center_lat_e7": int((S + N) / 2 * 1e7),
            },
            {
                "name": "bench/basemap.sh",
                "attribution": "synthetic tiles",
                "vector_layers": [{"id": l, "fields": {}} for l in
                                  ["earth", "landuse", "water", "roads", "buildings", "places"]],
            },
        )
    print(f"{len(ids)} tiles, {total / 2**20:.1f} MiB of tile data", file=sys.stderr)
    # The paths wrk asks for: z10-z15, shuffled once, so that a pass goes round the file.
    paths = []
    for z in range(10, MAXZOOM + 1):
        x0, y0 = tile_xy(W, N, z)
        x1, y1 = tile_xy(E, S, z)
        paths += [f"/{z}/{x}/{y}" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    rng.shuffle(paths)
    with open(out + ".paths", "w") as f:
        f.write("".join(p + "\n" for p in paths))
    print(f"{len(paths)} tile paths (z10-z15) in {out}.paths", file=sys.stderr)


if __name__ == "__main__":
    main()

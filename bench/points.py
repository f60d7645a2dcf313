#!/usr/bin/env python3
"""The query places of the HTTP benchmarks (bench/http.sh, bench/servers.sh): bench/out/points.txt,
100,000 "lon lat" lines, half within 0.05 degrees of towns of five eastern oblasts where the
synthetic hazards cluster, half anywhere in the data's box (lon 22.2-40.2, lat 44.4-52.3); seeded,
so every run asks the same places. Standard library only.
"""
import csv
import random


def towns():
    """The settlements of the five oblasts the places (and http.sh's tiles) are drawn near."""
    return [r for r in csv.DictReader(open("crates/cairn-synth/data/settlements-ua.csv"))
            if r["admin1"] in ("05", "07", "14", "26", "08")]


def write_points(towns):
    """Writes bench/out/points.txt with the module `random`'s state as it is (seed it first)."""
    with open("bench/out/points.txt", "w") as f:
        for i in range(100000):
            if i % 2:
                t = random.choice(towns)
                f.write(f"{float(t['lon']) + random.uniform(-0.05, 0.05):.6f} "
                        f"{float(t['lat']) + random.uniform(-0.05, 0.05):.6f}\n")
            else:
                f.write(f"{random.uniform(22.2, 40.2):.6f} {random.uniform(44.4, 52.3):.6f}\n")


if __name__ == "__main__":
    random.seed(7)
    write_points(towns())

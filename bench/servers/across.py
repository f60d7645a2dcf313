#!/usr/bin/env python3
"""Write to visible across servers, for bench/servers.sh: two `cairn serve` processes on one
PostgreSQL store; each round an officer POSTs a new public confirmed area through one server (the
201 comes once that server's model shows it), and the clock runs from the 201 until the other
server's public place check inside the area lists it, polled every 2 ms on a keep-alive
connection. Rounds alternate the servers. Places, features and the HTTP client are those of
bench/follow/measure.py. Standard library only; prints Markdown.

    python3 bench/servers/across.py --a http://127.0.0.1:PA --b http://127.0.0.1:PB \
        --token SECRET --rounds 200
"""
import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "follow"))
import measure  # noqa: E402  (bench/follow/measure.py)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    servers = [
        (measure.Client(args.a, args.token), measure.Client(args.a)),
        (measure.Client(args.b, args.token), measure.Client(args.b)),
    ]
    places, tried, near_town = measure.pick_places(servers[0][1], args.rounds, rng)
    run = f"{int(time.time()):x}"
    post, visible, polls = [], [], []
    for i in range(args.rounds):
        writer, _ = servers[i % 2]
        _, reader = servers[1 - i % 2]
        lon, lat = places[i]
        fid = f"BS-{run}-{i:04d}"
        body = json.dumps(measure.feature(fid, lon, lat, f"bench/servers.sh round {i}")).encode()
        # Spread the writes over the other server's follow cycle.
        time.sleep(rng.uniform(0, 0.1))
        t0 = time.perf_counter()
        status, _, data = writer.request(
            "POST", "/ogc/collections/hazardous-areas/items", body=body,
            headers={"Content-Type": "application/geo+json", "Cairn-Reason": f"bench/servers.sh round {i}"})
        t1 = time.perf_counter()
        if status != 201:
            measure.die(f"round {i}: POST answered {status}, not 201: {data[:500]!r}")
        n = 0
        while True:
            n += 1
            if measure.lists(measure.check(reader, lon, lat), fid):
                t2 = time.perf_counter()
                break
            if time.perf_counter() - t1 > measure.GIVE_UP:
                measure.die(f"round {i}: {fid} not shown by the other server after {measure.GIVE_UP:.0f} s")
            time.sleep(measure.POLL)
        post.append(t1 - t0)
        visible.append(t2 - t1)
        polls.append(n)
    ms = lambda v: f"{v * 1000:.1f}"
    pct = measure.pct
    row = lambda name, v: print(f"| {name} | {len(v)} | {ms(min(v))} | {ms(pct(v, 50))} | {ms(pct(v, 99))} | {ms(max(v))} |")
    print(f"Write to visible on the other server: {args.rounds} rounds alternating the two servers; places "
          f"with no hazard within {measure.MIN_CLEAR_M:.0f} m ({near_town} near a settlement, {tried} "
          f"candidates checked); the other server polled every {measure.POLL * 1000:.0f} ms (median "
          f"{pct(polls, 50)}, at most {max(polls)} checks).")
    print()
    print("| Time (ms) | n | min | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    row("OGC POST through one server, sent → 201 (its own model shows it)", post)
    row("the 201 → the other server's public check lists the area", visible)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The measuring loop of bench/follow.sh: how long from a committed write to the public place check
showing it, on a running `cairn serve`. Standard library only. Run by bench/follow.sh, which builds
the store, starts the service and passes its address; by hand:

    python3 bench/follow/measure.py --bin target/release/cairn --db bench/out/follow-20000.db \
        --base http://127.0.0.1:PORT --token SECRET --rounds 50 --work bench/out/follow-work

(a) another process writes: `cairn import` of a one-feature GeoJSON file adding a public confirmed
    area (direct evidence) where there is no hazard. The clock starts when the import exits with
    status 0 (its transaction committed before it exited) and stops when a public check at a point
    inside the new area lists its id, polled every POLL seconds on one keep-alive connection. The
    import's own time (start to exit) is reported beside it.
(b) the service's own door: OGC API Part 4 POST of a new public confirmed area with an officer's
    token, timed from sending to the 201 (answered only once the read model shows it); then one
    public check must list it at once.

Each round uses a fresh id and place: a point whose public check has nothing inside and no hazard
nearer than MIN_CLEAR_M, at least 2 km from the other rounds' places, near a settlement (where
synthetic hazards cluster) when such a place is found there. Before each import a random pause of 0-100 ms spreads commits evenly over
the follower's 100 ms tick. Prints Markdown.
"""
import argparse
import csv
import http.client
import json
import math
import os
import random
import subprocess
import sys
import time
import urllib.parse

POLL = 0.002  # seconds between public checks while waiting for (a)
GIVE_UP = 30.0  # seconds; a write not visible by then is a failure, not a slow figure
MIN_CLEAR_M = 1000.0  # the nearest existing hazard must be farther than this from a new area
HALF_SIDE_M = 50.0  # new areas are squares 100 m across
SETTLEMENTS = "crates/cairn-synth/data/settlements-ua.csv"


def die(msg):
    print(f"bench/follow/measure.py: {msg}", file=sys.stderr)
    sys.exit(1)


class Client:
    """One persistent HTTP/1.1 connection; reconnects (and says so) if the server closes it."""

    def __init__(self, base, token=None):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.reconnects = -1
        self.conn = None
        self._connect()

    def _connect(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.conn.connect()
        self.reconnects += 1

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.will_close:
                    self._connect()
                return r.status, dict(r.getheaders()), data
            except (http.client.HTTPException, ConnectionError):
                if attempt:
                    raise
                self._connect()


def check(client, lon, lat):
    status, _, body = client.request("GET", f"/api/check/point?lon={lon:.7f}&lat={lat:.7f}")
    if status != 200:
        die(f"GET /api/check/point answered {status}: {body[:300]!r}")
    return json.loads(body)


def lists(answer, fid):
    return any(h["id"] == fid for h in answer["inside"])


def square(lon, lat):
    dlat = HALF_SIDE_M / 111_320.0
    dlon = dlat / math.cos(math.radians(lat))
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat],
            [lon - dlon, lat + dlat], [lon - dlon, lat - dlat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def feature(fid, lon, lat, how):
    return {
        "type": "Feature",
        "id": fid,
        "geometry": square(lon, lat),
        "properties": {
            "name": f"bench/follow.sh {how}",
            "status": "confirmed",
            "classification": "public",
            "evidence": {"kind": "direct", "description": "PMN-2 seen beside the path (synthetic, bench/follow.sh)"},
        },
    }


def metres(a, b):
    dx = (a[0] - b[0]) * 111_320.0 * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = (a[1] - b[1]) * 111_320.0
    return math.hypot(dx, dy)


def pick_places(client, count, rng):
    """Places with no hazard within MIN_CLEAR_M, 2 km from each other: near settlements (where the
    synthetic hazards cluster) nine times in ten, else anywhere in the data's box (lon 22.2-40.2,
    lat 44.4-52.3), so that a dense store still yields enough. Returns them, the candidates
    checked and how many chosen lie near a settlement."""
    towns = [(float(r["lon"]), float(r["lat"])) for r in csv.DictReader(open(SETTLEMENTS))]
    chosen, tried, near_town = [], 0, 0
    while len(chosen) < count:
        tried += 1
        if tried > 1000 * count + 10_000:
            die(f"found only {len(chosen)} of {count} places with no hazard within {MIN_CLEAR_M:.0f} m "
                f"after {tried} tries; the store is denser than this script expects")
        town = rng.random() < 0.9
        if town:
            t = rng.choice(towns)
            p = (t[0] + rng.uniform(-0.3, 0.3), t[1] + rng.uniform(-0.2, 0.2))
        else:
            p = (rng.uniform(22.2, 40.2), rng.uniform(44.4, 52.3))
        if any(metres(p, q) < 2000 for q in chosen):
            continue
        a = check(client, *p)
        if a["inside"] or a["within_accuracy"]:
            continue
        n = a.get("nearest")
        if n is not None and n.get("distance_m", 0) <= MIN_CLEAR_M:
            continue
        chosen.append(p)
        near_town += town
    rng.shuffle(chosen)
    return chosen, tried, near_town


def pct(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def health(client):
    status, _, body = client.request("GET", "/health")
    if status != 200:
        die(f"GET /health answered {status}: {body[:300]!r}")
    return json.loads(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.work, exist_ok=True)
    public = Client(args.base)
    officer = Client(args.base, args.token)
    run = f"{int(time.time()):x}"  # ids fresh even when the script is run twice on one store

    h0 = health(officer)  # the change number and counts are for callers with a token
    if not h0.get("following", False):
        die(f"/health says the service is not following the change feed: {h0}")
    places, tried, near_town = pick_places(public, 2 * args.rounds, rng)

    # The resolution of the poll: one public check on the keep-alive connection.
    probe = []
    for lon, lat in places[:50] * 4:
        t = time.perf_counter()
        check(public, lon, lat)
        probe.append(time.perf_counter() - t)

    # Process start alone, for scale: what any import pays before it touches the store.
    spawn = []
    for _ in range(20):
        t = time.perf_counter()
        subprocess.run([args.bin, "--version"], check=True, stdout=subprocess.DEVNULL)
        spawn.append(time.perf_counter() - t)

    # (a) another process writes; the service sees it through the change feed.
    imp, vis, both, polls = [], [], [], []
    for i in range(args.rounds):
        lon, lat = places[i]
        fid = f"BF-{run}-A{i:04d}"
        path = os.path.join(args.work, f"a{i:04d}.geojson")
        with open(path, "w") as f:
            json.dump({"type": "FeatureCollection", "features": [feature(fid, lon, lat, f"(a) round {i}")]}, f)
        if check(public, lon, lat)["inside"]:
            die(f"{lon},{lat} already has a hazard before round {i}")
        time.sleep(rng.uniform(0, 0.1))
        t0 = time.perf_counter()
        p = subprocess.run([args.bin, "--db", args.db, "import", path, "--author", "bench/follow.sh",
                            "--reason", f"bench/follow.sh (a) round {i}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = time.perf_counter()
        if p.returncode != 0:
            die(f"cairn import {path} exited {p.returncode}: {p.stderr.decode(errors='replace')[-1000:]}")
        n = 0
        while True:
            n += 1
            if lists(check(public, lon, lat), fid):
                t2 = time.perf_counter()
                break
            if time.perf_counter() - t1 > GIVE_UP:
                die(f"(a) round {i}: {fid} not in the public check at {lon},{lat} {GIVE_UP:.0f} s after the "
                    f"import exited; /health: {health(officer)}")
            time.sleep(POLL)
        imp.append(t1 - t0)
        vis.append(t2 - t1)
        both.append(t2 - t0)
        polls.append(n)

    # (b) the service's own door: OGC POST, answered once the model shows it.
    post, after, missed = [], [], []
    for i in range(args.rounds):
        lon, lat = places[args.rounds + i]
        fid = f"BF-{run}-B{i:04d}"
        body = json.dumps(feature(fid, lon, lat, f"(b) round {i}")).encode()
        time.sleep(rng.uniform(0, 0.1))
        t0 = time.perf_counter()
        status, headers, data = officer.request(
            "POST", "/ogc/collections/hazardous-areas/items", body=body,
            headers={"Content-Type": "application/geo+json", "Cairn-Reason": f"bench/follow.sh (b) round {i}"})
        t1 = time.perf_counter()
        if status != 201:
            die(f"(b) round {i}: POST answered {status}, not 201: {data[:500]!r}")
        ok = lists(check(public, lon, lat), fid)
        t2 = time.perf_counter()
        if not ok:
            missed.append(fid)
        post.append(t1 - t0)
        after.append(t2 - t1)

    h1 = health(officer)
    ms = lambda v: f"{v * 1000:.1f}"
    row = lambda name, v: print(f"| {name} | {len(v)} | {ms(min(v))} | {ms(pct(v, 50))} | {ms(pct(v, 99))} | {ms(max(v))} |")
    print(f"Rounds: {args.rounds} of each kind; places: {2 * args.rounds} with no hazard within "
          f"{MIN_CLEAR_M:.0f} m, {near_town} of them near a settlement ({tried} candidates checked); new areas: public, confirmed on direct "
          f"evidence, squares {2 * HALF_SIDE_M:.0f} m across. Poll: a public check every {POLL * 1000:.0f} ms "
          f"on one keep-alive connection (median {ms(pct(probe, 50))} ms each; (a) took median "
          f"{pct(polls, 50)} and at most {max(polls)} checks). Change feed: {h0['change']} before, "
          f"{h1['change']} after ({h1['areas']} areas).")
    print()
    print("| Time (ms) | n | min | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    row("(a) another process: `cairn import` exits 0 → the public check lists the area", vis)
    row("(a) the import process itself, one feature (start → exit 0)", imp)
    row("(a) both: import started → the public check lists the area", both)
    row("process start alone, for scale (`cairn --version`)", spawn)
    row("(b) the service's door: OGC POST sent → 201 (the model shows it)", post)
    row("(b) the public check right after the 201", after)
    print()
    if args.rounds < 100:
        print("p99 is by nearest rank: with fewer than 100 rounds it is the max.")
    print(f"(b): the public check right after the 201 listed the new area in {args.rounds - len(missed)} "
          f"of {args.rounds} rounds.")
    if public.reconnects or officer.reconnects:
        print(f"Note: the server closed the keep-alive connection {public.reconnects + officer.reconnects} times.")
    if missed:
        die(f"(b): the public check right after the 201 did not list {', '.join(missed[:10])}")
    if h1["change"] < h0["change"] + 2 * args.rounds:
        die(f"the change feed moved from {h0['change']} to {h1['change']}, fewer than the {2 * args.rounds} writes")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Soak (issue 18): `cairn serve` at saturation for a long while with a realistic public mix —
# tiles, place checks, route checks, item pages, reports with photos — and officers' writes
# (GET for the ETag, then PATCH with If-Match). Records every error (goal 0), p99 latency per
# 10 s and overall, and the server's resident memory every 10 s from /proc/PID/status (goal:
# flat), into bench/out/soak/.
#
# Usage: bench/soak.sh [SECONDS] [CLIENTS] [AREAS]   (default 600 s, 32 clients, 20,000 areas)
#   CAIRN_BIN=path/to/cairn uses that binary instead of building the release one.
#
# The per-client rate limits are turned off in the service's settings (the load comes from one
# address; a saturation test would otherwise measure 429s); the concurrency caps and the compute
# pool stay on, so a 503 with Retry-After is load shed, counted apart from errors. An officer's
# 412 (a concurrent write took the ETag first) is the protocol working, also counted apart.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}
CLIENTS=${2:-32}
AREAS=${3:-20000}
OUT=bench/out/soak
PORT=${PORT:-18097}
if [ -z "${CAIRN_BIN:-}" ]; then
  cargo build --release --quiet --bin cairn
  CAIRN_BIN=${CARGO_TARGET_DIR:-target}/release/cairn
fi
rm -rf "$OUT" && mkdir -p "$OUT"
DB=$OUT/soak.db
echo "command: bench/soak.sh $SECS $CLIENTS $AREAS ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $CAIRN_BIN"

"$CAIRN_BIN" --db "$DB" init >/dev/null
"$CAIRN_BIN" --db "$DB" synth --areas "$AREAS" --seed 18 -o "$OUT/areas.geojson" >/dev/null
CAIRN_AUTHOR=soak "$CAIRN_BIN" --db "$DB" import "$OUT/areas.geojson" >/dev/null
TOKEN=$("$CAIRN_BIN" --db "$DB" token create --name "Soak officer" --role officer 2>/dev/null)
printf '[reports]\nrate_limit = false\n[rate_limits]\nenabled = false\n' > "$OUT/cairn.toml"
CAIRN_LOG=warn "$CAIRN_BIN" --db "$DB" serve --addr "127.0.0.1:$PORT" --config "$OUT/cairn.toml" \
  > "$OUT/serve.out" 2> "$OUT/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done

# Memory every 10 s, beside the load.
(
  printf 'seconds\trss_kib\n'
  start=$(date +%s)
  while kill -0 "$PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$PID/status" 2>/dev/null || true)
    [ -n "$rss" ] && printf '%s\t%s\n' "$(( $(date +%s) - start ))" "$rss"
    sleep 10
  done
) > "$OUT/rss.tsv" &
SAMPLER=$!

python3 - "$PORT" "$SECS" "$CLIENTS" "$TOKEN" "$OUT" <<'PY'
import base64, http.client, json, math, random, struct, sys, threading, time, zlib

port, secs, clients, token, out = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
fc = json.load(open(f"{out}/areas.geojson"))

def first(c):
    while isinstance(c[0], list):
        c = c[0]
    return c[:2]

places = [first(f["geometry"]["coordinates"]) for f in fc["features"]]
ids = [f["id"] if "id" in f else f["properties"].get("id") for f in fc["features"]]
ids = [i for i in ids if i]

def png(w, h, seed):
    # A small real PNG (with a text chunk, which the service must strip).
    r = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(r.randrange(256) for _ in range(w * 3)) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00taken at home") + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

photos = [base64.b64encode(png(64, 48, s)).decode() for s in range(8)]

def tile(lon, lat, z):
    n = 2 ** z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

lock = threading.Lock()
stats = {}          # kind -> {"ok", "shed", "conflict", "error"}
windows = {}        # 10 s window -> [latencies]
all_lat = []
errors = []

def record(kind, outcome, latency, started_at):
    with lock:
        s = stats.setdefault(kind, {"ok": 0, "shed": 0, "conflict": 0, "error": 0})
        s[outcome] += 1
        if outcome in ("ok", "conflict"):
            windows.setdefault(int((started_at - t0) // 10), []).append(latency)
            all_lat.append(latency)

def request(conn, method, path, body=None, headers=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    return r.status, r.getheader("ETag"), data

def one(conn, r):
    x = r.random()
    lon, lat = r.choice(places)
    lon += r.uniform(-0.01, 0.01); lat += r.uniform(-0.01, 0.01)
    if x < 0.40:
        z, tx, ty = tile(lon, lat, r.choice([8, 10, 11, 12, 13, 14, 14]))
        return "tile", [("GET", f"/tiles/{z}/{tx}/{ty}.mvt", None, None)], (200,)
    if x < 0.65:
        return "point", [("GET", f"/api/check/point?lon={lon:.6f}&lat={lat:.6f}&accuracy=25", None, None)], (200,)
    if x < 0.73:
        pts = [[lon + i * 0.002, lat + r.uniform(-0.002, 0.002)] for i in range(40)]
        body = json.dumps({"type": "LineString", "coordinates": pts})
        return "route", [("POST", "/api/check/route?width=50", body, None)], (200,)
    if x < 0.85:
        bbox = f"{lon-0.05:.4f},{lat-0.05:.4f},{lon+0.05:.4f},{lat+0.05:.4f}"
        return "items", [("GET", f"/ogc/collections/hazardous-areas/items?bbox={bbox}&limit=100", None, None)], (200,)
    if x < 0.88:
        body = json.dumps({"lon": lon, "lat": lat, "category": "unknown-object",
                           "description": "soak test", "photo": r.choice(photos)})
        return "report", [("POST", "/api/reports", body, None)], (201,)
    return "officer", None, None

def officer(conn, r):
    fid = r.choice(ids)
    auth = {"Authorization": f"Bearer {token}"}
    st, etag, _ = request(conn, "GET", f"/ogc/collections/hazardous-areas/items/{fid}", headers=auth)
    if st != 200 or not etag:
        return st
    patch = json.dumps({"properties": {"marking": r.choice(["marked", "fenced", "unmarked"])}})
    h = dict(auth, **{"If-Match": etag, "Content-Type": "application/merge-patch+json", "Cairn-Reason": "soak"})
    st, _, _ = request(conn, "PATCH", f"/ogc/collections/hazardous-areas/items/{fid}", body=patch, headers=h)
    return st

def worker(n):
    r = random.Random(n)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.time() < t_end:
        kind, reqs, want = one(conn, r)
        started = time.time()
        try:
            if kind == "officer":
                st = officer(conn, r)
                outcome = "ok" if st in (200, 204) else "conflict" if st in (409, 412, 422) else "shed" if st == 503 else "error"
            else:
                method, path, body, headers = reqs[0]
                st, _, data = request(conn, method, path, body, headers)
                outcome = "ok" if st in want else "shed" if st == 503 else "error"
            if outcome == "error":
                with lock:
                    errors.append(f"{kind} {st}")
        except Exception as e:  # a reset or a timeout is an error too
            outcome = "error"
            with lock:
                errors.append(f"{kind} {type(e).__name__}: {e}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        record(kind, outcome, time.time() - started, started)

t0 = time.time()
t_end = t0 + secs
threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
for t in threads: t.start()
for t in threads: t.join()

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, math.ceil(len(v) * p / 100) - 1))] if v else float("nan")

with open(f"{out}/latency.tsv", "w") as f:
    f.write("window_start_s\trequests\tp50_ms\tp99_ms\n")
    for w in sorted(windows):
        v = windows[w]
        f.write(f"{w*10}\t{len(v)}\t{pct(v,50)*1000:.1f}\t{pct(v,99)*1000:.1f}\n")
total = sum(sum(s.values()) for s in stats.values())
errs = sum(s["error"] for s in stats.values())
with open(f"{out}/summary.txt", "w") as f:
    f.write(f"duration {secs:.0f} s, {clients} clients, {total} requests ({total/secs:.0f}/s)\n")
    for k in sorted(stats):
        f.write(f"  {k:8} {stats[k]}\n")
    f.write(f"errors {errs}\n")
    f.write(f"latency p50 {pct(all_lat,50)*1000:.1f} ms, p99 {pct(all_lat,99)*1000:.1f} ms\n")
    for e in sorted(set(errors))[:20]:
        f.write(f"  error: {e} (x{errors.count(e)})\n")
print(open(f"{out}/summary.txt").read(), end="")
PY

sleep 1
kill -TERM $PID; wait $PID 2>/dev/null || true
trap - EXIT
wait $SAMPLER 2>/dev/null || true
echo "memory (RSS KiB every 10 s):"; column -t "$OUT/rss.tsv" | sed 's/^/  /'
echo "p99 per 10 s window:"; column -t "$OUT/latency.tsv" | sed 's/^/  /'
first=$(awk 'NR==2{print $2}' "$OUT/rss.tsv"); last=$(awk 'END{print $2}' "$OUT/rss.tsv")
echo "RSS first $first KiB, last $last KiB"
grep -q '^errors 0$' "$OUT/summary.txt" || { echo "bench/soak.sh: errors recorded (see $OUT/summary.txt)" >&2; exit 1; }

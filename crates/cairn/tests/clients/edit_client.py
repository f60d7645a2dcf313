"""Edits hazardous areas through Cairn's OGC API - Features Part 4 as a plain HTTP client would
(QGIS's requests, made with the standard library): OPTIONS, POST, GET with ETag, PATCH and PUT
with If-Match, DELETE, and the refusals (401, 403, 412, 428).

Usage: edit_client.py --base http://ADDR --officer TOKEN --field-a TOKEN --field-b TOKEN
                      --auditor TOKEN

Prints one line per check ("ok ..." or "FAIL ..."), then "kept ID" and "refused ID" (the feature
DELETE may not close: an area closes only by land release) for the
caller to check with GDAL and `cairn history`; exits 1 when any check failed.
"""

import argparse
import http.client
import json
import sys
from urllib.parse import urlsplit

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


class Client:
    def __init__(self, base):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port

    def call(self, method, path, token=None, body=None, ctype="application/geo+json", headers=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = ctype
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, hdrs, doc


def feature(x, name, classification="public", org="Operator A"):
    return {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x, 48.5], [x + 0.01, 48.5], [x + 0.01, 48.51], [x, 48.51], [x, 48.5]]],
        },
        "properties": {
            "name": name,
            "status": "suspected",
            "classification": classification,
            "organisation": org,
            "evidence": {"kind": "indirect", "description": "villagers avoid the field"},
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--officer", required=True)
    ap.add_argument("--field-a", required=True)
    ap.add_argument("--field-b", required=True)
    ap.add_argument("--auditor", required=True)
    a = ap.parse_args()
    c = Client(a.base)
    items = "/ogc/collections/hazardous-areas/items"

    # What QGIS asks before it offers editing.
    s, h, _ = c.call("OPTIONS", items, a.officer)
    allow = [m.strip() for m in h.get("allow", "").split(",")]
    check(s in (200, 204) and "POST" in allow, f"OPTIONS items as officer: {s}, Allow {allow}")
    s, h, _ = c.call("OPTIONS", items + "/unknown_id", a.officer)
    allow = [m.strip() for m in h.get("allow", "").split(",")]
    check(all(m in allow for m in ("PUT", "PATCH", "DELETE")), f"OPTIONS item as officer: Allow {allow}")
    s, h, _ = c.call("OPTIONS", items)
    check("POST" not in h.get("allow", ""), f"OPTIONS items for the public: Allow {h.get('allow')}")

    # Create, read with an ETag, update with If-Match.
    s, h, doc = c.call("POST", items, a.officer, feature(35.0, "Field behind the farm"),
                       headers={"Cairn-Reason": "survey of 25 November"})
    check(s == 201 and "location" in h and "etag" in h, f"POST: {s} {h.get('location')}")
    if s != 201:
        print(json.dumps(doc))
        return 1
    fid = doc["id"]
    path = urlsplit(h["location"]).path
    check(path == f"{items}/{fid}", f"Location names the new feature: {path}")
    s, h, doc = c.call("GET", path, a.officer)
    etag = h.get("etag")
    check(s == 200 and doc["properties"]["name"] == "Field behind the farm", f"GET the new feature: {s}")
    s, h2, doc = c.call("PATCH", path, a.officer, {"properties": {"status": "confirmed", "marking": "marked",
                        "evidence": {"kind": "direct", "description": "two AP mines seen"}}},
                        ctype="application/merge-patch+json", headers={"If-Match": etag})
    check(s == 200 and doc["properties"]["status"] == "confirmed" and h2.get("etag") != etag,
          f"PATCH with If-Match: {s}, ETag {etag} -> {h2.get('etag')}")
    new_etag = h2.get("etag")
    s, h, doc = c.call("PATCH", path, a.officer, {"properties": {"name": "lost update"}},
                       ctype="application/merge-patch+json", headers={"If-Match": etag})
    check(s == 412 and h.get("content-type") == "application/problem+json", f"PATCH with a stale ETag: {s}")
    s, h, doc = c.call("PUT", path, a.officer, feature(35.0, "no precondition"))
    check(s == 428, f"PUT without If-Match: {s}")

    # Roles.
    s, _, _ = c.call("POST", items, None, feature(35.1, "anonymous"))
    check(s == 401, f"POST by the public: {s}")
    s, _, _ = c.call("POST", items, a.auditor, feature(35.1, "audit"))
    check(s == 403, f"POST by an auditor: {s}")
    s, _, _ = c.call("PATCH", path, a.field_b, {"properties": {"name": "B"}},
                     ctype="application/merge-patch+json", headers={"If-Match": new_etag})
    check(s == 403, f"PATCH by a field user of another organisation: {s}")
    s, h, doc = c.call("PATCH", path, a.field_a, {"properties": {"name": "Field behind the farm (team A)"}},
                       ctype="application/merge-patch+json", headers={"If-Match": new_etag})
    check(s == 200, f"PATCH by a field user of the record's organisation: {s}")
    kept_etag = h.get("etag")

    # Replace with PUT, then a second feature that DELETE may not close.
    replaced = feature(35.0, "Field behind the farm, replaced")
    replaced["properties"]["status"] = "confirmed"
    replaced["properties"]["evidence"] = {"kind": "direct", "description": "two AP mines seen"}
    s, h, doc = c.call("PUT", path, a.officer, replaced, headers={"If-Match": kept_etag})
    check(s == 200 and doc["properties"]["name"] == "Field behind the farm, replaced", f"PUT with If-Match: {s}")
    s, h, doc = c.call("POST", items, a.officer, feature(35.2, "Recorded by mistake"))
    check(s == 201, f"POST a second feature: {s}")
    second = doc["id"]
    s, h, _ = c.call("GET", f"{items}/{second}", a.officer)
    s, h, doc = c.call("DELETE", f"{items}/{second}", a.officer,
                     headers={"If-Match": h.get("etag"), "Cairn-Reason": "recorded twice"})
    check(s == 409 and "release-by-activity" in json.dumps(doc), f"DELETE with If-Match is refused: {s}")
    s, _, doc = c.call("GET", f"{items}/{second}", a.officer)
    check(s == 200 and doc["properties"]["status"] == "suspected", f"the refused feature is unchanged: {s}")
    s, _, _ = c.call("GET", f"{items}/{second}")
    check(s == 200, f"the public is still warned of it: {s}")
    s, _, doc = c.call("GET", f"{items}/{fid}")
    check(s == 200 and doc["properties"]["status"] == "confirmed", f"the public sees the kept feature: {s}")

    print(f"kept {fid}")
    print(f"refused {second}")
    print(f"{len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

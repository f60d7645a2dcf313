"""Reads Cairn's OGC API - Features with OWSLib, as a Python GIS script would, and checks the answers.

Usage: owslib_client.py --url http://ADDR/ogc --public N --full M --token SECRET

N and M are the feature counts that `cairn export --public` and `cairn export` wrote from the
same store, counted by the caller. The script checks the landing page, collections,
conformance and OpenAPI document through OWSLib; pages through every public feature with
limit=500 and offset; checks a bbox query against shapely (with pyproj for metres), a CQL2
filter against the properties, spatial functions in CQL2 text and JSON against shapely, and
sortby paged through next links; then reads everything again with an officer's token.
It prints one line per check and exits 1 when any failed.
"""

import argparse
import json
import statistics
import sys

import pyproj
from owslib.ogcapi.features import Features
from shapely.geometry import Polygon, box, mapping, shape
from shapely.ops import transform

COLLECTION = "hazardous-areas"
PAGE = 500

failures = []


def check(ok, what, quiet=False):
    """Records one check and prints its outcome (a quiet one only when it failed)."""
    if not ok or not quiet:
        print(("ok:   " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def read_all(w, expected_total):
    """Pages through the collection with limit and offset; returns the features in order."""
    features = []
    offset = 0
    pages = 0
    while True:
        page = w.collection_items(COLLECTION, limit=PAGE, offset=offset)
        pages += 1
        got = page["features"]
        check(
            page.get("numberReturned") == len(got),
            f"page at offset {offset}: numberReturned {page.get('numberReturned')} equals the {len(got)} features sent",
            quiet=True,
        )
        check(
            page.get("numberMatched") == expected_total,
            f"page at offset {offset}: numberMatched {page.get('numberMatched')} equals {expected_total}",
            quiet=True,
        )
        has_next = any(link.get("rel") == "next" for link in page.get("links", []))
        more = offset + len(got) < page.get("numberMatched", 0)
        check(has_next == more, f"page at offset {offset}: a next link exactly when more remain ({more})", quiet=True)
        features.extend(got)
        offset += len(got)
        if not got or not has_next or pages > 1000:
            break
    return features, pages


def extent_m(geom, metres):
    """The box covering `geom` widened by `metres` on the ellipsoid, through a local azimuthal equidistant projection."""
    c = geom.centroid
    local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m")
    to_local = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True).transform
    to_wgs84 = pyproj.Transformer.from_crs(local, "EPSG:4326", always_xy=True).transform
    grown = transform(to_local, geom).buffer(metres, quad_segs=32)
    return box(*transform(to_wgs84, grown).bounds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--public", type=int, required=True)
    ap.add_argument("--full", type=int, required=True)
    ap.add_argument("--token", required=True)
    a = ap.parse_args()

    w = Features(a.url, timeout=60)
    check(COLLECTION in w.feature_collections(), f"feature_collections() lists {COLLECTION}: {w.feature_collections()}")
    c = w.collection(COLLECTION)
    check(c.get("id") == COLLECTION and c.get("itemType") == "feature", "collection() describes the feature collection")
    bbox = c.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0]
    check(len(bbox) == 4 and bbox[0] <= bbox[2] and bbox[1] <= bbox[3], f"the collection's extent is a box: {bbox}")
    conf = w.conformance().get("conformsTo", [])
    for cls in ["core", "geojson", "oas30"]:
        uri = f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}"
        check(uri in conf, f"conformance() declares {uri}")
    check("http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conf, "conformance() declares cql2-text")
    api = w.api()
    check(str(api.get("openapi", "")).startswith("3.0"), f"api() is an OpenAPI 3.0 document (openapi {api.get('openapi')!r})")
    check("/ogc/collections/{collectionId}/items" in api.get("paths", {}), "api() describes the items path")

    matched = w.collection_items(COLLECTION, limit=1)["numberMatched"]
    check(matched == a.public, f"numberMatched with limit=1 ({matched}) equals the public export's {a.public} features")

    features, pages = read_all(w, matched)
    ids = [f["id"] for f in features]
    check(len(features) == matched, f"paging by {PAGE} over {pages} pages read {len(features)} features of {matched}")
    check(len(set(ids)) == len(ids), "no feature came twice while paging")

    # A box around the middle of the data: some features inside, many outside.
    shapes = {f["id"]: shape(f["geometry"]) for f in features}
    cx = statistics.median(s.centroid.x for s in shapes.values())
    cy = statistics.median(s.centroid.y for s in shapes.values())
    q = [round(cx - 0.6, 4), round(cy - 0.4, 4), round(cx + 0.6, 4), round(cy + 0.4, 4)]
    qbox = box(*q)
    r = w.collection_items(COLLECTION, bbox=q, limit=10000)
    got = {f["id"] for f in r["features"]}
    check(r.get("numberMatched") == len(got), f"bbox {q}: numberMatched {r.get('numberMatched')} equals the {len(got)} features sent")
    must = {i for i, s in shapes.items() if s.intersects(qbox)}
    check(0 < len(must) < len(features), f"bbox {q}: the box meets some features but not all ({len(must)} of {len(features)})")
    missing = sorted(must - got)
    check(not missing, f"bbox {q}: every feature whose geometry meets the box is returned (missing {missing[:10]})")
    by_id = {f["id"]: f for f in features}
    stray = []
    for i in sorted(got - must):
        f = by_id.get(i)
        if f is None:
            stray.append(i)
            continue
        # A spot or linear hazard stands for a disc or corridor in metres: its covering box may meet the box.
        p = f["properties"] or {}
        metres = max(float(p.get("radius_m") or 0), float(p.get("width_m") or 0))
        if metres <= 0 or not extent_m(shapes[i], metres).intersects(qbox):
            stray.append(i)
    check(not stray, f"bbox {q}: nothing returned lies away from the box (stray {stray[:10]})")

    # CQL2 text through an extra query parameter, as OWSLib passes any keyword on.
    confirmed = {f["id"] for f in features if (f["properties"] or {}).get("status") == "confirmed"}
    r = w.collection_items(COLLECTION, filter="status='confirmed'", limit=10000)
    got_status = {(f["properties"] or {}).get("status") for f in r["features"]}
    check(got_status == {"confirmed"}, f"filter status='confirmed' returns only confirmed features (statuses {sorted(map(str, got_status))})")
    check({f["id"] for f in r["features"]} == confirmed, f"filter status='confirmed' returns all {len(confirmed)} confirmed features (got {len(r['features'])})")
    r2 = w.collection_items(COLLECTION, **{"filter": "status='confirmed'", "filter-lang": "cql2-text", "limit": 1})
    check(r2.get("numberMatched") == len(confirmed), "filter with filter-lang=cql2-text matches the same features")

    # Spatial functions on the server (CQL2 spatial-functions) against shapely (GEOS) on the
    # features as read: each feature's geometry is its footprint, so the sets must be equal.
    for cls in ["basic-spatial-functions", "basic-spatial-functions-plus", "spatial-functions", "cql2-json"]:
        check(f"http://www.opengis.net/spec/cql2/1.0/conf/{cls}" in conf, f"conformance() declares {cls}")
    tri = Polygon([(cx - 0.5, cy - 0.3), (cx + 0.5, cy - 0.3), (cx, cy + 0.4), (cx - 0.5, cy - 0.3)])
    for func, test in [
        ("S_INTERSECTS", lambda s: s.intersects(tri)),
        ("S_WITHIN", lambda s: s.within(tri)),
        ("S_DISJOINT", lambda s: s.disjoint(tri)),
    ]:
        expected = {i for i, s in shapes.items() if test(s)}
        text = f"{func}(geometry, {tri.wkt})"
        r = w.collection_items(COLLECTION, filter=text, limit=10000)
        got = {f["id"] for f in r["features"]}
        check(r.get("numberMatched") == len(got), f"{func}: numberMatched equals the features sent")
        check(0 < len(expected) < len(features), f"{func}: the triangle selects some features but not all ({len(expected)})")
        check(got == expected, f"{func}(geometry, triangle) returns what shapely finds ({len(got)} of {len(expected)}; missing {sorted(expected - got)[:5]}, stray {sorted(got - expected)[:5]})")
        # The same filter in CQL2 JSON.
        as_json = json.dumps({"op": func.lower(), "args": [{"property": "geometry"}, mapping(tri)]})
        rj = w.collection_items(COLLECTION, **{"filter": as_json, "filter-lang": "cql2-json", "limit": 10000})
        check({f["id"] for f in rj["features"]} == got, f"{func} in CQL2 JSON returns what the text form returns")

    # sortby, paged with next links: the order of one sort of every feature (Python compares
    # strings by code points too; a stable sort of the server's id order; no name last).
    def name(f):
        n = (f["properties"] or {}).get("name")
        return n if isinstance(n, str) else None

    # reverse=True keeps equal names in their first order, as the server's sort does.
    named = sorted((f for f in features if name(f) is not None), key=name, reverse=True)
    expected_order = [f["id"] for f in named] + [f["id"] for f in features if name(f) is None]
    got_order = []
    offset = 0
    while True:
        # OWSLib writes sortby=("name", "desc") as sortby=-name.
        page = w.collection_items(COLLECTION, sortby=("name", "desc"), limit=PAGE, offset=offset)
        got_order.extend(f["id"] for f in page["features"])
        offset += len(page["features"])
        if not page["features"] or not any(l.get("rel") == "next" and "sortby=-name" in l.get("href", "") for l in page.get("links", [])):
            break
    check(got_order == expected_order, f"sortby=-name over {offset // PAGE + 1} pages gives one descending order, nameless last ({len(got_order)} of {len(expected_order)})")

    # With an officer's token every current record is readable, restricted ones included.
    # OWSLib merges these headers into its module-wide defaults, so this comes last.
    t = Features(a.url, timeout=60, headers={"Authorization": f"Bearer {a.token}"})
    full_matched = t.collection_items(COLLECTION, limit=1)["numberMatched"]
    check(full_matched == a.full, f"with a token numberMatched ({full_matched}) equals the full export's {a.full} records")
    every, _ = read_all(t, full_matched)
    check(len(every) == a.full, f"with a token paging read {len(every)} records of {a.full}")
    restricted = sum(1 for f in every if (f["properties"] or {}).get("classification") == "restricted")
    check(restricted > 0, f"with a token restricted records are included ({restricted})")

    print(f"{len(failures)} failed checks", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""QGIS (Debian python3-qgis, 3.22) as a GIS officer's client of a running `cairn serve`.

Usage: qgis_client.py ADDR TOKEN PUBLIC_GEOJSON FULL_GEOJSON GPKG

PUBLIC_GEOJSON and FULL_GEOJSON are `cairn export --public` and `cairn export` of the served
store (each hazard's own shape), GPKG its GeoPackage export. Prints one line per check ("ok ..."
or "FAIL ..."), exits 1 if any failed. Requests go through a small recording proxy, so the test
sees what QGIS asks the server for.
"""

import json
import os
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402  (after the platform is set)
    QgsApplication,
    QgsAuthMethodConfig,
    QgsVectorLayer,
    QgsVectorTileLayer,
    QgsWkbTypes,
)

addr, token, public_path, full_path, gpkg = sys.argv[1:6]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


seen = []


class Recorder(BaseHTTPRequestHandler):
    """Forwards each GET to the server as it came (Host included, so links point back here)."""

    def do_GET(self):
        seen.append(self.path)
        keep = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "authorization", "host")}
        req = urllib.request.Request(f"http://{addr}{self.path}", headers=keep)
        try:
            r = urllib.request.urlopen(req, timeout=60)
            body, code, headers = r.read(), r.status, r.headers
        except urllib.error.HTTPError as e:
            body, code, headers = e.read(), e.code, e.headers
        self.send_response(code)
        for k in ("Content-Type", "WWW-Authenticate"):
            if headers.get(k):
                self.send_header(k, headers.get(k))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


proxy = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
threading.Thread(target=proxy.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{proxy.server_address[1]}"

app = QgsApplication([], False)
app.initQgis()

public = json.load(open(public_path))["features"]
full = json.load(open(full_path))["features"]


def layer(authcfg=None):
    uri = f"url='{base}/ogc' typename='hazardous-areas'"
    if authcfg:
        uri += f" authcfg='{authcfg}'"
    return QgsVectorLayer(uri, "hazards", "OAPIF")


# The public's layer: one polygon layer holding every public hazard, spots and corridors too.
lyr = layer()
check(lyr.isValid(), "the OAPIF layer opens")
check(QgsWkbTypes.displayString(lyr.wkbType()) == "MultiPolygon",
      f"QGIS types the layer MultiPolygon ({QgsWkbTypes.displayString(lyr.wkbType())})")
features = list(lyr.getFeatures())
ids = {f["id"] for f in features if f["id"]}
expected = {f["id"] for f in public if f.get("id")}
check(len(features) == len(public),
      f"QGIS reads every public feature ({len(features)} of {len(public)})")
check(expected <= ids, f"every public hazard by id ({len(expected - ids)} missing)")
round_ones = {f["id"] for f in public if f["geometry"]["type"] in ("Point", "LineString")}
drawn = {f["id"] for f in features
         if f["id"] in round_ones and f.geometry().type() == QgsWkbTypes.PolygonGeometry
         and f.geometry().area() > 0}
check(round_ones and drawn == round_ones,
      f"spots and corridors are polygons with an area in QGIS ({len(drawn)} of {len(round_ones)})")

# A subset string: QGIS 3.22 sends its date comparison to the server as `datetime` and checks the
# rest itself; the features are those of the same filter on the export.
since = "2025-06-01"
seen.clear()
lyr.setSubsetString(f"status = 'confirmed' and reported_at > '{since}'")
subset = {f["id"] for f in lyr.getFeatures()}
want = {f["id"] for f in public
        if f["properties"].get("status") == "confirmed"
        and (f["properties"].get("reported_at") or "") > f"{since}T00:00:00Z"}
asked = [p for p in seen if "/items" in p]
check(asked and all("datetime=" in p for p in asked),
      f"the date part of the subset string goes to the server ({asked[:2]})")
check(want and subset == want,
      f"the subset holds the export's {len(want)} features ({len(subset)}; differences {sorted(subset ^ want)[:5]})")

# Basic credentials, as QGIS offers them: the officer's view.
auth = QgsApplication.authManager()
auth.setMasterPassword("cairn-test", True)
cfg = QgsAuthMethodConfig()
cfg.setName("cairn")
cfg.setMethod("Basic")
cfg.setConfig("username", "olena")
cfg.setConfig("password", token)
check(auth.storeAuthenticationConfig(cfg)[0], "QGIS stores a Basic authentication configuration")
officer = layer(cfg.id())
officer_ids = {f["id"] for f in officer.getFeatures()}
check(len(officer_ids) == len(full),
      f"with Basic credentials QGIS reads every record ({len(officer_ids)} of {len(full)})")
check("classification" in [f.name() for f in officer.fields()],
      "the officer's layer has the restricted fields (classification)")
restricted = {f["id"] for f in full if f["properties"].get("classification") == "restricted"}
check(restricted and restricted <= officer_ids,
      f"the officer's layer holds the {len(restricted)} restricted records")

# The GeoPackage export: one layer per kind of record.
gp = QgsVectorLayer(gpkg, "export", "ogr")
names = sorted(s.split("!!::!!")[1] for s in gp.dataProvider().subLayers())
check(names == sorted(["hazardous_areas", "activities", "releases", "post_release_finds", "accidents", "zones"]),
      f"the GeoPackage opens as one layer per kind of record ({names})")
areas = QgsVectorLayer(f"{gpkg}|layername=hazardous_areas", "areas", "ogr")
check(areas.isValid() and areas.featureCount() == len(full)
      and QgsWkbTypes.displayString(areas.wkbType()) == "MultiPolygon",
      f"its hazardous areas are a MultiPolygon layer of every record ({areas.featureCount()})")

# The vector tiles.
tiles = QgsVectorTileLayer(f"type=xyz&url={base}/tiles/{{z}}/{{x}}/{{y}}.mvt&zmin=0&zmax=16", "tiles")
check(tiles.isValid(), "the vector tiles open as a vector tile layer")

# Leaving without QGIS's own teardown, which in 3.22 may crash a headless script at exit after
# every check is done; the exit code is the checks' verdict alone.
sys.stdout.flush()
os._exit(1 if failures else 0)

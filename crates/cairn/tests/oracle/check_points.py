"""Differential oracle for `cairn check points`, run by crates/cairn/tests/oracle.rs.

It generates test places deterministically around a synthetic data set (places exactly on
polygon vertices, interpolated on edges, inside holes, inside each part of multipolygons, in
and around spot and linear hazards, near hazards at random, and far out in the Black Sea),
asks the real `cairn check points` about all of them in one run, and computes the same
answers independently:

- containment in polygons with shapely (GEOS predicates, boundary included);
- geodesic distances with pyproj.Geod (Karney's algorithm on WGS 84): every hazard near a
  place is mapped into the azimuthal equidistant projection centred on the place (distance and
  azimuth from the centre, which is exactly what PROJ's ellipsoidal +proj=aeqd computes), after
  its edges, straight in longitude and latitude, were densified; the distance from the origin
  to the projected outline is then the geodesic distance to within millimetres.

It prints a report and exits with 0 when Cairn agrees within the stated tolerances, 1 when it
does not (every disagreement is listed), 2 on bad usage.

This file also holds what check_routes.py shares with it: reading the hazards and the
projections.
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pyproj
import shapely

GEOD = pyproj.Geod(ellps="WGS84")
ALL_STATUSES = "reported,suspected,confirmed,cancelled,reduced,cleared,closed"
POLY, SPOT, LINE = 0, 1, 2
# Densification of edges for the exact distances, in degrees (about 7 to 11 m).
DENS_DEG = 1e-4
# Densification of the screening plane's outlines, in degrees.
PLANE_DENS_DEG = 1e-3
# An upper bound on the relative error of distances measured in the screening plane (a
# Lambert azimuthal equal-area projection centred on the data; checked at start).
PLANE_REL = 0.01
NEAREST_LIMIT_M = 50_000.0
# The stated tolerance: 0.5 m on distances up to 10 km, and 0.1 % beyond.
TOL_M = 0.5
TOL_RANGE_M = 10_000.0
TOL_FAR_REL = 0.001
SEED = 20261125


def tol_for(d):
    """The tolerance on a distance of `d` metres (array or scalar)."""
    return np.where(np.asarray(d) <= TOL_RANGE_M, TOL_M, np.maximum(TOL_M, TOL_FAR_REL * np.asarray(d)))


def aeqd_xy(lon0, lat0, lon, lat):
    """Azimuthal equidistant coordinates in metres of (lon, lat) about the centres (lon0, lat0).

    Each point's coordinates are its geodesic distance s and azimuth a from the centre
    (s sin a, s cos a), from pyproj.Geod.inv; this is the ellipsoidal +proj=aeqd of PROJ.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    lon0 = np.broadcast_to(np.asarray(lon0, dtype=float), lon.shape).copy()
    lat0 = np.broadcast_to(np.asarray(lat0, dtype=float), lon.shape).copy()
    az, _, s = GEOD.inv(lon0, lat0, lon, lat)
    a = np.radians(np.asarray(az))
    s = np.asarray(s)
    return s * np.sin(a), s * np.cos(a)


def check_aeqd_against_proj():
    """Shows that aeqd_xy is PROJ's aeqd: the two agree to a millimetre within 60 km."""
    rng = np.random.default_rng(1)
    lon0, lat0 = 35.123, 48.765
    lon = lon0 + rng.uniform(-0.8, 0.8, 200)
    lat = lat0 + rng.uniform(-0.5, 0.5, 200)
    t = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m", always_xy=True
    )
    x1, y1 = t.transform(lon, lat)
    x2, y2 = aeqd_xy(lon0, lat0, lon, lat)
    err = float(np.max(np.hypot(np.asarray(x1) - x2, np.asarray(y1) - y2)))
    if err > 1e-3:
        raise SystemExit(f"oracle self-check: aeqd_xy differs from PROJ's aeqd by {err} m")
    return err


class Hazards:
    """The hazards of a GeoJSON file as the oracle sees them."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            fc = json.load(f)
        feats = fc["features"]
        self.ids = np.array([f["id"] for f in feats])
        n = len(feats)
        self.kind = np.empty(n, dtype=np.int8)
        self.off = np.zeros(n)
        self.type = []
        for i, f in enumerate(feats):
            t = f["geometry"]["type"]
            self.type.append(t)
            if t in ("Polygon", "MultiPolygon"):
                self.kind[i] = POLY
            elif t == "Point":
                self.kind[i] = SPOT
                self.off[i] = float(f["properties"]["radius_m"])
            elif t == "LineString":
                self.kind[i] = LINE
                self.off[i] = float(f["properties"]["width_m"]) / 2.0
            else:
                raise SystemExit(f"{path}: feature {f['id']}: unexpected geometry type {t}")
        self.type = np.array(self.type)
        self.ll = shapely.from_geojson([json.dumps(f["geometry"]) for f in feats])
        self.index_of = {h: i for i, h in enumerate(self.ids)}
        self.max_off = float(self.off.max())
        self.poly = np.nonzero(self.kind == POLY)[0]
        self.spot = np.nonzero(self.kind == SPOT)[0]
        self.line = np.nonzero(self.kind == LINE)[0]
        self.tree_poly_ll = shapely.STRtree(self.ll[self.poly])
        sc = shapely.get_coordinates(self.ll[self.spot])
        self.cx = np.zeros(n)
        self.cy = np.zeros(n)
        self.cx[self.spot], self.cy[self.spot] = sc[:, 0], sc[:, 1]

        # Rings (polygon rings and hazard lines) in their original vertices.
        parts, part_src = shapely.get_parts(self.ll[self.poly], return_index=True)
        part_haz = self.poly[part_src]
        part_no = _running_count(part_haz)
        self.parts, self.part_haz, self.part_no = parts, part_haz, part_no
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_no = _running_count(ring_part)
        ring_haz = np.concatenate([part_haz[ring_part], self.line])
        ring_hole = np.concatenate([ring_no > 0, np.zeros(len(self.line), dtype=bool)])
        ring_partno = np.concatenate([part_no[ring_part], np.zeros(len(self.line), dtype=int)])
        ring_part_g = np.concatenate([ring_part, np.full(len(self.line), -1)])
        rings = np.concatenate([rings, self.ll[self.line]])
        order = np.argsort(ring_haz, kind="stable")
        self.ring = rings[order]
        self.ring_haz = ring_haz[order]
        self.ring_hole = ring_hole[order]
        self.ring_partno = ring_partno[order]
        self.ring_part = ring_part_g[order]
        self.ring_multi = self.type[self.ring_haz] == "MultiPolygon"
        c, ci = shapely.get_coordinates(self.ring, return_index=True)
        self.o_x, self.o_y, self.o_ring = c[:, 0], c[:, 1], ci
        self.o_start = np.searchsorted(ci, np.arange(len(self.ring)))
        self.o_count = np.bincount(ci, minlength=len(self.ring))

        # The same rings densified, flattened, with each hazard's vertices contiguous.
        dense = shapely.segmentize(self.ring, DENS_DEG)
        c, ci = shapely.get_coordinates(dense, return_index=True)
        self.v_lon, self.v_lat, self.v_ring = c[:, 0], c[:, 1], ci
        haz_of_v = self.ring_haz[ci]
        self.h_v0 = np.searchsorted(haz_of_v, np.arange(n), side="left")
        self.h_v1 = np.searchsorted(haz_of_v, np.arange(n), side="right")
        self.ring_v0 = np.searchsorted(ci, np.arange(len(self.ring)), side="left")
        self.ring_v1 = np.searchsorted(ci, np.arange(len(self.ring)), side="right")
        self.seg_max_m = DENS_DEG * 111_700.0

        # The screening plane.
        b = shapely.total_bounds(self.ll)
        self.plane_crs = f"+proj=laea +lat_0={(b[1] + b[3]) / 2:.3f} +lon_0={(b[0] + b[2]) / 2:.3f} +ellps=WGS84 +units=m"
        self.to_plane = pyproj.Transformer.from_crs("EPSG:4326", self.plane_crs, always_xy=True)
        pd = shapely.segmentize(self.ll, PLANE_DENS_DEG)
        self.plane = shapely.transform(pd, lambda xy: np.column_stack(self.to_plane.transform(xy[:, 0], xy[:, 1])))
        self.plane_boundary = self.plane.copy()
        self.plane_boundary[self.poly] = shapely.boundary(self.plane[self.poly])
        self.tree = shapely.STRtree(self.plane_boundary)
        self.check_plane()

    def check_plane(self):
        """Checks that the screening plane's distances are within PLANE_REL of geodesic ones."""
        rng = np.random.default_rng(2)
        b = shapely.total_bounds(self.ll)
        lon = rng.uniform(b[0], b[2], 2000)
        lat = rng.uniform(b[1], b[3], 2000)
        az = rng.uniform(0, 360, 2000)
        d = rng.uniform(1, 60_000, 2000)
        lon2, lat2, _ = GEOD.fwd(lon, lat, az, d)
        x1, y1 = self.to_plane.transform(lon, lat)
        x2, y2 = self.to_plane.transform(lon2, lat2)
        rel = np.abs(np.hypot(np.asarray(x2) - x1, np.asarray(y2) - y1) / d - 1)
        self.plane_rel_seen = float(rel.max())
        if self.plane_rel_seen > PLANE_REL / 2:
            raise SystemExit(f"oracle self-check: the screening plane is off by {self.plane_rel_seen:.4%}")

    def plane_xy(self, lon, lat):
        """Places in the screening plane."""
        x, y = self.to_plane.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def exact_raw(self, plon, plat, h, reach):
        """Geodesic distance in metres from each place (plon, plat) to hazard h: to the centre of
        a spot, to a line, to the boundary of a polygon (inside or not). Only the parts of the
        outline within about `reach` metres are considered; inf when none is."""
        plon = np.asarray(plon, dtype=float)
        plat = np.asarray(plat, dtype=float)
        h = np.asarray(h)
        out = np.full(len(h), np.inf)
        spot = self.kind[h] == SPOT
        if spot.any():
            out[spot] = np.asarray(GEOD.inv(plon[spot], plat[spot], self.cx[h[spot]], self.cy[h[spot]])[2])
        idx = np.nonzero(~spot)[0]
        # In chunks, so that the vertex arrays stay small.
        chunk = 20_000
        for k in range(0, len(idx), chunk):
            self._exact_rings(plon, plat, h, np.asarray(reach, dtype=float), idx[k : k + chunk], out)
        return out

    def _exact_rings(self, plon, plat, h, reach, idx, out):
        hh = h[idx]
        cnt = self.h_v1[hh] - self.h_v0[hh]
        rep = np.repeat(idx, cnt)
        first = np.repeat(self.h_v0[hh] - (np.cumsum(cnt) - cnt), cnt)
        vi = np.arange(int(cnt.sum())) + first
        # A generous local filter: keep vertices within the reach plus a segment's length, by an
        # equirectangular estimate (good to about 1 % within 60 km), with a wide margin.
        kx = 111_320.0 * np.cos(np.radians(plat[rep]))
        dx = (self.v_lon[vi] - plon[rep]) * kx
        dy = (self.v_lat[vi] - plat[rep]) * 110_574.0
        lim = (reach[rep] + self.seg_max_m) * 1.05 + 20.0
        keep = dx * dx + dy * dy <= lim * lim
        ring = self.v_ring[vi]
        start = np.ones(len(vi), dtype=bool)
        start[1:] = (rep[1:] != rep[:-1]) | (ring[1:] != ring[:-1]) | ~keep[:-1]
        grp = np.cumsum(start) - 1
        grp, vi, rep = grp[keep], vi[keep], rep[keep]
        if len(grp) == 0:
            return
        _, inv, counts = np.unique(grp, return_inverse=True, return_counts=True)
        two = counts[inv] >= 2
        grp, vi, rep = grp[two], vi[two], rep[two]
        if len(grp) == 0:
            return
        _, g = np.unique(grp, return_inverse=True)
        x, y = aeqd_xy(plon[rep], plat[rep], self.v_lon[vi], self.v_lat[vi])
        lines = shapely.linestrings(np.column_stack([x, y]), indices=g)
        d = shapely.distance(shapely.points(0.0, 0.0), lines)
        gstart = np.searchsorted(g, np.arange(len(lines)))
        np.minimum.at(out, rep[gstart], d)

    def polys_containing(self, lon, lat):
        """Pairs (place, hazard) of places covered by polygon hazards (boundary included)."""
        q = self.tree_poly_ll.query(shapely.points(lon, lat), predicate="intersects")
        return q[0], self.poly[q[1]]


def _running_count(keys):
    """For a sorted key array, the position of each element within its run of equal keys."""
    keys = np.asarray(keys)
    if len(keys) == 0:
        return np.zeros(0, dtype=int)
    start = np.ones(len(keys), dtype=bool)
    start[1:] = keys[1:] != keys[:-1]
    run_first = np.maximum.accumulate(np.where(start, np.arange(len(keys)), 0))
    return np.arange(len(keys)) - run_first


def sample_inside(polys, rng):
    """One uniform random place strictly inside each polygon, by rejection from its bounding box."""
    n = len(polys)
    x = np.empty(n)
    y = np.empty(n)
    todo = np.arange(n)
    b = shapely.bounds(polys)
    for _ in range(1000):
        if len(todo) == 0:
            break
        tx = rng.uniform(b[todo, 0], b[todo, 2])
        ty = rng.uniform(b[todo, 1], b[todo, 3])
        ok = shapely.contains_xy(polys[todo], tx, ty)
        x[todo[ok]], y[todo[ok]] = tx[ok], ty[ok]
        todo = todo[~ok]
    if len(todo):
        raise SystemExit(f"oracle: could not sample inside {len(todo)} polygons")
    return x, y


def pick_vertices(hz, rings, rng):
    """A random vertex (not the closing repeat) of each given ring; returns x, y."""
    closed = hz.kind[hz.ring_haz[rings]] == POLY
    cnt = np.where(closed, hz.o_count[rings] - 1, hz.o_count[rings])
    j = (rng.random(len(rings)) * cnt).astype(int)
    k = hz.o_start[rings] + j
    return hz.o_x[k].copy(), hz.o_y[k].copy()


def pick_on_edges(hz, rings, rng):
    """A random place interpolated along a random edge of each ring: a + t (b - a) in floats.
    Returns x, y and the index of the edge's first vertex."""
    cnt = hz.o_count[rings] - 1
    j = (rng.random(len(rings)) * cnt).astype(int)
    k = hz.o_start[rings] + j
    t = rng.random(len(rings))
    ax, ay, bx, by = hz.o_x[k], hz.o_y[k], hz.o_x[k + 1], hz.o_y[k + 1]
    return ax + t * (bx - ax), ay + t * (by - ay), k


def exact_side(hz, k, x, y):
    """Which side of the edge from vertex k to k + 1 each place lies on, in exact rational
    arithmetic: 0 exactly on its line, else the sign of the orientation."""
    out = np.empty(len(k), dtype=int)
    for i, (kk, px, py) in enumerate(zip(k.tolist(), np.asarray(x).tolist(), np.asarray(y).tolist())):
        ax, ay = Fraction(hz.o_x[kk]), Fraction(hz.o_y[kk])
        bx, by = Fraction(hz.o_x[kk + 1]), Fraction(hz.o_y[kk + 1])
        o = (bx - ax) * (Fraction(py) - ay) - (by - ay) * (Fraction(px) - ax)
        out[i] = (o > 0) - (o < 0)
    return out


def make_points(hz, total, rng):
    """The test places: lon, lat, a category name for each, the hazard it was made from (-1 for
    none) and, for places made on a polygon edge, the index of the edge's first vertex (else -1)."""
    cats = []

    def add(name, x, y, src, edge=None):
        edge = np.full(len(x), -1) if edge is None else np.asarray(edge)
        cats.append((name, np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(src), edge))

    poly_rings = np.nonzero(hz.kind[hz.ring_haz] == POLY)[0]
    shells = poly_rings[~hz.ring_hole[poly_rings] & ~hz.ring_multi[poly_rings]]
    holes = poly_rings[hz.ring_hole[poly_rings]]
    multi = poly_rings[hz.ring_multi[poly_rings]]
    if len(holes) == 0 or len(multi) == 0:
        raise SystemExit("oracle: the data set has no polygon with a hole or no multipolygon; use more areas")
    for name, pool, n in (("vertex", shells, 1500), ("vertex-hole", holes, 500), ("vertex-multipart", multi, 500)):
        r = rng.choice(pool, n)
        x, y = pick_vertices(hz, r, rng)
        add(name, x, y, hz.ring_haz[r])
    for name, pool, n in (("edge", shells, 1500), ("edge-hole", holes, 500), ("edge-multipart", multi, 500)):
        r = rng.choice(pool, n)
        x, y, k = pick_on_edges(hz, r, rng)
        add(name, x, y, hz.ring_haz[r], k)

    # Midpoints of edges that floating point gives exactly (checked in rational arithmetic).
    r = rng.choice(poly_rings, 8000)
    j = (rng.random(len(r)) * (hz.o_count[r] - 1)).astype(int)
    k = hz.o_start[r] + j
    x = (hz.o_x[k] + hz.o_x[k + 1]) / 2
    y = (hz.o_y[k] + hz.o_y[k + 1]) / 2
    exact = np.array([
        Fraction(mx) * 2 == Fraction(ax) + Fraction(bx) and Fraction(my) * 2 == Fraction(ay) + Fraction(by)
        for mx, my, ax, ay, bx, by in zip(x.tolist(), y.tolist(), hz.o_x[k].tolist(), hz.o_y[k].tolist(),
                                          hz.o_x[k + 1].tolist(), hz.o_y[k + 1].tolist())
    ])
    sel = np.nonzero(exact)[0][:1000]
    add("edge-midpoint", x[sel], y[sel], hz.ring_haz[r[sel]], k[sel])

    # Inside holes: the hole ring as a polygon.
    r = rng.choice(holes, 1500)
    hp = shapely.polygons(hz.ring[r])
    x, y = sample_inside(hp, rng)
    add("in-hole", x, y, hz.ring_haz[r])

    # Inside each part of multipolygons, alternating parts.
    mp = np.nonzero(hz.type[hz.part_haz] == "MultiPolygon")[0]
    p0 = mp[hz.part_no[mp] == 0]
    p1 = mp[hz.part_no[mp] == 1]
    sel = np.concatenate([rng.choice(p0, 750), rng.choice(p1, 750)])
    x, y = sample_inside(hz.parts[sel], rng)
    add("in-multipart", x, y, hz.part_haz[sel])

    # Spots: inside, exactly at the centre, and within a metre or two of the edge.
    s = rng.choice(hz.spot, 2500)
    d = hz.off[s] * np.sqrt(rng.random(len(s))) * 0.995
    x, y, _ = GEOD.fwd(hz.cx[s], hz.cy[s], rng.uniform(0, 360, len(s)), d)
    add("in-spot", x, y, s)
    s = rng.choice(hz.spot, 500)
    add("spot-centre", hz.cx[s], hz.cy[s], s)
    s = rng.choice(hz.spot, 500)
    d = np.maximum(hz.off[s] + rng.normal(0, 1.0, len(s)), 0.0)
    x, y, _ = GEOD.fwd(hz.cx[s], hz.cy[s], rng.uniform(0, 360, len(s)), d)
    add("spot-edge", x, y, s)

    # Lines: on a random edge, moved sideways by up to the half width; exactly on vertices;
    # and within a metre or two of the half width.
    line_rings = np.nonzero(hz.kind[hz.ring_haz] == LINE)[0]
    for name, n, side in (("in-line", 2500, "in"), ("line-edge", 500, "edge")):
        r = rng.choice(line_rings, n)
        # The bearing of the edge the place is on, then a sideways move.
        cnt = hz.o_count[r] - 1
        j = (rng.random(n) * cnt).astype(int)
        k = hz.o_start[r] + j
        ax, ay = hz.o_x[k], hz.o_y[k]
        bx, by = hz.o_x[k + 1], hz.o_y[k + 1]
        t = rng.random(n)
        px, py = ax + t * (bx - ax), ay + t * (by - ay)
        az = np.asarray(GEOD.inv(ax, ay, bx, by)[0])
        az = az + np.where(rng.random(n) < 0.5, 90.0, -90.0)
        half = hz.off[hz.ring_haz[r]]
        if side == "in":
            d = half * rng.random(n) * 0.995
        else:
            d = np.maximum(half + rng.normal(0, 1.0, n), 0.0)
        x, y, _ = GEOD.fwd(px, py, az, d)
        add(name, x, y, hz.ring_haz[r])
    r = rng.choice(line_rings, 500)
    x, y = pick_vertices(hz, r, rng)
    add("line-vertex", x, y, hz.ring_haz[r])

    # Far from all data: the Black Sea south of Crimea and west of it.
    n = 1000
    add("far", rng.uniform(30.8, 34.5, n), rng.uniform(42.6, 43.6, n), np.full(n, -1))

    # At sea off Odesa and west of Crimea: ten to a hundred kilometres from the nearest data.
    add("sea", rng.uniform(30.5, 32.3, n), rng.uniform(44.5, 45.9, n), np.full(n, -1))

    # Ten to sixty kilometres from a hazard.
    h = rng.integers(0, len(hz.ids), 1000)
    x0, y0 = _anchor(hz, h, rng)
    x, y, _ = GEOD.fwd(x0, y0, rng.uniform(0, 360, len(h)), rng.uniform(10_000, 60_000, len(h)))
    add("mid", x, y, h)

    used = sum(len(c[1]) for c in cats)
    rest = total - used
    # Near hazards: half uniform in a hazard's box widened by 300 m, half at a random distance
    # (mostly within a kilometre or two, up to eight) from one of its vertices.
    h = rng.integers(0, len(hz.ids), rest // 2)
    b = shapely.bounds(hz.ll[h])
    mx = 300.0 / (111_320.0 * np.cos(np.radians(b[:, 1])))
    my = 300.0 / 110_574.0
    x = rng.uniform(b[:, 0] - mx, b[:, 2] + mx)
    y = rng.uniform(b[:, 1] - my, b[:, 3] + my)
    add("near-box", x, y, h)
    h = rng.integers(0, len(hz.ids), rest - rest // 2)
    x0, y0 = _anchor(hz, h, rng)
    d = np.minimum(rng.exponential(900.0, len(h)), 8000.0)
    x, y, _ = GEOD.fwd(x0, y0, rng.uniform(0, 360, len(h)), d)
    add("near", x, y, h)

    names = np.concatenate([np.full(len(c[1]), c[0]) for c in cats])
    lon = np.concatenate([c[1] for c in cats])
    lat = np.concatenate([c[2] for c in cats])
    src = np.concatenate([c[3] for c in cats])
    edge = np.concatenate([c[4] for c in cats])
    return lon, lat, names, src, edge


def _anchor(hz, h, rng):
    """A vertex of each hazard h (the centre of a spot)."""
    x = hz.cx[h].copy()
    y = hz.cy[h].copy()
    ring_hazard = ~np.isin(h, hz.spot)
    hh = h[ring_hazard]
    v = hz.h_v0[hh] + (rng.random(len(hh)) * (hz.h_v1[hh] - hz.h_v0[hh])).astype(int)
    x[ring_hazard], y[ring_hazard] = hz.v_lon[v], hz.v_lat[v]
    return x, y


def run_cairn(cairn, db, csv_path):
    """Runs `cairn check points`; returns one parsed answer per place."""
    cmd = [cairn, "--db", db, "check", "points", csv_path, "--json", "--status", ALL_STATUSES]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"cairn check points failed with {p.returncode}: {p.stderr.strip()}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def oracle_nearest(hz, lon, lat, px, py, which, cairn_ids):
    """The oracle's nearest hazards for the places `which`: for each, the least effective distance
    (0 inside a spot or line, else geodesic distance less radius or half width; inf when surely
    farther than 50 km), the hazard at that distance, every hazard within tolerance of it, and
    the effective distance to Cairn's pick."""
    n = len(which)
    best = np.full(n, np.inf)
    ties = [[] for _ in range(n)]
    to_cairn = np.full(n, np.nan)
    pts = shapely.points(px[which], py[which])
    nq, nd = hz.tree.query_nearest(pts, return_distance=True)
    upper = np.full(n, np.inf)
    np.minimum.at(upper, nq[0], np.maximum(nd - hz.off[nq[1]], 0.0) * (1 + PLANE_REL) + 1.0)
    lower_any = np.full(n, np.inf)
    np.minimum.at(lower_any, nq[0], nd)
    # A hazard can be nearest only if its plane distance is within reach of the upper bound.
    reach = upper * (1 + 2 * PLANE_REL) + 2.0 + hz.max_off * (1 + PLANE_REL)
    hopeless = (lower_any - hz.max_off) * (1 - PLANE_REL) - 1.0 > NEAREST_LIMIT_M + 100.0
    live = np.nonzero(~hopeless)[0]
    q = hz.tree.query(pts[live], predicate="dwithin", distance=reach[live])
    qi, qh = live[q[0]], q[1]
    raw_plane = shapely.distance(pts[qi], hz.plane_boundary[qh])
    eff_lo = np.maximum(raw_plane * (1 - PLANE_REL) - 1.0 - hz.off[qh], 0.0)
    eff_hi = np.maximum(raw_plane * (1 + PLANE_REL) + 1.0 - hz.off[qh], 0.0)
    cut = np.full(n, np.inf)
    np.minimum.at(cut, qi, eff_hi)
    keep = eff_lo <= cut[qi]
    # Cairn's pick is always measured too.
    extra_i = [i for i in range(n) if cairn_ids[i] is not None]
    extra_h = np.array([hz.index_of[cairn_ids[i]] for i in extra_i], dtype=int)
    extra_i = np.array(extra_i, dtype=int)
    ci = np.concatenate([qi[keep], extra_i])
    ch = np.concatenate([qh[keep], extra_h])
    cp = shapely.distance(pts[ci], hz.plane_boundary[ch])
    w = which[ci]
    raw = hz.exact_raw(lon[w], lat[w], ch, cp * (1 + 2 * PLANE_REL) + 10.0)
    eff = np.maximum(raw - hz.off[ch], 0.0)
    np.minimum.at(best, ci, eff)
    tol = tol_for(best[ci])
    best_id = [None] * n
    for i, h, e, t in zip(ci.tolist(), ch.tolist(), eff.tolist(), tol.tolist()):
        hid = str(hz.ids[h])
        if e <= best[i] + t and hid not in ties[i]:
            ties[i].append(hid)
        if e == best[i]:
            best_id[i] = hid
        if cairn_ids[i] == hid:
            to_cairn[i] = e
    return best, best_id, ties, to_cairn


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cairn", required=True, help="the cairn binary")
    ap.add_argument("--db", required=True, help="a store holding exactly the areas file's features")
    ap.add_argument("--areas", required=True, help="the GeoJSON the store was imported from")
    ap.add_argument("--workdir", required=True, help="where to write the places file")
    ap.add_argument("--points", type=int, default=102_000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--quick", action="store_true", help="allow fewer places than the issue asks (for trials)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    times = {}

    def lap(name):
        nonlocal t0
        t = time.perf_counter()
        times[name] = t - t0
        t0 = t

    aeqd_err = check_aeqd_against_proj()
    hz = Hazards(args.areas)
    lap("read hazards")
    rng = np.random.default_rng(args.seed)
    lon, lat, cat, src, edge = make_points(hz, args.points, rng)
    n = len(lon)
    csv_path = f"{args.workdir}/points.csv"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write("lon,lat\n")
        f.writelines(f"{x!r},{y!r}\n" for x, y in zip(lon.tolist(), lat.tolist()))
    lap("make places")
    answers = run_cairn(args.cairn, args.db, csv_path)
    lap("cairn check points")
    if len(answers) != n:
        print(f"FAIL: cairn answered {len(answers)} places of {n}")
        return 1

    problems = []
    lon_l, lat_l = lon.tolist(), lat.tolist()

    def problem(i, what):
        problems.append(f"place {i} ({cat[i]}, from {hz.ids[src[i]] if src[i] >= 0 else '-'}) "
                        f"[{lon_l[i]!r}, {lat_l[i]!r}]: {what}")

    # Cairn's answers.
    c_inside = [frozenset(h["id"] for h in a["inside"]) for a in answers]
    c_near = [a["nearest"] for a in answers]
    for i, a in enumerate(answers):
        if a["point"] != [lon_l[i], lat_l[i]]:
            problem(i, f"cairn echoed the place as {a['point']}")

    # Oracle containment: polygons exactly; spots and lines by exact geodesic distance.
    pi, ph = hz.polys_containing(lon, lat)
    o_poly = [set() for _ in range(n)]
    for i, h in zip(pi.tolist(), ph.tolist()):
        o_poly[i].add(hz.ids[h])
    px, py = hz.plane_xy(lon, lat)
    sl = np.concatenate([hz.spot, hz.line])
    tree_sl = shapely.STRtree(hz.plane_boundary[sl])
    ppts = shapely.points(px, py)
    q = tree_sl.query(ppts, predicate="dwithin", distance=(hz.max_off + 2.0) * (1 + PLANE_REL) + 2.0)
    qi, qh = q[0], sl[q[1]]
    rp = shapely.distance(ppts[qi], hz.plane_boundary[qh])
    near = rp * (1 - PLANE_REL) - 1.0 <= hz.off[qh] + 1.0
    qi, qh, rp = qi[near], qh[near], rp[near]
    signed = hz.exact_raw(lon[qi], lat[qi], qh, rp * (1 + 2 * PLANE_REL) + 10.0) - hz.off[qh]
    o_def = [set(s) for s in o_poly]
    o_pos = [set(s) for s in o_poly]
    o_sl_exact = [set() for _ in range(n)]
    for i, h, s in zip(qi.tolist(), qh.tolist(), signed.tolist()):
        if s <= -TOL_M:
            o_def[i].add(hz.ids[h])
        if s <= TOL_M:
            o_pos[i].add(hz.ids[h])
        if s <= 0:
            o_sl_exact[i].add(hz.ids[h])
    lap("oracle containment")

    # Places made on edges: exactly on them (rational arithmetic) means inside, boundary included.
    on_edge = np.nonzero(edge >= 0)[0]
    side = exact_side(hz, edge[on_edge], lon[on_edge], lat[on_edge])
    for i, sd in zip(on_edge.tolist(), side.tolist()):
        k = edge[i]
        between = (min(hz.o_x[k], hz.o_x[k + 1]) <= lon[i] <= max(hz.o_x[k], hz.o_x[k + 1])
                   and min(hz.o_y[k], hz.o_y[k + 1]) <= lat[i] <= max(hz.o_y[k], hz.o_y[k + 1]))
        if sd == 0 and between and hz.ids[src[i]] not in c_inside[i]:
            problem(i, f"exactly on an edge of {hz.ids[src[i]]} (rational arithmetic) but cairn finds it "
                       f"inside {sorted(c_inside[i])}")
    exactly_on = int(np.sum(side == 0))

    borderline = 0
    borderline_exact = 0
    poly_kind = {hz.ids[h] for h in hz.poly}
    for i in range(n):
        c = c_inside[i]
        cp = {h for h in c if h in poly_kind}
        if cp != o_poly[i]:
            problem(i, f"polygons containing it: cairn {sorted(cp)}, oracle (GEOS covers) {sorted(o_poly[i])}")
        if not (o_def[i] - o_poly[i]) <= c or not c <= o_pos[i] | o_poly[i]:
            problem(i, f"spot/line hazards containing it: cairn {sorted(c - cp)}, oracle surely "
                       f"{sorted(o_def[i] - o_poly[i])}, possibly {sorted(o_pos[i] - o_poly[i])}")
        if o_def[i] != o_pos[i]:
            borderline += 1
            if c == o_poly[i] | o_sl_exact[i]:
                borderline_exact += 1
        if c:
            nn = c_near[i]
            if nn is None or nn["id"] != min(c) or nn["distance_m_exact"] != 0.0:
                problem(i, f"inside {sorted(c)} but nearest is {nn}")

    # Oracle nearest for every place Cairn finds in no hazard.
    which = np.array([i for i in range(n) if not c_inside[i]], dtype=int)
    cids = [c_near[i]["id"] if c_near[i] else None for i in which]
    best, best_id, ties, to_cairn = oracle_nearest(hz, lon, lat, px, py, which, cids)
    lap("oracle nearest")
    errs = []
    far_rel = []
    null_ok = 0
    tie_accepted = 0
    tie_other = 0
    for k, i in enumerate(which.tolist()):
        o = float(best[k])
        nn = c_near[i]
        if nn is None:
            if o <= NEAREST_LIMIT_M - float(tol_for(NEAREST_LIMIT_M)):
                problem(i, f"cairn finds no hazard within 50 km; the oracle's nearest {ties[k]} is {o:.3f} m away")
            else:
                null_ok += 1
            continue
        d = nn["distance_m_exact"]
        if not math.isfinite(o) or o > NEAREST_LIMIT_M + float(tol_for(NEAREST_LIMIT_M)):
            problem(i, f"cairn's nearest is {nn['id']} at {d} m; the oracle finds none within 50 km (least {o})")
            continue
        t = float(tol_for(o))
        if abs(d - o) > t:
            problem(i, f"nearest distance: cairn {nn['id']} {d!r} m, oracle {ties[k]} {o!r} m (error {d - o:+.4f} m)")
        if o <= TOL_RANGE_M:
            errs.append(d - o)
        else:
            far_rel.append(abs(d - o) / o)
        if nn["id"] not in ties[k]:
            problem(i, f"nearest hazard: cairn {nn['id']} at {d!r} m (oracle measures it at {float(to_cairn[k])!r} m), "
                       f"oracle {ties[k]} at {o!r} m")
        elif len(ties[k]) > 1:
            tie_accepted += 1
            if nn["id"] != best_id[k] and to_cairn[k] > o:
                tie_other += 1
    lap("compare")

    # The minimum counts.
    if not args.quick:
        count = lambda *names: int(np.isin(cat, names).sum())  # noqa: E731
        for what, have, need in (
            ("places", n, 100_000),
            ("places on vertices", count("vertex", "vertex-hole", "vertex-multipart"), 2000),
            ("places interpolated on edges", count("edge", "edge-hole", "edge-multipart"), 2000),
            ("places inside holes", count("in-hole"), 1000),
            ("places in multipolygon parts", count("in-multipart"), 1000),
            ("places inside spot or line hazards", sum(1 for s_ in o_sl_exact if s_), 5000),
        ):
            if have < need:
                problems.append(f"too few {what}: {have}, the issue asks for at least {need}")

    # The report.
    errs = np.abs(np.array(errs)) if errs else np.zeros(1)
    far_rel = np.array(far_rel) if far_rel else np.zeros(1)
    print(f"places checked: {n}")
    print("  by kind (places; cairn finds inside any hazard; inside the hazard it was made from):")
    for name in dict.fromkeys(cat.tolist()):
        m = np.nonzero(cat == name)[0]
        ins = sum(1 for i in m if c_inside[i])
        own = sum(1 for i in m if src[i] >= 0 and hz.ids[src[i]] in c_inside[i])
        print(f"    {name:<17} {len(m):>7} {ins:>7} {own:>7}")
    in_sl = sum(1 for s in o_sl_exact if s)
    print(f"  places made on polygon edges: {len(on_edge)}, exactly on the edge in rational arithmetic "
          f"{exactly_on}, a hair to one side {len(on_edge) - exactly_on} (cairn and GEOS must agree on every one)")
    print(f"  inside a spot or line hazard (oracle, exact): {in_sl}; borderline (within {TOL_M} m of "
          f"a radius or half width, compared loosely): {borderline}, of which cairn agrees with the "
          f"exact oracle on {borderline_exact}")
    print(f"  nearest measured: {len(which)} places outside every hazard; nearest = null agreed: {null_ok}; "
          f"two or more hazards within tolerance of the least distance: {tie_accepted} (cairn picked "
          f"one the oracle finds farther: {tie_other})")
    print(f"  distance error up to 10 km ({len(errs)} places): max {errs.max():.6f} m, "
          f"99.9 % {np.quantile(errs, 0.999):.6f} m, median {np.median(errs):.2e} m")
    print(f"  relative distance error 10 to 50 km ({len(far_rel) if far_rel.any() else 0} places): "
          f"max {far_rel.max():.2e}, median {np.median(far_rel):.2e}")
    print(f"  oracle self-checks: aeqd vs PROJ {aeqd_err:.1e} m; screening plane off by at most "
          f"{hz.plane_rel_seen:.3%}")
    print("  times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"  processor time: oracle {time.process_time():.1f} s, cairn {ru.ru_utime + ru.ru_stime:.1f} s")
    if problems:
        print(f"FAIL: {len(problems)} disagreements; the first 50:")
        for p in problems[:50]:
            print("  " + p)
        return 1
    print("OK: cairn check points agrees with the oracle")
    return 0


if __name__ == "__main__":
    sys.exit(main())

// Offline use of the public map: keeping an area (a village and its fields) on the phone, and
// answering place checks and walk warnings from what was kept when the service cannot be reached.
//
// What is kept, in the Cache Storage the service worker (web/sw.js) reads from:
// - the hazards of the area and of a margin around it, as the OGC API gives them to the public
//   (footprints: every spot and corridor already drawn outward as a polygon; danger zones for
//   restricted records), with the date of the data;
// - the hazard tiles and the base-map tiles of the area at every zoom the map asks for, and the
//   TileJSON documents naming them, so the map draws the area offline as it did online.
//
// The checks here are the service's rules applied to those footprints: a place is inside a
// hazard when a footprint contains it (boundary included), near one when its distance is within
// the accuracy. Distances are measured on a local plane at the place, with the plane's scale
// taken from the WGS 84 ellipsoid and then shortened by 1 %, so a distance is never
// overstated: an answer from kept data may warn a little early, never late.

export const KEPT_CACHE = 'cairn-kept-v1';
const KEPT_INFO = '/offline/kept-area.json';
const KEPT_FEATURES = '/offline/kept-hazards.json';

/// The largest area one may keep, in km² (about a district's villages and fields).
export const MAX_KEEP_KM2 = 400;
/// Hazards are kept this far beyond the chosen area, so that a place near its edge still learns
/// of a hazard just outside, and "nearest" answers make sense.
export const MARGIN_M = 2000;
/// The deepest zoom kept; the map draws deeper zooms from these tiles.
const MAX_KEEP_ZOOM = 16;
/// The most tiles one keep may fetch (hazards and base map together).
const MAX_KEEP_TILES = 1500;
/// Nearest hazards farther than this are not named (as the service: 50 km).
const NEAREST_MAX_M = 50_000;

const rad = Math.PI / 180;

// Metres per degree of latitude and of longitude at latitude `lat` (WGS 84), shortened by 1 %.
function scale(lat) {
  const f = lat * rad;
  const my = 111132.954 - 559.822 * Math.cos(2 * f) + 1.175 * Math.cos(4 * f);
  const mx = 111412.84 * Math.cos(f) - 93.5 * Math.cos(3 * f) + 0.118 * Math.cos(5 * f);
  return [mx * 0.99, my * 0.99];
}

// The polygons of a GeoJSON geometry, each a list of rings of [lon, lat].
function polygonsOf(g) {
  if (!g) return [];
  if (g.type === 'Polygon') return [g.coordinates];
  if (g.type === 'MultiPolygon') return g.coordinates;
  if (g.type === 'GeometryCollection') return g.geometries.flatMap(polygonsOf);
  return [];
}

// Even-odd test of a point against rings on the plane (boundary counts as inside via distance).
function ringContains(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Distance from the origin to the segment a–b, and the nearest point, on the plane.
function segmentNearest(a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let k = len2 > 0 ? -(a[0] * dx + a[1] * dy) / len2 : 0;
  k = Math.max(0, Math.min(1, k));
  const p = [a[0] + k * dx, a[1] + k * dy];
  return { d: Math.hypot(p[0], p[1]), p };
}

// Where a hazard lies from a place: { inside, distance_m, bearing_deg } (distance 0 inside).
export function relation(feature, lon, lat) {
  const [mx, my] = scale(lat);
  const plane = (c) => [(c[0] - lon) * mx, (c[1] - lat) * my];
  let best = { d: Infinity, p: [0, 0] };
  let inside = false;
  for (const poly of polygonsOf(feature.geometry)) {
    const rings = poly.map((r) => r.map(plane));
    let inPoly = rings.length > 0 && ringContains(rings[0], 0, 0);
    for (let k = 1; k < rings.length && inPoly; k++) if (ringContains(rings[k], 0, 0)) inPoly = false;
    if (inPoly) inside = true;
    for (const ring of rings) {
      for (let i = 0; i + 1 < ring.length; i++) {
        const s = segmentNearest(ring[i], ring[i + 1]);
        if (s.d < best.d) best = s;
      }
    }
  }
  if (best.d === Infinity) return null;
  // On the boundary counts as inside (as the service: boundary included).
  if (best.d < 0.01) inside = true;
  const bearing = (Math.atan2(best.p[0], best.p[1]) / rad + 360) % 360;
  return { inside, distance_m: inside ? 0 : best.d, bearing_deg: Math.round(bearing * 10) / 10 };
}

function idOf(f) {
  return f.properties?.id ?? f.id;
}
function statusOf(f) {
  const p = f.properties || {};
  return p.kind === 'danger-zone' ? 'danger-zone' : (p.status || 'danger-zone');
}

// A place check answered from kept hazards, shaped as the service's answer (interfaces.md).
export function checkKept(kept, lon, lat, accuracy) {
  const inside = [];
  const near = [];
  let nearest = null;
  for (const f of kept.features) {
    const r = relation(f, lon, lat);
    if (!r) continue;
    const hit = { id: idOf(f), status: statusOf(f) };
    if (r.inside) inside.push(hit);
    else if (r.distance_m <= accuracy) near.push({ ...hit, distance_m: Math.round(r.distance_m * 10) / 10 });
    if (!r.inside && r.distance_m <= NEAREST_MAX_M && (!nearest || r.distance_m < nearest.distance_m)) {
      nearest = { ...hit, distance_m: Math.round(r.distance_m * 10) / 10, bearing_deg: r.bearing_deg };
    }
  }
  near.sort((a, b) => a.distance_m - b.distance_m);
  return {
    point: [lon, lat],
    accuracy_m: accuracy,
    inside,
    within_accuracy: near,
    nearest,
    data_date: kept.dataDate,
    offline: true,
    kept_at: kept.keptAt,
  };
}

// True when the kept area (with its margin) covers a place and the circle around it.
export function covers(kept, lon, lat, radius = 0) {
  if (!kept) return false;
  const [mx, my] = scale(lat);
  const [w, s, e, n] = kept.box;
  return lon - radius / mx >= w && lon + radius / mx <= e && lat - radius / my >= s && lat + radius / my <= n;
}

// Tiles (z, x, y) of a box at zoom z.
function tilesOf(box, z) {
  const n = 2 ** z;
  const tx = (lon) => Math.min(n - 1, Math.max(0, Math.floor(((lon + 180) / 360) * n)));
  const ty = (lat) => {
    const f = Math.max(-85.0511, Math.min(85.0511, lat)) * rad;
    return Math.min(n - 1, Math.max(0, Math.floor(((1 - Math.log(Math.tan(f) + 1 / Math.cos(f)) / Math.PI) / 2) * n)));
  };
  const out = [];
  for (let x = tx(box[0]); x <= tx(box[2]); x++) {
    for (let y = ty(box[3]); y <= ty(box[1]); y++) out.push([z, x, y]);
  }
  return out;
}

// The area of a box in km².
export function boxKm2(box) {
  const [mx, my] = scale((box[1] + box[3]) / 2);
  return ((box[2] - box[0]) * mx * (box[3] - box[1]) * my) / 0.99 / 0.99 / 1e6;
}

// A box grown by `m` metres on every side.
function grow(box, m) {
  const [mx, my] = scale((box[1] + box[3]) / 2);
  return [box[0] - m / mx, box[1] - m / my, box[2] + m / mx, box[3] + m / my];
}

async function fetchOk(url) {
  const r = await fetch(url, { cache: 'no-cache' });
  if (!r.ok) throw new Error(`${new URL(url).pathname}: ${r.status} ${r.statusText}`);
  return r;
}

// Every public hazard in a box, following `next` links.
async function hazardsIn(box) {
  const features = [];
  let matched = 0;
  let url = new URL(`/ogc/collections/hazardous-areas/items?limit=10000&bbox=${box.map((v) => v.toFixed(6)).join(',')}`, location.href).href;
  for (let page = 0; url; page++) {
    if (page >= 20) throw new Error('too many hazards in this area to keep');
    const j = await (await fetchOk(url)).json();
    matched = j.numberMatched ?? features.length + j.features.length;
    features.push(...j.features);
    const next = (j.links || []).find((l) => l.rel === 'next');
    url = next ? next.href : null;
  }
  if (features.length < matched) throw new Error('not every hazard of the area could be fetched');
  return features;
}

// The tile URLs a TileJSON names for a box, at its zooms up to MAX_KEEP_ZOOM.
function tileUrls(tilejson, box) {
  const template = tilejson?.tiles?.[0];
  if (!template) return [];
  const minz = Math.max(0, tilejson.minzoom ?? 0);
  const maxz = Math.min(MAX_KEEP_ZOOM, tilejson.maxzoom ?? MAX_KEEP_ZOOM);
  const urls = [];
  for (let z = minz; z <= maxz; z++) {
    for (const [tz, x, y] of tilesOf(box, z)) {
      urls.push(template.replace('{z}', tz).replace('{x}', x).replace('{y}', y));
    }
  }
  return urls;
}

// Keeps an area for offline use: its hazards (with the margin) and the tiles of the map's
// sources for it. `sources` are TileJSON URLs (hazard tiles, base map) the map uses; those
// that do not answer are skipped. Calls `progress(done, total)` as tiles arrive. Replaces any
// area kept before only once everything is stored.
export async function keepArea(box, sources, progress = () => {}) {
  if (!('caches' in window)) throw new Error('this browser cannot store data for offline use');
  const km2 = boxKm2(box);
  if (km2 > MAX_KEEP_KM2) {
    const e = new Error(`the area is ${Math.round(km2)} km²; at most ${MAX_KEEP_KM2} km² can be kept`);
    e.tooLarge = true;
    throw e;
  }
  const wide = grow(box, MARGIN_M);
  const features = await hazardsIn(wide);
  const docs = [];
  let urls = [];
  for (const src of sources) {
    let r;
    try {
      r = await fetch(src, { cache: 'no-cache' });
    } catch (_) {
      continue;
    }
    if (r.status !== 200) continue;
    let tj;
    try {
      tj = await r.clone().json();
    } catch (_) {
      continue;
    }
    docs.push([src, r]);
    urls = urls.concat(tileUrls(tj, box));
  }
  if (urls.length > MAX_KEEP_TILES) {
    const e = new Error(`the area needs ${urls.length} map tiles; at most ${MAX_KEEP_TILES} can be kept`);
    e.tooLarge = true;
    throw e;
  }
  // Everything is fetched into a fresh cache first, then swapped in: a failed keep leaves the
  // area kept before as it was.
  const fresh = `${KEPT_CACHE}-new`;
  await caches.delete(fresh);
  const cache = await caches.open(fresh);
  for (const [src, r] of docs) await cache.put(src, r);
  let done = 0;
  const queue = urls.slice();
  const worker = async () => {
    while (queue.length) {
      const url = queue.shift();
      const r = await fetch(url, { cache: 'no-cache' });
      // An empty tile (204) is stored too: offline, it still means "nothing here".
      if (!r.ok) throw new Error(`${new URL(url).pathname}: ${r.status}`);
      await cache.put(url, r);
      progress(++done, urls.length);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const dataDate = features.map((f) => f.properties?.data_date).find(Boolean) || null;
  const info = { box: wide, view: box, keptAt: new Date().toISOString(), dataDate, hazards: features.length, tiles: urls.length };
  const json = (v) => new Response(JSON.stringify(v), { headers: { 'Content-Type': 'application/json' } });
  await cache.put(KEPT_FEATURES, json({ type: 'FeatureCollection', features }));
  await cache.put(KEPT_INFO, json(info));
  // Swap: copy into the kept cache's name (Cache Storage has no rename).
  await caches.delete(KEPT_CACHE);
  const kept = await caches.open(KEPT_CACHE);
  for (const req of await cache.keys()) await kept.put(req, await cache.match(req));
  await caches.delete(fresh);
  return { ...info, features };
}

// The kept area, or null.
export async function loadKept() {
  if (!('caches' in window)) return null;
  const cache = await caches.open(KEPT_CACHE);
  const info = await cache.match(KEPT_INFO);
  const feats = await cache.match(KEPT_FEATURES);
  if (!info || !feats) return null;
  return { ...(await info.json()), features: (await feats.json()).features };
}

export async function forgetKept() {
  if ('caches' in window) await caches.delete(KEPT_CACHE);
}

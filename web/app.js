// Cairn's public hazard map: draws open hazards over Ukraine's outline and its largest
// settlements, shows a hazard's details on a tap, and checks a place (a tap or the GPS) or a
// route against the service. Everything comes from the Cairn service itself: MapLibre GL JS from
// /vendor, context layers from /data, hazards from the OGC API (or vector tiles when the service
// offers them), checks from /api/check; the base map or the shipped context beneath the hazards
// from basemap.js, its names drawn with the service's own glyphs (/fonts).

import { STRINGS, LANGS, initialLang, saveLang, distance, compass, date } from './i18n.js';
import { keepArea, loadKept, forgetKept, checkKept, covers, boxKm2, MAX_KEEP_KM2 } from './offline.js';
import { basemapIcon, basemapStyle, setBasemapLang } from './basemap.js';

const MAPLIBRE_VERSION = document.querySelector('meta[name="maplibre-version"]').content;
const maplibregl = await import(`/vendor/maplibre-gl.js?v=${encodeURIComponent(MAPLIBRE_VERSION)}`);
maplibregl.setWorkerUrl(new URL(`/vendor/maplibre-gl-worker.js?v=${encodeURIComponent(MAPLIBRE_VERSION)}`, location.href).href);

const abs = (path) => new URL(path, location.href).href;

// Colours of the statuses; the legend in style.css uses the same ones. They differ in lightness
// as well as hue (dark red, orange, light yellow, purple, near-black red), so that people with
// red-green colour blindness tell them apart; suspected areas are also striped, reduced ones
// dotted and danger zones hatched, so that no status is told by colour alone.
const COLOURS = {
  confirmed: '#b2182b',
  suspected: '#f07c1f',
  reduced: '#f2d230',
  reported: '#7b3294',
  'danger-zone': '#5e0014',
};
// Outlines: the same hues, darker where the fill is light.
const EDGES = {
  confirmed: '#7f0015',
  suspected: '#a84a00',
  reduced: '#7a6400',
  reported: '#4d1a60',
  'danger-zone': '#3a000c',
};
const SELECT = '#1d4ed8';
const ROUTE = '#1d4ed8';
const UKRAINE_BOUNDS = [[22.1, 44.3], [40.25, 52.4]];
// Metres per pixel at zoom 0 on the equator (MapLibre's world is 512 pixels wide at zoom 0).
const M_PER_PX_Z0 = 40075016.686 / 512;

const state = {
  lang: initialLang(),
  mode: 'browse', // browse | place | route | report
  source: null, // geojson | tiles, once the map has loaded
  dataDate: null,
  route: [],
  routeResult: null,
  answer: null, // { kind: 'point' | 'route' | 'error' | 'pending', ... } re-rendered on a language switch
  popup: null,
  popupFeatures: null,
  counts: null,
  loaded: null, // the bbox and completeness of the hazards held (GeoJSON mode)
  loadSeq: 0,
  // The report being written: its place, and the last answer (a receipt or an error).
  report: { place: null, sending: false, receipt: null, error: null },
  kept: null, // the area kept for offline use (web/offline.js), once read
  keeping: null, // { done, total } while an area is being kept, or { error }
  offline: false, // the last attempt to reach the service failed
  walk: null, // { watch, last, warned, fix } while "warn me as I walk" is on
};

const $ = (sel) => document.querySelector(sel);
const t = () => STRINGS[state.lang];

// ---------------------------------------------------------------------------------------------
// Elements built safely from text (never from HTML strings: the data is not ours to trust).

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Images made in the page: the danger-zone hatching and text labels (instead of glyphs).

function hatchImage() {
  const ratio = 2;
  const size = 12 * ratio;
  const c = document.createElement('canvas');
  c.width = c.height = size;
  const g = c.getContext('2d');
  g.fillStyle = 'rgba(94, 0, 20, 0.22)';
  g.fillRect(0, 0, size, size);
  g.strokeStyle = 'rgba(94, 0, 20, 0.9)';
  g.lineWidth = 2.2 * ratio;
  g.beginPath();
  for (let k = -size; k <= size * 2; k += size / 2) {
    g.moveTo(k, size);
    g.lineTo(k + size, 0);
  }
  g.stroke();
  return { image: g.getImageData(0, 0, size, size), ratio };
}

// Light stripes over suspected areas and light dots over reduced ones, drawn over their colour.
function patternImage(kind) {
  const ratio = 2;
  const size = 10 * ratio;
  const c = document.createElement('canvas');
  c.width = c.height = size;
  const g = c.getContext('2d');
  g.fillStyle = 'rgba(255, 255, 255, 0.75)';
  g.strokeStyle = 'rgba(255, 255, 255, 0.75)';
  if (kind === 'stripes') {
    g.lineWidth = 1.6 * ratio;
    g.beginPath();
    for (let k = -size; k <= size * 2; k += size / 2) {
      g.moveTo(k, 0);
      g.lineTo(k + size, size);
    }
    g.stroke();
  } else {
    g.fillStyle = 'rgba(90, 70, 0, 0.55)';
    for (const [x, y] of [[0.25, 0.25], [0.75, 0.75]]) {
      g.beginPath();
      g.arc(x * size, y * size, 1.5 * ratio, 0, 2 * Math.PI);
      g.fill();
    }
  }
  return { image: g.getImageData(0, 0, size, size), ratio };
}

function labelImage(text, { bold = false, size = 12, colour = '#1f2933', halo = '#ffffff', box = null } = {}) {
  const ratio = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  const font = `${bold ? '700' : '500'} ${size * ratio}px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif`;
  const c = document.createElement('canvas');
  let g = c.getContext('2d');
  g.font = font;
  const pad = (box ? 5 : 3) * ratio;
  const w = Math.ceil(g.measureText(text).width + pad * 2);
  const h = Math.ceil(size * ratio * 1.35 + pad * (box ? 1.2 : 1));
  c.width = Math.max(1, w);
  c.height = Math.max(1, h);
  g = c.getContext('2d');
  g.font = font;
  g.textBaseline = 'middle';
  g.textAlign = 'center';
  if (box) {
    g.fillStyle = box;
    g.fillRect(0, 0, c.width, c.height);
    g.strokeStyle = '#ffd400';
    g.lineWidth = 1.5 * ratio;
    g.strokeRect(0.75 * ratio, 0.75 * ratio, c.width - 1.5 * ratio, c.height - 1.5 * ratio);
  } else {
    g.lineJoin = 'round';
    g.lineWidth = 3 * ratio;
    g.strokeStyle = halo;
    g.strokeText(text, c.width / 2, c.height / 2);
  }
  g.fillStyle = colour;
  g.fillText(text, c.width / 2, c.height / 2);
  return { image: g.getImageData(0, 0, c.width, c.height), ratio };
}

function addImageOnce(map, id, made) {
  if (map.hasImage(id)) return;
  map.addImage(id, made.image, { pixelRatio: made.ratio });
}

// ---------------------------------------------------------------------------------------------
// Hazard layers. THE SOURCE SWITCH: `hazardSource` is the only place that knows whether hazards
// come as GeoJSON from the OGC API or as vector tiles; the layers below work with either.

const HAZARD_SOURCE = 'hazards';

// Returns the MapLibre source for hazards and the source-layer its layers must name.
function hazardSource(kind, tilejson) {
  if (kind === 'tiles') {
    // Vector tiles (layer "hazards"): every hazard comes as a polygon that covers it, already
    // sized in metres by the server; below the detail zoom, as covering cells. The TileJSON the
    // page already read is given inline, so MapLibre asks for the first tiles at once.
    const spec = { type: 'vector', tiles: tilejson.tiles };
    for (const k of ['minzoom', 'maxzoom', 'bounds']) if (tilejson[k] !== undefined) spec[k] = tilejson[k];
    return { spec, sourceLayer: 'hazards' };
  }
  // GeoJSON from the OGC API, fetched for the view on every move (see loadHazards).
  return {
    spec: { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, tolerance: 0.2 },
    sourceLayer: undefined,
  };
}

// A hazard's status for drawing: restricted records come as danger zones; anything unknown is
// drawn as the most severe.
const STATUS = ['case', ['==', ['get', 'kind'], 'danger-zone'], 'danger-zone', ['coalesce', ['get', 'status'], 'danger-zone']];
const COLOUR = ['match', STATUS, 'confirmed', COLOURS.confirmed, 'suspected', COLOURS.suspected, 'reduced', COLOURS.reduced, 'reported', COLOURS.reported, COLOURS['danger-zone']];
const EDGE = ['match', STATUS, 'confirmed', EDGES.confirmed, 'suspected', EDGES.suspected, 'reduced', EDGES.reduced, 'reported', EDGES.reported, EDGES['danger-zone']];
// Covering cells at low zooms carry how many hazards touch them: the more, the stronger the
// colour, so a region with a few hazards reads differently from one saturated with them. A cell
// of one hazard is still plainly drawn (never below 0.35).
const IS_CELL = ['has', 'count'];
const DENSITY = ['interpolate', ['linear'], ['ln', ['max', 1, ['to-number', ['get', 'count'], 1]]], 0, 0.35, 1.6, 0.55, 3, 0.75, 4.6, 0.95];
const IS_POLYGON = ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false];
const IS_LINE = ['match', ['geometry-type'], ['LineString', 'MultiLineString'], true, false];
const IS_POINT = ['match', ['geometry-type'], ['Point', 'MultiPoint'], true, false];
const IS_ZONE = ['==', STATUS, 'danger-zone'];
const IS_MARKER = ['has', '_marker'];

// A size in pixels that grows with the zoom like a length on the ground: the feature carries
// `key` = its length in pixels at zoom 0 (computed from metres and latitude on load). Two pixels
// are added so a spot never looks smaller than it is.
function metres(key, extra = 2) {
  return ['interpolate', ['exponential', 2], ['zoom'],
    0, ['+', extra, ['get', key]],
    24, ['+', extra, ['*', ['get', key], 2 ** 24]]];
}

function hazardLayers(sourceLayer) {
  const base = { source: HAZARD_SOURCE };
  if (sourceLayer) base['source-layer'] = sourceLayer;
  return [
    { ...base, id: 'hz-fill', type: 'fill', filter: ['all', IS_POLYGON, ['!', IS_ZONE]],
      paint: { 'fill-color': COLOUR, 'fill-opacity': ['interpolate', ['linear'], ['zoom'],
        5, ['case', IS_CELL, DENSITY, 0.75], 12, ['case', IS_CELL, DENSITY, 0.5]] } },
    { ...base, id: 'hz-pattern', type: 'fill', filter: ['all', IS_POLYGON, ['!', IS_CELL], ['match', STATUS, ['suspected', 'reduced'], true, false]],
      paint: { 'fill-pattern': ['match', STATUS, 'suspected', 'stripes', 'dots'] } },
    { ...base, id: 'hz-zone', type: 'fill', filter: ['all', IS_POLYGON, IS_ZONE],
      paint: { 'fill-pattern': 'hatch' } },
    { ...base, id: 'hz-outline', type: 'line', filter: IS_POLYGON,
      paint: { 'line-color': EDGE, 'line-width': ['interpolate', ['linear'], ['zoom'], 5, 0.8, 12, 2],
        'line-opacity': ['case', IS_CELL, DENSITY, 0.95] } },
    { ...base, id: 'hz-line-edge', type: 'line', filter: IS_LINE, layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': COLOUR, 'line-width': metres('_w0', 4), 'line-opacity': 0.9 } },
    { ...base, id: 'hz-line', type: 'line', filter: IS_LINE, layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#ffffff', 'line-width': metres('_w0', 0.5), 'line-opacity': 0.45 } },
    { ...base, id: 'hz-point', type: 'circle', filter: ['all', IS_POINT, ['!', IS_MARKER]],
      paint: { 'circle-color': COLOUR, 'circle-opacity': 0.5, 'circle-radius': metres('_r0'),
        'circle-stroke-color': COLOUR, 'circle-stroke-width': 1.5, 'circle-pitch-alignment': 'map' } },
    // Below zoom 10 most areas are a few pixels wide: each also gets a dot of its colour.
    { ...base, id: 'hz-marker', type: 'circle', maxzoom: 10, filter: IS_MARKER,
      paint: { 'circle-color': COLOUR, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, 2.6, 9, 4.5],
        'circle-stroke-color': '#ffffff', 'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 4, 0.6, 9, 1.2] } },
    // Hazards named by the last check or tap, drawn over the rest.
    { ...base, id: 'hz-hl-outline', type: 'line', filter: ['all', IS_POLYGON, ['in', ['get', 'id'], ['literal', []]]],
      paint: { 'line-color': SELECT, 'line-width': 3.5 } },
    { ...base, id: 'hz-hl-line', type: 'line', filter: ['all', IS_LINE, ['in', ['get', 'id'], ['literal', []]]],
      layout: { 'line-cap': 'round' }, paint: { 'line-color': SELECT, 'line-width': metres('_w0', 6), 'line-opacity': 0.55 } },
    { ...base, id: 'hz-hl-point', type: 'circle', filter: ['all', IS_POINT, ['!', IS_MARKER], ['in', ['get', 'id'], ['literal', []]]],
      paint: { 'circle-color': 'rgba(0,0,0,0)', 'circle-radius': metres('_r0', 3), 'circle-stroke-color': SELECT, 'circle-stroke-width': 3.5 } },
    { ...base, id: 'hz-zone-label', type: 'symbol', minzoom: 8.5, filter: ['all', IS_POLYGON, IS_ZONE],
      layout: { 'icon-image': `zone-label-${state.lang}`, 'icon-allow-overlap': false, 'icon-padding': 4 } },
  ];
}
const HAZARD_LAYERS = ['hz-fill', 'hz-zone', 'hz-outline', 'hz-line-edge', 'hz-line', 'hz-point', 'hz-marker'];
const HIGHLIGHT_LAYERS = ['hz-hl-outline', 'hz-hl-line', 'hz-hl-point'];

function highlight(ids) {
  const list = ['literal', [...new Set(ids)]];
  const geom = { 'hz-hl-outline': IS_POLYGON, 'hz-hl-line': IS_LINE, 'hz-hl-point': ['all', IS_POINT, ['!', IS_MARKER]] };
  for (const id of HIGHLIGHT_LAYERS) {
    if (map.getLayer(id)) map.setFilter(id, ['all', geom[id], ['in', ['get', 'id'], list]]);
  }
}

// Adds what the drawing needs to GeoJSON features: their id as a property; spot radii and
// corridor widths in pixels at zoom 0 (at the feature's most poleward latitude, so never too
// small); and, for areas and tracks, a marker dot at their middle for the low zooms.
function prepare(features) {
  const markers = [];
  for (const f of features) {
    const p = f.properties || (f.properties = {});
    if (f.id !== undefined && p.id === undefined) p.id = f.id;
    const g = f.geometry;
    if (!g) continue;
    if (g.type === 'Point' && typeof p.radius_m === 'number') {
      const lat = g.coordinates[1];
      p._r0 = p.radius_m / (M_PER_PX_Z0 * Math.cos((lat * Math.PI) / 180));
    } else if (g.type === 'LineString') {
      const lat = Math.max(...g.coordinates.map((c) => Math.abs(c[1])));
      p._w0 = (p.width_m || 0) / (M_PER_PX_Z0 * Math.cos((lat * Math.PI) / 180));
      markers.push(marker(g.coordinates[Math.floor(g.coordinates.length / 2)], p));
    } else if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
      const rings = g.type === 'Polygon' ? [g.coordinates[0]] : g.coordinates.map((poly) => poly[0]);
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const ring of rings) {
        for (const [x, y] of ring) {
          x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        }
      }
      if (Number.isFinite(x0)) markers.push(marker([(x0 + x1) / 2, (y0 + y1) / 2], p));
    }
  }
  return features.concat(markers);
}

function marker(at, props) {
  return { type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: { ...props, _marker: true } };
}

// Loads the hazards of the view (with a margin) from the OGC API, unless those held cover it.
async function loadHazards() {
  if (state.source !== 'geojson' || !map.getSource(HAZARD_SOURCE)) return;
  const b = map.getBounds();
  const w = b.getWest(), e = b.getEast(), s = b.getSouth(), n = b.getNorth();
  const dx = (e - w) * 0.25, dy = (n - s) * 0.25;
  const box = [Math.max(-180, w - dx), Math.max(-85, s - dy), Math.min(180, e + dx), Math.min(85, n + dy)];
  const held = state.loaded;
  if (held && held.complete && held.box[0] <= w && held.box[1] <= s && held.box[2] >= e && held.box[3] >= n) return;
  const seq = ++state.loadSeq;
  setCount(t().dataLoading);
  const features = [];
  let matched = 0;
  let url = abs(`/ogc/collections/hazardous-areas/items?limit=10000&bbox=${box.map((v) => v.toFixed(5)).join(',')}`);
  try {
    for (let page = 0; url && page < 5; page++) {
      const r = await fetch(url, { headers: { Accept: 'application/geo+json' } });
      if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
      const j = await r.json();
      matched = j.numberMatched ?? j.features.length;
      features.push(...j.features);
      const next = (j.links || []).find((l) => l.rel === 'next');
      url = next ? next.href : null;
    }
  } catch (err) {
    if (seq !== state.loadSeq) return;
    console.warn('Cairn: could not load hazards', err);
    if (err instanceof TypeError && state.kept) {
      // No connection: draw the kept area's hazards instead.
      setOffline(true);
      map.getSource(HAZARD_SOURCE).setData({ type: 'FeatureCollection', features: prepare(structuredClone(state.kept.features)) });
      state.loaded = { box: state.kept.box, complete: true };
      state.counts = { shown: state.kept.features.length, matched: state.kept.features.length };
      setDataDate(state.kept.dataDate || state.kept.keptAt);
      renderCount();
      markReady();
      return;
    }
    setCount(t().serviceError);
    return;
  }
  setOffline(false);
  if (seq !== state.loadSeq) return; // A newer view's load is under way.
  map.getSource(HAZARD_SOURCE).setData({ type: 'FeatureCollection', features: prepare(features) });
  state.loaded = { box, complete: features.length >= matched };
  state.counts = { shown: features.length, matched };
  if (!state.dataDate) {
    const d = features.find((f) => f.properties && f.properties.data_date);
    if (d) setDataDate(d.properties.data_date);
  }
  renderCount();
  markReady();
}

// The test (and curious people) can ask how many hazards are drawn now.
function renderedHazards() {
  return map.queryRenderedFeatures({ layers: HAZARD_LAYERS.filter((id) => map.getLayer(id)) });
}

let readyMarked = false;
function markReady() {
  if (readyMarked) return;
  // MapLibre fires 'idle' once when it has nothing left to do; a map already idle when this is
  // asked would not fire it again until something moves, so that case is marked at once.
  const done = () => {
    if (readyMarked) return;
    readyMarked = true;
    // Milliseconds from the start of navigation to the first complete map (bench/first-render.mjs).
    window.cairnReadyAt = performance.now();
    window.cairnReady = true;
    document.body.dataset.ready = 'true';
    // The page opens with no connection after one visit (web/sw.js). Registered once the map is
    // complete, so that storing the page's files never slows the first view on a poor link.
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('Cairn: no offline use', err));
    }
  };
  if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) done();
  else map.once('idle', done);
}

// ---------------------------------------------------------------------------------------------
// The map.

// The route being drawn with the parts of it at risk, and the place being checked: above the
// hazards, below the names.
function overlayLayers() {
  return [
    { id: 'route-casing', type: 'line', source: 'route', filter: IS_LINE, layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#ffffff', 'line-width': 7 } },
    { id: 'route-line', type: 'line', source: 'route', filter: IS_LINE, layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': ROUTE, 'line-width': 4 } },
    { id: 'route-risk', type: 'line', source: 'route-risk', layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': COLOURS.confirmed, 'line-width': 6 } },
    { id: 'route-points', type: 'circle', source: 'route', filter: IS_POINT,
      paint: { 'circle-radius': 5, 'circle-color': '#ffffff', 'circle-stroke-color': ROUTE, 'circle-stroke-width': 2.5 } },
    { id: 'check-accuracy', type: 'fill', source: 'check', filter: IS_POLYGON,
      paint: { 'fill-color': SELECT, 'fill-opacity': 0.12 } },
    { id: 'check-accuracy-line', type: 'line', source: 'check', filter: IS_POLYGON,
      paint: { 'line-color': SELECT, 'line-width': 1.5, 'line-dasharray': [2, 2] } },
    { id: 'check-point', type: 'circle', source: 'check', filter: IS_POINT,
      paint: { 'circle-radius': 7, 'circle-color': SELECT, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 } },
  ];
}

// One style with everything from the start, so that MapLibre asks for the hazard tiles with the
// rest of the style (on a slow link each request waited for the one before): beneath the hazards
// the service's base map when it offers one, else the shipped context (basemap.js); then the
// hazards, as vector tiles when the service offers them, else GeoJSON by view; the route and the
// checked place; the settlement and place names on top.
const [base, tilejson] = await Promise.all([basemapStyle({ lang: state.lang }), detectTiles()]);
state.source = tilejson ? 'tiles' : 'geojson';
const hazards = hazardSource(state.source, tilejson);
const mapStyle = {
  version: 8,
  name: 'Cairn offline',
  glyphs: base.glyphs,
  sources: {
    ...base.sources,
    [HAZARD_SOURCE]: hazards.spec,
    route: { type: 'geojson', data: emptyFC() },
    'route-risk': { type: 'geojson', data: emptyFC() },
    check: { type: 'geojson', data: emptyFC() },
  },
  layers: [...base.layers, ...hazardLayers(hazards.sourceLayer), ...overlayLayers(), ...base.labels],
};

const map = new maplibregl.Map({
  container: 'map',
  style: mapStyle,
  bounds: UKRAINE_BOUNDS,
  fitBoundsOptions: { padding: 10 },
  // The position in the address (#at=zoom/lat/lon), so that a link shows the same place.
  hash: 'at',
  attributionControl: false,
  maxZoom: 18,
  minZoom: 3,
  dragRotate: false,
  pitchWithRotate: false,
  touchPitch: false,
  cooperativeGestures: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 90 }), 'bottom-right');

// The danger-zone tag, the fill patterns and the base map's icons are drawn in the page when a
// layer first needs them.
map.setMissingStyleImageResolver((id) => {
  if (id.startsWith('zone-label-')) {
    const lang = id.slice('zone-label-'.length);
    if (STRINGS[lang]) addImageOnce(map, id, labelImage(STRINGS[lang].zoneLabel, { size: 11, bold: true, colour: '#ffffff', box: COLOURS['danger-zone'] }));
  } else if (id === 'hatch') {
    addImageOnce(map, id, hatchImage());
  } else if (id === 'stripes' || id === 'dots') {
    addImageOnce(map, id, patternImage(id));
  } else {
    // The base map's icons (town dots, road shields, one-way arrows, points of interest).
    const made = basemapIcon(id);
    if (made) addImageOnce(map, id, made);
  }
});

// Does the service offer vector tiles? Then their TileJSON; otherwise null (GeoJSON by view).
async function detectTiles() {
  try {
    const r = await fetch(abs('/tiles.json'), { headers: { Accept: 'application/json' } });
    if (!r.ok) return null;
    const j = await r.json();
    return Array.isArray(j.tiles) && j.tiles.length > 0 ? j : null;
  } catch (_) {
    return null;
  }
}

async function collectionInfo() {
  try {
    const r = await fetch(abs('/ogc/collections/hazardous-areas'), { headers: { Accept: 'application/json' } });
    if (!r.ok) return null;
    return await r.json();
  } catch (_) {
    return null;
  }
}

const infoPromise = collectionInfo();
// The area kept for offline use, read at once (web/offline.js).
const keptPromise = loadKept().then((k) => {
  state.kept = k;
  if (!navigator.onLine) state.offline = true;
  renderKept();
  renderOffline();
  return k;
}).catch((err) => {
  console.warn('Cairn: the kept area could not be read', err);
  return null;
});

map.on('load', async () => {
  syncPadding();
  // The whole country, unless the address names a place (a shared link).
  if (!/[#&]at=/.test(location.hash)) map.fitBounds(UKRAINE_BOUNDS, { padding: 12, animate: false });

  // The first complete map is marked when the hazard tiles are in, whatever else is still on its
  // way: listening before any await, so a source that loads meanwhile is not missed.
  if (state.source === 'tiles') {
    setCount('');
    map.once('idle', () => markReady());
    map.on('sourcedata', (e) => {
      if (e.sourceId === HAZARD_SOURCE && e.isSourceLoaded) markReady();
    });
  }
  // The data's date, when the collection's description comes (it does not hold back the map).
  infoPromise.then((info) => {
    const interval = info?.extent?.temporal?.interval?.[0];
    if (interval && interval[1]) setDataDate(interval[1]);
  });
  await keptPromise;
  if (state.source === 'tiles') {
    // Tiles may come from a kept area when the service cannot be reached: ask it once.
    serviceReachable().then((up) => setOffline(!up));
  } else {
    await loadHazards();
  }
  applyLang();
  openFromAddress();
});

// Tiles the map cannot fetch (no connection, outside a kept area) are expected offline: the
// page says it is offline instead of filling the console.
// Whether the service answers now (asked at most every 5 s).
let probe = null;
function serviceReachable() {
  if (!probe || performance.now() - probe.at > 5000) {
    probe = { at: performance.now(), answer: fetch(abs('/health'), { cache: 'no-store' }).then(() => true, () => false) };
  }
  return probe.answer;
}

map.on('error', async (e) => {
  const reachable = navigator.onLine && await serviceReachable();
  if (!reachable) {
    setOffline(true);
    console.warn('Cairn: map data unavailable offline', e.error?.message || e);
  } else {
    console.error('Cairn: map error', e.error || e);
  }
});
window.addEventListener('offline', () => setOffline(true));
window.addEventListener('online', () => setOffline(false));

let moveTimer = null;
map.on('moveend', () => {
  clearTimeout(moveTimer);
  moveTimer = setTimeout(loadHazards, 200);
});

map.on('click', (e) => {
  if (state.mode === 'place') {
    setMode('browse');
    checkPoint(e.lngLat.lng, e.lngLat.lat, 0, 'tap');
  } else if (state.mode === 'report') {
    setReportPlace(e.lngLat.lng, e.lngLat.lat, 0);
  } else if (state.mode === 'route') {
    state.route.push([round6(e.lngLat.lng), round6(e.lngLat.lat)]);
    state.routeResult = null;
    drawRoute();
  } else {
    showDetails(e);
  }
});

map.on('mousemove', (e) => {
  if (state.mode !== 'browse' || !map.getLayer('hz-fill')) return;
  const hits = map.queryRenderedFeatures(e.point, { layers: HAZARD_LAYERS });
  map.getCanvas().style.cursor = hits.length ? 'pointer' : '';
});

// ---------------------------------------------------------------------------------------------
// Details of a tapped hazard.

function showDetails(e) {
  const r = 8; // Finger-sized: hazards within 8 pixels count as tapped.
  const box = [[e.point.x - r, e.point.y - r], [e.point.x + r, e.point.y + r]];
  const hits = map.queryRenderedFeatures(box, { layers: HAZARD_LAYERS.filter((id) => map.getLayer(id)) });
  const seen = new Set();
  const features = [];
  for (const f of hits) {
    const key = f.properties.id ?? f.id ?? JSON.stringify(f.properties);
    if (seen.has(key)) continue;
    seen.add(key);
    features.push(f);
  }
  if (!features.length) {
    const places = map.queryRenderedFeatures(box, { layers: ['settlement-dots'] });
    if (places.length) openPopup(e.lngLat, { settlement: places[0].properties });
    else closePopup();
    return;
  }
  openPopup(e.lngLat, { features: features.slice(0, 3), more: features.length - 3 });
  highlight(features.map((f) => f.properties.id).filter(Boolean));
}

function closePopup() {
  if (state.popup) state.popup.remove();
  state.popup = null;
  state.popupFeatures = null;
}

function openPopup(lngLat, content) {
  closePopup();
  state.popupFeatures = { lngLat, content };
  const popup = new maplibregl.Popup({ maxWidth: 'none', className: 'hz-popup', focusAfterOpen: false })
    .setLngLat(lngLat)
    .setDOMContent(popupContent(content))
    .addTo(map);
  popup.on('close', () => {
    if (state.popup === popup) {
      state.popup = null;
      state.popupFeatures = null;
      setHashParam('hz', null);
      document.body.classList.remove('popup-open');
      if (!state.answer) highlight([]);
    }
  });
  state.popup = popup;
  document.body.classList.add('popup-open');
  const ids = (content.features || []).map((f) => f.properties.id).filter(Boolean);
  setHashParam('hz', ids.length === 1 ? ids[0] : null);
  fitPopup(popup);
  // Vector tiles carry only the id and status: fetch the rest.
  if (content.features && state.source === 'tiles') {
    content.features.forEach(async (f, i) => {
      const id = f.properties.id;
      if (!id || f.properties.danger_en) return;
      try {
        const r = await fetch(abs(`/ogc/collections/hazardous-areas/items/${encodeURIComponent(id)}`), { headers: { Accept: 'application/geo+json' } });
        if (!r.ok) return;
        const full = await r.json();
        content.features[i] = { properties: { ...full.properties, id } };
        if (state.popup === popup) {
          popup.setDOMContent(popupContent(content));
          fitPopup(popup);
        }
      } catch (_) {
        // The short form stays.
      }
    });
  }
}

// Moves the map so an open popup is clear of the panel and of the map's edges.
function fitPopup(popup) {
  requestAnimationFrame(() => {
    if (state.popup !== popup) return;
    syncPadding();
    const r = popup.getElement().getBoundingClientRect();
    const m = $('#map').getBoundingClientRect();
    const p = $('#panel').getBoundingClientRect();
    const top = m.top + 8;
    const bottom = (phone.matches ? p.top : m.bottom) - 8;
    const left = (phone.matches ? m.left : p.right) + 8;
    let dx = 0;
    let dy = 0;
    if (r.bottom > bottom) dy = r.bottom - bottom;
    if (r.top - dy < top) dy = r.top - top;
    if (r.left < left) dx = r.left - left;
    if (dx || dy) map.panBy([dx, dy], { duration: 250 });
  });
}

function statusOf(p) {
  if (p.kind === 'danger-zone') return 'danger-zone';
  return COLOURS[p.status] ? p.status : 'danger-zone';
}

function popupContent(content) {
  const s = t();
  if (content.settlement) {
    return el('div', { class: 'popup-body' }, el('h3', { class: 'place-name', text: content.settlement.name }),
      el('p', { class: 'muted', text: s.legendSettlement }));
  }
  const body = el('div', { class: 'popup-body' });
  for (const f of content.features) body.append(hazardCard(f.properties));
  if (content.more > 0) body.append(el('p', { class: 'muted', text: `+${content.more}` }));
  return body;
}

function hazardCard(p) {
  const s = t();
  const status = statusOf(p);
  const card = el('article', { class: `hazard-card ${status}` });
  card.append(el('h3', {}, el('span', { class: `swatch ${status === 'danger-zone' ? 'zone' : status}` }), s.status[status]));
  if (p.count !== undefined && p.danger_en === undefined && p.name === undefined) {
    card.append(el('p', { text: s.cellCount(p.count) }));
    return card;
  }
  if (p.name) card.append(el('p', { class: 'hazard-name', text: p.name }));
  const danger = state.lang === 'uk' ? p.danger_uk : p.danger_en;
  card.append(el('p', { class: 'danger-text', role: 'alert' }, danger || s.status['danger-zone']));
  const dl = el('dl');
  const row = (label, value) => {
    if (value === undefined || value === null || value === '') return;
    dl.append(el('dt', { text: label }), el('dd', { text: value }));
  };
  if (status === 'danger-zone') {
    card.append(el('p', { class: 'muted', text: s.zoneNote }));
  } else {
    row(s.fieldMarking, p.marking ? (s.marking[p.marking] || p.marking) : s.unknown);
    const cats = parseList(p.device_categories);
    row(s.fieldDevices, cats.length ? cats.map((c) => s.category[c] || c).join(', ') : s.unknown);
    if (p.evidence) row(s.fieldEvidence, s.evidence[p.evidence] || p.evidence);
    row(s.fieldOrganisation, p.organisation);
    row(s.fieldReported, p.reported_at ? date(state.lang, p.reported_at) : s.unknown);
    if (typeof p.radius_m === 'number') row(s.fieldSize, s.radius(distance(state.lang, p.radius_m)));
    if (typeof p.width_m === 'number') row(s.fieldSize, s.width(distance(state.lang, p.width_m)));
    row(s.fieldId, p.id);
  }
  row(s.fieldDataDate, date(state.lang, p.data_date || state.dataDate, true));
  card.append(dl);
  return card;
}

// GeoJSON sources hand arrays back as arrays; vector tiles as JSON text.
function parseList(v) {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') {
    try {
      const a = JSON.parse(v);
      return Array.isArray(a) ? a : [v];
    } catch (_) {
      return v ? [v] : [];
    }
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Checks.

function emptyFC() {
  return { type: 'FeatureCollection', features: [] };
}

function round6(v) {
  return Math.round(v * 1e6) / 1e6;
}

// A circle of `r` metres around a point, as a polygon (for the GPS accuracy).
function circle(lon, lat, r, n = 64) {
  const ring = [];
  const dLat = r / 111320;
  const dLon = r / (111320 * Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= n; i++) {
    const a = (i / n) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: 'Polygon', coordinates: [ring] };
}

async function checkPoint(lon, lat, accuracy, how) {
  closePopup();
  clearRoute();
  const feats = [{ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: {} }];
  if (accuracy > 0) feats.unshift({ type: 'Feature', geometry: circle(lon, lat, accuracy), properties: {} });
  map.getSource('check').setData({ type: 'FeatureCollection', features: feats });
  state.answer = { kind: 'pending', text: 'checking' };
  renderAnswer();
  try {
    const a = await pointAnswer(lon, lat, accuracy);
    state.answer = { kind: 'point', data: a, how, lon, lat, accuracy };
    if (a.data_date) setDataDate(a.data_date);
    const ids = [...a.inside.map((h) => h.id), ...a.within_accuracy.map((h) => h.id)];
    if (a.nearest) ids.push(a.nearest.id);
    highlight(ids);
  } catch (err) {
    console.warn('Cairn: place check failed', err);
    state.answer = { kind: 'error', text: err.offline ? 'offlineNoData' : undefined };
  }
  renderAnswer();
  keepInView([[lon, lat]]);
}

// The service's answer for a place; when the service cannot be reached, the answer from the
// kept area if it covers the place and its accuracy circle. An error marked `offline` says that
// neither could answer.
async function pointAnswer(lon, lat, accuracy) {
  const q = new URLSearchParams({ lon: lon.toFixed(6), lat: lat.toFixed(6), accuracy: String(Math.round(accuracy)) });
  let r;
  try {
    r = await fetch(abs(`/api/check/point?${q}`), { headers: { Accept: 'application/json' } });
  } catch (err) {
    setOffline(true);
    if (state.kept && covers(state.kept, lon, lat, accuracy)) return checkKept(state.kept, lon, lat, accuracy);
    const e = new Error('no connection and no kept data here');
    e.offline = true;
    throw e;
  }
  setOffline(false);
  if (!r.ok) throw new Error(`${r.status}`);
  return r.json();
}

// Advice for an answer made in the page from kept data, worded as the service's.
function localAdvice(a) {
  const hits = [...a.inside, ...a.within_accuracy];
  if (!hits.length) return { danger: false, uk: STRINGS.uk.adviceClear, en: STRINGS.en.adviceClear };
  const key = hits.every((h) => h.status === 'reported') ? 'adviceReported' : 'adviceDanger';
  return { danger: true, uk: STRINGS.uk[key], en: STRINGS.en[key] };
}

function setOffline(off) {
  if (state.offline === off) return;
  state.offline = off;
  renderOffline();
}

function renderOffline() {
  const b = $('#offline-banner');
  if (!state.offline) {
    b.hidden = true;
    return;
  }
  b.hidden = false;
  b.textContent = state.kept ? t().offlineMap(date(state.lang, state.kept.keptAt, true)) : t().offlineNoData;
}

// After the panel has grown with an answer, moves the map so these places are still in view.
function keepInView(coords) {
  requestAnimationFrame(() => {
    syncPadding();
    const b = new maplibregl.LngLatBounds(coords[0], coords[0]);
    for (const c of coords) b.extend(c);
    const c = b.getCenter();
    const p = map.project(c);
    const r = map.getCanvas().getBoundingClientRect();
    const pad = map.getPadding();
    const visible = p.x >= pad.left + 20 && p.x <= r.width - pad.right - 20 && p.y >= pad.top + 20 && p.y <= r.height - pad.bottom - 20;
    if (coords.length > 1) map.fitBounds(b, { padding: 40, maxZoom: map.getZoom(), duration: 300 });
    else if (!visible) map.easeTo({ center: c, duration: 300 });
  });
}

function checkMyLocation() {
  closePopup();
  setMode('browse');
  if (!('geolocation' in navigator)) {
    state.answer = { kind: 'error', text: 'gpsUnavailable' };
    renderAnswer();
    return;
  }
  state.answer = { kind: 'pending', text: 'locating' };
  renderAnswer();
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      const { longitude, latitude, accuracy } = pos.coords;
      const acc = Math.min(10000, Math.max(0, accuracy || 0));
      map.easeTo({ center: [longitude, latitude], zoom: Math.max(map.getZoom(), acc > 2000 ? 11 : 14) });
      checkPoint(longitude, latitude, acc, 'gps');
    },
    () => {
      state.answer = { kind: 'error', text: 'gpsDenied' };
      renderAnswer();
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
  );
}

// Great-circle distance in metres (close enough to the service's for drawing the parts at risk).
function haversine(a, b) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

// The part of a line from `from` to `to` metres along it.
function sliceLine(coords, from, to) {
  const out = [];
  let walked = 0;
  for (let i = 0; i < coords.length - 1; i++) {
    const a = coords[i], b = coords[i + 1];
    const len = haversine(a, b);
    const s = walked, e = walked + len;
    if (e >= from && s <= to && len > 0) {
      const f0 = Math.max(0, (from - s) / len);
      const f1 = Math.min(1, (to - s) / len);
      const p = (f) => [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
      if (!out.length) out.push(p(f0));
      out.push(p(f1));
    }
    walked = e;
  }
  return out;
}

function drawRoute() {
  const feats = state.route.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }));
  if (state.route.length >= 2) feats.unshift({ type: 'Feature', geometry: { type: 'LineString', coordinates: state.route }, properties: {} });
  map.getSource('route').setData({ type: 'FeatureCollection', features: feats });
  const risk = [];
  if (state.routeResult) {
    for (const h of state.routeResult.hazards) {
      const part = sliceLine(state.route, h.enter_m, Math.max(h.leave_m, h.enter_m + 1));
      if (part.length >= 2) risk.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: part }, properties: { id: h.id } });
    }
  }
  map.getSource('route-risk').setData({ type: 'FeatureCollection', features: risk });
  renderRouteBar();
}

function clearRoute() {
  state.route = [];
  state.routeResult = null;
  if (map.getSource('route')) drawRoute();
}

async function checkRoute() {
  if (state.route.length < 2) {
    state.answer = { kind: 'error', text: 'routeNeedTwo' };
    renderAnswer();
    return;
  }
  closePopup();
  const width = Number($('#route-width').value) || 50;
  state.answer = { kind: 'pending', text: 'checking' };
  renderAnswer();
  try {
    const r = await fetch(abs(`/api/check/route?width=${width}`), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ type: 'LineString', coordinates: state.route }),
    });
    if (!r.ok) throw new Error(`${r.status}`);
    const a = await r.json();
    state.routeResult = a;
    state.answer = { kind: 'route', data: a };
    if (a.data_date) setDataDate(a.data_date);
    highlight(a.hazards.map((h) => h.id));
  } catch (err) {
    console.warn('Cairn: route check failed', err);
    state.answer = { kind: 'error' };
  }
  drawRoute();
  renderAnswer();
  keepInView(state.route);
}

// ---------------------------------------------------------------------------------------------
// Reporting a suspicious object: a place (a tap or the GPS), what was seen, an optional photo.
// The photo is redrawn in the page at most 1600 pixels wide as a JPEG: phones' photos are often
// larger than the service accepts, and redrawing leaves behind the EXIF data that could name the
// reporter's phone. The service answers with a reference the reporter can quote.

const PHOTO_MAX_PX = 1600;

function setReportPlace(lon, lat, accuracy) {
  state.report.place = { lon: round6(lon), lat: round6(lat), accuracy };
  state.report.error = null;
  const feats = [{ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: {} }];
  if (accuracy > 0) feats.unshift({ type: 'Feature', geometry: circle(lon, lat, accuracy), properties: {} });
  map.getSource('check')?.setData({ type: 'FeatureCollection', features: feats });
  renderReport();
}

function reportMyLocation() {
  if (!('geolocation' in navigator)) {
    state.report.error = { text: t().gpsUnavailable };
    renderReport();
    return;
  }
  $('#report-place').textContent = t().locating;
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      const { longitude, latitude, accuracy } = pos.coords;
      const acc = Math.min(10000, Math.max(0, Math.round(accuracy || 0)));
      map.easeTo({ center: [longitude, latitude], zoom: Math.max(map.getZoom(), acc > 2000 ? 11 : 15) });
      setReportPlace(longitude, latitude, acc);
    },
    () => {
      state.report.error = { text: t().gpsDenied };
      renderReport();
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
  );
}

// Reads the chosen photo and redraws it as a JPEG data URL no wider or taller than PHOTO_MAX_PX.
async function photoDataUrl(file) {
  const bitmap = await createImageBitmap(file);
  const k = Math.min(1, PHOTO_MAX_PX / Math.max(bitmap.width, bitmap.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(bitmap.width * k));
  c.height = Math.max(1, Math.round(bitmap.height * k));
  c.getContext('2d').drawImage(bitmap, 0, 0, c.width, c.height);
  bitmap.close?.();
  const blob = await new Promise((resolve) => c.toBlob(resolve, 'image/jpeg', 0.85));
  if (!blob) throw new Error('the photo could not be encoded');
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

async function sendReport() {
  const s = t();
  const rep = state.report;
  if (rep.sending) return;
  rep.receipt = null;
  if (!rep.place) {
    rep.error = { text: s.reportNeedPlace };
    return renderReport();
  }
  const category = $('#report-category').value;
  if (!category) {
    rep.error = { text: s.reportNeedCategory };
    renderReport();
    $('#report-category').focus();
    return;
  }
  const body = { lon: rep.place.lon, lat: rep.place.lat, category };
  if (rep.place.accuracy > 0) body.accuracy_m = rep.place.accuracy;
  const text = $('#report-text').value.trim();
  if (text) body.description = text;
  rep.error = null;
  rep.sending = true;
  renderReport();
  try {
    const file = $('#report-photo').files[0];
    if (file) {
      try {
        body.photo = await photoDataUrl(file);
      } catch (err) {
        console.warn('Cairn: photo not readable', err);
        rep.error = { text: s.reportPhotoBad };
        return;
      }
    }
    let r;
    try {
      r = await fetch(abs('/api/reports'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      console.warn('Cairn: report not sent', err);
      rep.error = { text: s.serviceError };
      return;
    }
    const answer = await r.json().catch(() => ({}));
    if (r.status === 201 && answer.reference) {
      rep.receipt = answer;
      $('#report-text').value = '';
      $('#report-photo').value = '';
      $('#report-category').value = '';
    } else {
      rep.error = { detail: answer.detail || `${r.status} ${r.statusText}` };
    }
  } finally {
    rep.sending = false;
    renderReport();
  }
}

function resetReport() {
  state.report = { place: null, sending: false, receipt: null, error: null };
  map.getSource('check')?.setData(emptyFC());
  renderReport();
}

function renderReport() {
  const s = t();
  const rep = state.report;
  const place = $('#report-place');
  place.dataset.set = String(Boolean(rep.place));
  place.textContent = rep.place
    ? s.reportPlace(rep.place.lat.toFixed(5), rep.place.lon.toFixed(5)) + (rep.place.accuracy > 0 ? ` · ${s.accuracy(distance(state.lang, rep.place.accuracy))}` : '')
    : s.reportPlaceNone;
  const send = $('#report-send');
  send.disabled = rep.sending;
  send.textContent = rep.sending ? s.reportSending : s.reportSend;
  const box = $('#report-result');
  box.replaceChildren();
  box.className = 'report-result';
  if (rep.receipt) {
    const advice = rep.receipt.advice ? rep.receipt.advice[state.lang] || rep.receipt.advice.en : '';
    box.classList.add('ok');
    box.append(
      el('p', { text: s.reportDone }),
      el('p', { class: 'report-ref', id: 'report-ref', text: rep.receipt.reference }),
      el('p', { text: s.reportKeep }),
      el('p', { class: 'advice', text: advice }),
    );
    box.hidden = false;
  } else if (rep.error) {
    box.classList.add('error');
    box.append(el('p', { id: 'report-error' }, rep.error.detail ? `${s.reportFailed} ${rep.error.detail}` : rep.error.text));
    box.hidden = false;
  } else {
    box.hidden = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Keeping an area for offline use (web/offline.js does the work).

// The TileJSON documents of the map's tiled sources (hazard tiles, base map): what to keep.
function tiledSources() {
  const urls = Object.values(map.getStyle().sources)
    .map((src) => src.url)
    .filter((u) => typeof u === 'string' && u.startsWith(location.origin));
  // The hazard tiles' TileJSON, which the style holds inline (hazardSource).
  if (state.source === 'tiles') urls.unshift(abs('/tiles.json'));
  return urls;
}

async function keepThisArea() {
  if (state.keeping && !state.keeping.error) return;
  const b = map.getBounds();
  const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
  const km2 = boxKm2(box);
  if (km2 > MAX_KEEP_KM2) {
    state.keeping = { error: t().keepZoomIn(Math.round(km2).toLocaleString(state.lang === 'uk' ? 'uk-UA' : 'en-GB'), MAX_KEEP_KM2) };
    return renderKept();
  }
  state.keeping = { done: 0, total: 0 };
  renderKept();
  try {
    const sources = [...tiledSources(), abs('/ogc/collections/hazardous-areas')];
    state.kept = await keepArea(box, sources, (done, total) => {
      state.keeping = { done, total };
      renderKept();
    });
    state.keeping = null;
  } catch (err) {
    console.warn('Cairn: the area was not kept', err);
    state.keeping = { error: `${t().keepFailed} ${err.message}` };
  }
  renderKept();
}

function renderKept() {
  const s = t();
  const info = $('#kept-info');
  const k = state.keeping;
  $('#tool-keep').disabled = Boolean(k && !k.error);
  info.classList.toggle('error', Boolean(k && k.error));
  if (k && k.error) info.textContent = k.error;
  else if (k) info.textContent = s.keeping(k.done, k.total);
  else if (state.kept) info.textContent = s.keptInfo(date(state.lang, state.kept.keptAt, true), state.kept.hazards, date(state.lang, state.kept.dataDate || state.kept.keptAt, true));
  else info.textContent = s.keptNone;
  info.dataset.kept = String(Boolean(state.kept && !k));
  $('#kept-forget').hidden = !state.kept || Boolean(k && !k.error);
}

// ---------------------------------------------------------------------------------------------
// "Warn me as I walk": follows the GPS and warns (screen, vibration, sound) when a recorded
// hazard or danger zone is within WARN_M of the place plus the fix's accuracy, so a poor fix warns
// earlier, never later. Each fix is checked by the service and, where an area is kept, against
// the kept hazards too: a hazard known to either warns. With no connection, the kept area
// alone answers; outside it the page says it cannot warn.

const WARN_M = 75;
const POOR_GPS_M = 50;
const REPEAT_MS = 30_000;
// A fix is sent to the service at most this often, unless one has moved more than MOVED_M.
const ASK_EVERY_MS = 3_000;
const MOVED_M = 15;

function toggleWalk() {
  if (state.walk) stopWalk();
  else startWalk();
}

function startWalk() {
  if (!('geolocation' in navigator)) {
    $('#walk-info').hidden = false;
    $('#walk-info').textContent = t().gpsUnavailable;
    return;
  }
  let audio = null;
  try {
    // Made on the button press: browsers allow sound only after a gesture.
    audio = new AudioContext();
  } catch (_) {
    // No sound; the screen and vibration still warn.
  }
  const w = { watch: null, busy: false, pending: false, fix: null, level: 'none', ids: '', alertedAt: 0, asked: null, audio, log: [] };
  state.walk = w;
  w.watch = navigator.geolocation.watchPosition((pos) => onFix(w, pos), () => {
    if (state.walk !== w) return;
    w.error = true;
    renderWalk();
  }, { enableHighAccuracy: true, maximumAge: 0, timeout: 30_000 });
  renderWalk();
}

function stopWalk() {
  const w = state.walk;
  if (!w) return;
  navigator.geolocation.clearWatch(w.watch);
  w.audio?.close?.();
  state.walk = null;
  state.walkLog = w.log;
  $('#walk-alert').hidden = true;
  map.getSource('check')?.setData(emptyFC());
  renderWalk();
}

async function onFix(w, pos) {
  if (state.walk !== w) return;
  const c = pos.coords;
  w.fix = { lon: c.longitude, lat: c.latitude, accuracy: Math.min(5_000, Math.max(0, c.accuracy || 0)) };
  w.error = false;
  if (w.busy) {
    w.pending = true;
    return;
  }
  w.busy = true;
  try {
    do {
      w.pending = false;
      await judgeFix(w, w.fix);
    } while (w.pending && state.walk === w);
  } finally {
    w.busy = false;
  }
}

// Which hazards are within reach of a fix: the service's answer (throttled) and the kept area's,
// merged; null when neither could answer.
async function hazardsNear(w, fix, reach) {
  const hits = new Map();
  let answered = false;
  const add = (a) => {
    answered = true;
    for (const h of a.inside) hits.set(h.id, { ...h, distance_m: 0 });
    for (const h of a.within_accuracy) if (!hits.has(h.id)) hits.set(h.id, h);
    if (a.nearest && a.nearest.distance_m <= reach && !hits.has(a.nearest.id)) hits.set(a.nearest.id, a.nearest);
  };
  const now = Date.now();
  const asked = w.asked;
  const due = !asked || now - asked.at >= ASK_EVERY_MS || haversine([asked.lon, asked.lat], [fix.lon, fix.lat]) > MOVED_M;
  if (due) {
    try {
      // Asked MOVED_M wider, so that the answer still covers the next fixes it stands for.
      const q = new URLSearchParams({ lon: fix.lon.toFixed(6), lat: fix.lat.toFixed(6), accuracy: String(Math.ceil(reach + MOVED_M)) });
      const r = await fetch(abs(`/api/check/point?${q}`), { headers: { Accept: 'application/json' } });
      if (r.ok) {
        const a = await r.json();
        setOffline(false);
        w.asked = { at: now, lon: fix.lon, lat: fix.lat, answer: a };
      }
    } catch (_) {
      setOffline(true);
      w.asked = null;
    }
  }
  if (w.asked) {
    // The last answer stands for fixes within MOVED_M of where it was asked (and at most
    // ASK_EVERY_MS old): it was asked MOVED_M wider, so it holds every hazard within reach.
    add(w.asked.answer);
  }
  if (state.kept && covers(state.kept, fix.lon, fix.lat, reach)) add(checkKept(state.kept, fix.lon, fix.lat, reach));
  return answered ? [...hits.values()].sort((a, b) => a.distance_m - b.distance_m) : null;
}

async function judgeFix(w, fix) {
  const reach = WARN_M + fix.accuracy;
  const hits = await hazardsNear(w, fix, reach);
  if (state.walk !== w) return;
  const feats = [{ type: 'Feature', geometry: { type: 'Point', coordinates: [fix.lon, fix.lat] }, properties: {} }];
  if (fix.accuracy > 0) feats.unshift({ type: 'Feature', geometry: circle(fix.lon, fix.lat, fix.accuracy), properties: {} });
  map.getSource('check')?.setData({ type: 'FeatureCollection', features: feats });
  followFix(fix);
  let level = 'none';
  if (hits === null) level = 'nodata';
  else if (hits.some((h) => h.distance_m === 0)) level = 'inside';
  else if (hits.length) level = 'near';
  const ids = hits ? hits.map((h) => h.id).sort().join(' ') : '';
  const danger = level === 'inside' || level === 'near';
  const now = Date.now();
  const worse = (level === 'inside' && w.level !== 'inside') || (danger && ids !== w.ids && !ids.split(' ').every((id) => w.ids.split(' ').includes(id)));
  w.level = level;
  w.ids = ids;
  w.hits = hits;
  w.log.push({ level, lon: fix.lon, lat: fix.lat, accuracy: fix.accuracy, ids, at: now });
  if (danger) {
    highlight(hits.map((h) => h.id));
    if (worse || now - w.alertedAt >= REPEAT_MS) {
      w.alertedAt = now;
      alarm(w);
    }
  }
  renderWalk();
}

// Keeps the walker on the map: recentres when the fix nears the edge of the visible map.
function followFix(fix) {
  const p = map.project([fix.lon, fix.lat]);
  const r = map.getCanvas().getBoundingClientRect();
  const pad = map.getPadding();
  const m = 40;
  const inView = p.x >= pad.left + m && p.x <= r.width - pad.right - m && p.y >= pad.top + m && p.y <= r.height - pad.bottom - m;
  if (!inView) map.easeTo({ center: [fix.lon, fix.lat], zoom: Math.max(map.getZoom(), 15), duration: 300 });
}

// Vibration and two short tones (where the phone allows them).
function alarm(w) {
  try {
    navigator.vibrate?.([400, 150, 400, 150, 400]);
  } catch (_) {
    // No vibration on this device.
  }
  const a = w.audio;
  if (!a) return;
  try {
    a.resume?.();
    for (const start of [0, 0.35]) {
      const o = a.createOscillator();
      const g = a.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.4;
      o.connect(g).connect(a.destination);
      o.start(a.currentTime + start);
      o.stop(a.currentTime + start + 0.25);
    }
  } catch (_) {
    // No sound.
  }
}

function renderWalk() {
  const s = t();
  const w = state.walk;
  const btn = $('#tool-walk');
  btn.setAttribute('aria-pressed', String(Boolean(w)));
  const info = $('#walk-info');
  const banner = $('#walk-alert');
  document.body.classList.toggle('walking', Boolean(w));
  if (!w) {
    info.hidden = !state.walkLog;
    info.textContent = s.walkStopped;
    banner.hidden = true;
    return;
  }
  info.hidden = false;
  const reach = WARN_M + (w.fix ? w.fix.accuracy : 0);
  const lines = [];
  if (w.error) lines.push(s.gpsDenied);
  if (!w.fix) lines.push(s.walkOn(distance(state.lang, WARN_M)));
  else if (w.level === 'nodata') lines.push(s.walkNoData);
  else if (w.level === 'none') lines.push(s.walkClear(distance(state.lang, reach)));
  if (w.fix && w.fix.accuracy > POOR_GPS_M) lines.push(s.walkPoorGps(distance(state.lang, w.fix.accuracy)));
  info.textContent = lines.join(' ');
  if (w.level === 'inside' || w.level === 'near') {
    const h = w.hits[0];
    const text = w.level === 'inside'
      ? s.walkInside
      : s.walkNear(distance(state.lang, h.distance_m), compass(state.lang, h.bearing_deg ?? 0));
    if (banner.textContent !== text) banner.textContent = text;
    banner.dataset.level = w.level;
    banner.hidden = false;
  } else {
    banner.hidden = true;
    delete banner.dataset.level;
  }
}

// ---------------------------------------------------------------------------------------------
// The selected hazard in the address (`&hz=ID` beside MapLibre's `at=`), so a link opens it.

function setHashParam(key, value) {
  const parts = location.hash.replace(/^#/, '').split('&').filter((p) => p && !p.startsWith(`${key}=`));
  if (value) parts.push(`${key}=${encodeURIComponent(value)}`);
  history.replaceState(history.state, '', `${location.pathname}${location.search}#${parts.join('&')}`);
}

function hashParam(key) {
  const part = location.hash.replace(/^#/, '').split('&').find((p) => p.startsWith(`${key}=`));
  return part ? decodeURIComponent(part.slice(key.length + 1)) : null;
}

// Opens the hazard the address names, once the map is ready.
async function openFromAddress() {
  const id = hashParam('hz');
  if (!id) return;
  try {
    const r = await fetch(abs(`/ogc/collections/hazardous-areas/items/${encodeURIComponent(id)}`), { headers: { Accept: 'application/geo+json' } });
    if (!r.ok) return setHashParam('hz', null);
    const f = await r.json();
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        x0 = Math.min(x0, c[0]); y0 = Math.min(y0, c[1]); x1 = Math.max(x1, c[0]); y1 = Math.max(y1, c[1]);
      } else c.forEach(walk);
    };
    walk(f.geometry.coordinates);
    if (!Number.isFinite(x0)) return;
    if (!/[#&]at=/.test(location.hash)) map.fitBounds([[x0, y0], [x1, y1]], { padding: 60, maxZoom: 16, animate: false });
    openPopup({ lng: (x0 + x1) / 2, lat: (y0 + y1) / 2 }, { features: [{ properties: { ...f.properties, id } }], more: 0 });
    highlight([id]);
  } catch (err) {
    console.warn('Cairn: the hazard in the address could not be opened', err);
  }
}

// ---------------------------------------------------------------------------------------------
// The panel.

function setMode(mode) {
  state.mode = mode;
  $('#tool-place').setAttribute('aria-pressed', String(mode === 'place'));
  $('#tool-route').setAttribute('aria-pressed', String(mode === 'route'));
  $('#route-bar').hidden = mode !== 'route';
  $('#tool-report').setAttribute('aria-pressed', String(mode === 'report'));
  $('#report-form').hidden = mode !== 'report';
  document.body.classList.toggle('reporting', mode === 'report');
  document.body.dataset.mode = mode;
  map.getCanvas().style.cursor = mode === 'browse' ? '' : 'crosshair';
  renderHint();
  renderRouteBar();
}

function renderHint() {
  const s = t();
  $('#hint').textContent = state.mode === 'place' ? s.hintPlace : state.mode === 'route' ? s.hintRoute : state.mode === 'report' ? '' : s.hintBrowse;
}

function renderRouteBar() {
  $('#route-count').textContent = t().routePoints(state.route.length);
  $('#route-check').disabled = state.route.length < 2;
  $('#route-undo').disabled = state.route.length === 0;
  $('#route-clear').disabled = state.route.length === 0;
  for (const o of $('#route-width').options) o.textContent = distance(state.lang, Number(o.value));
}

function statusLine(h) {
  const s = t();
  const st = COLOURS[h.status] ? h.status : 'danger-zone';
  const li = el('li', {}, el('span', { class: `swatch ${st === 'danger-zone' ? 'zone' : st}` }), el('span', { text: s.status[st] }));
  if (h.id && !String(h.id).startsWith('zone-')) li.append(el('span', { class: 'muted', text: ` · ${h.id}` }));
  return li;
}

function renderAnswer() {
  const box = $('#answer');
  const s = t();
  const a = state.answer;
  box.replaceChildren();
  box.className = 'answer';
  delete box.dataset.danger;
  if (!a) {
    box.hidden = true;
    document.body.classList.remove('answering');
    return;
  }
  box.hidden = false;
  openSheet(true);
  document.body.classList.add('answering');
  const closeBtn = el('button', { type: 'button', class: 'answer-close', 'aria-label': s.close, title: s.close, onclick: () => {
    state.answer = null;
    highlight([]);
    map.getSource('check')?.setData(emptyFC());
    renderAnswer();
  } }, '×');
  if (a.kind === 'pending') {
    box.classList.add('pending');
    box.append(el('p', { text: s[a.text] || s.checking }));
    return;
  }
  if (a.kind === 'error') {
    box.classList.add('error');
    box.append(closeBtn, el('p', { text: s[a.text] || s.serviceError }));
    return;
  }
  const d = a.data;
  if (d.offline && !d.advice) d.advice = localAdvice(d);
  const danger = Boolean(d.advice && d.advice.danger);
  box.classList.add(danger ? 'danger' : 'caution');
  box.dataset.danger = String(danger);
  box.append(closeBtn);
  const advice = d.advice ? d.advice[state.lang] || d.advice.en : '';
  box.append(el('p', { class: 'advice', id: 'advice' }, danger ? el('span', { class: 'advice-icon', 'aria-hidden': 'true' }, '⚠') : null, advice));
  if (a.kind === 'point') {
    if (d.inside.length) box.append(el('p', { class: 'list-title', text: s.insideList }), el('ul', { class: 'hits' }, d.inside.map(statusLine)));
    if (d.within_accuracy.length) {
      box.append(el('p', { class: 'list-title', text: s.nearList }),
        el('ul', { class: 'hits' }, d.within_accuracy.map((h) => {
          const li = statusLine(h);
          li.append(el('span', { class: 'muted', text: ` · ${distance(state.lang, h.distance_m)}` }));
          return li;
        })));
    }
    if (d.nearest && !d.inside.length) {
      const n = d.nearest;
      const arrow = el('span', { class: 'bearing', 'aria-hidden': 'true' }, '↑');
      arrow.dataset.deg = String(Math.round(n.bearing_deg));
      arrow.style.transform = `rotate(${n.bearing_deg}deg)`;
      box.append(el('p', { class: 'nearest' }, arrow, el('span', {},
        el('strong', { text: `${s.nearest}: ` }),
        s.direction(distance(state.lang, n.distance_m), compass(state.lang, n.bearing_deg), Math.round(n.bearing_deg)),
        el('span', { class: 'muted', text: ` · ${s.status[COLOURS[n.status] ? n.status : 'danger-zone']}` }))));
    } else if (!d.nearest) {
      box.append(el('p', { class: 'nearest', text: s.nearestNone }));
    }
    const where = `${s.yourPlace}: ${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}` + (a.accuracy > 0 ? ` · ${s.accuracy(distance(state.lang, a.accuracy))}` : '');
    box.append(el('p', { class: 'meta', text: where }));
    if (d.offline) {
      box.append(el('p', { class: 'meta offline-answer', id: 'offline-answer', text: s.offlineAnswer(date(state.lang, d.kept_at, true), date(state.lang, d.data_date || d.kept_at, true)) }));
    }
  } else if (a.kind === 'route') {
    box.append(el('p', { class: 'meta', text: s.routeLength(distance(state.lang, d.length_m), distance(state.lang, d.width_m)) }));
    if (d.hazards.length) {
      box.append(el('p', { class: 'list-title', text: `${s.routeCrosses(d.hazards.length)} · ${s.routeAtRisk(distance(state.lang, d.at_risk_m))}` }));
      box.append(el('ol', { class: 'hits route-hits' }, d.hazards.map((h) => {
        const li = statusLine(h);
        li.append(el('span', { class: 'fromto', text: s.routeFromTo(distance(state.lang, h.enter_m), distance(state.lang, h.leave_m)) }));
        return li;
      })));
    }
  }
  box.append(el('p', { class: 'meta', text: `${s.dataDate} ${date(state.lang, d.data_date || state.dataDate, true)}` }));
}

function setDataDate(iso) {
  state.dataDate = iso;
  $('#data-date').textContent = date(state.lang, iso, true);
}

let countText = '';
function setCount(text) {
  countText = text;
  $('#data-count').textContent = text;
}

function renderCount() {
  const c = state.counts;
  if (!c) return setCount(countText);
  setCount(c.shown < c.matched ? t().dataPartial(c.shown, c.matched) : t().dataShown(c.shown));
}

function applyLang() {
  const s = t();
  document.documentElement.lang = state.lang;
  document.title = `${s.title} · Cairn`;
  for (const e of document.querySelectorAll('[data-i18n]')) {
    const v = s[e.dataset.i18n];
    if (typeof v === 'string') e.textContent = v;
  }
  for (const e of document.querySelectorAll('[data-i18n-aria]')) {
    const v = s[e.dataset.i18nAria];
    if (typeof v === 'string') e.setAttribute('aria-label', v);
  }
  for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === state.lang));
  if (state.dataDate) setDataDate(state.dataDate);
  if (map.getLayer('hz-zone-label')) map.setLayoutProperty('hz-zone-label', 'icon-image', `zone-label-${state.lang}`);
  setBasemapLang(map, state.lang);
  renderHint();
  renderRouteBar();
  renderCount();
  renderAnswer();
  renderReport();
  renderKept();
  renderWalk();
  renderOffline();
  syncSheetLabel();
  if (state.popup && state.popupFeatures) state.popup.setDOMContent(popupContent(state.popupFeatures.content));
}

function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  state.lang = lang;
  saveLang(lang);
  applyLang();
}

// The panel is a bottom sheet on a phone: it can be folded to leave more of the map.
const phone = window.matchMedia('(max-width: 799px)');
function openSheet(open) {
  $('#panel').classList.toggle('collapsed', !open);
  syncSheetLabel();
  syncPadding();
}
function syncSheetLabel() {
  const open = !$('#panel').classList.contains('collapsed');
  const h = $('#sheet-handle');
  h.setAttribute('aria-expanded', String(open));
  h.setAttribute('aria-label', open ? t().sheetClose : t().sheetOpen);
}
// Keeps what the map centres on clear of the panel.
// Setting the padding stops any camera animation, so it is set only when it changes.
function syncPadding() {
  const p = $('#panel').getBoundingClientRect();
  const m = $('#map').getBoundingClientRect();
  const want = phone.matches
    ? { top: 0, left: 0, right: 0, bottom: Math.round(Math.max(0, m.bottom - p.top)) }
    : { top: 0, right: 0, bottom: 0, left: Math.round(Math.max(0, p.right - m.left)) };
  const have = map.getPadding();
  if (['top', 'right', 'bottom', 'left'].some((k) => Math.round(have[k]) !== want[k])) map.setPadding(want);
}
new ResizeObserver(syncPadding).observe($('#panel'));

$('#sheet-handle').addEventListener('click', () => openSheet($('#panel').classList.contains('collapsed')));
$('#tool-place').addEventListener('click', () => {
  closePopup();
  setMode(state.mode === 'place' ? 'browse' : 'place');
});
$('#tool-gps').addEventListener('click', checkMyLocation);
$('#tool-route').addEventListener('click', () => {
  closePopup();
  if (state.mode === 'route') {
    setMode('browse');
  } else {
    state.answer = null;
    renderAnswer();
    map.getSource('check')?.setData(emptyFC());
    setMode('route');
  }
});
$('#tool-report').addEventListener('click', () => {
  closePopup();
  if (state.mode === 'report') {
    setMode('browse');
  } else {
    state.answer = null;
    renderAnswer();
    clearRoute();
    setMode('report');
    openSheet(true);
    renderReport();
  }
});
$('#report-cancel').addEventListener('click', () => {
  resetReport();
  setMode('browse');
});
$('#report-gps').addEventListener('click', reportMyLocation);
$('#report-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sendReport();
});
$('#route-check').addEventListener('click', checkRoute);
$('#tool-keep').addEventListener('click', keepThisArea);
$('#tool-walk').addEventListener('click', toggleWalk);
$('#kept-forget').addEventListener('click', async () => {
  await forgetKept();
  state.kept = null;
  state.keeping = null;
  renderKept();
});
$('#route-undo').addEventListener('click', () => {
  state.route.pop();
  state.routeResult = null;
  drawRoute();
});
$('#route-clear').addEventListener('click', () => {
  clearRoute();
  state.answer = null;
  highlight([]);
  renderAnswer();
});
for (const b of document.querySelectorAll('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.mode !== 'browse') setMode('browse');
});

if (phone.matches) openSheet(true);
setMode('browse');
applyLang();
syncPadding();


// When the map last drew a frame: tests wait for it to be still before taking pictures.
let lastRender = performance.now();
map.on('render', () => {
  lastRender = performance.now();
});

// For tests and for people poking at the page from the console.
window.cairn = {
  quietFor: () => performance.now() - lastRender,
  map,
  state,
  setLang,
  hazardCount: () => renderedHazards().length,
  checkPoint,
  source: () => state.source,
  kept: () => state.kept,
  walkLog: () => (state.walk ? state.walk.log : state.walkLog || []),
  offlineReady: async () => Boolean((await navigator.serviceWorker?.ready)?.active),
};

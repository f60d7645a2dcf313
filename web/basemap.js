// What the public map draws beneath (and, for names, above) the hazards: the base map of `cairn
// serve --basemap FILE` when the service offers one (/basemap.json, tiles in the Protomaps schema,
// styled with @protomaps/basemaps from /vendor), else the context Cairn ships (Ukraine's outline,
// the oblasts' borders, the largest settlements named in Ukrainian and English). Glyphs come from
// the service itself (/fonts/...), so labels are real text in the page's language and nothing is
// asked of another host.
//
// The base map is muted: the light flavour with every warm colour (reds, oranges, yellows, pinks)
// turned to grey, so that nothing in it can be taken for a hazard's red, orange or amber, and it
// always lies under the hazards. The style's icons (town dots, capitals, one-way arrows, road
// shields, points of interest) are drawn on the page when MapLibre first asks for them
// (`basemapIcon`, called from app.js's missing-image resolver): Protomaps' sprite is in no
// registry, and a handful of plain shapes drawn here needs no file and no other host.

import { STRINGS } from './i18n.js';

const SOURCE = 'protomaps';
const PREFIX = 'base-';
const REGULAR = 'Noto Sans Regular';
const BOLD = 'Noto Sans Bold';

const origin = () => location.origin;

// The state of the one map this page draws; `setBasemapLang` reads it.
const held = { offered: false, pm: null, flavor: null, tilejson: null, labelIds: [] };

// ---------------------------------------------------------------------------------------------
// Colours: warm hues turned grey.

function hexToHsl(hex) {
  let h = hex.replace('#', '');
  if (h.length === 3) h = h.split('').map((c) => c + c).join('');
  if (!/^[0-9a-f]{6}$/i.test(h)) return null;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
  const max = Math.max(r, g, b), min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let hue;
  if (max === r) hue = ((g - b) / d + (g < b ? 6 : 0)) * 60;
  else if (max === g) hue = ((b - r) / d + 2) * 60;
  else hue = ((r - g) / d + 4) * 60;
  return [hue, s, l];
}

function hslToHex([h, s, l]) {
  const f = (n) => {
    const k = (n + h / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

// A warm colour (hue within 75° of red, either side) keeps its lightness and loses its hue.
export function mute(colour) {
  if (typeof colour !== 'string' || !colour.startsWith('#')) return colour;
  const hsl = hexToHsl(colour);
  if (!hsl) return colour;
  const [h, s, l] = hsl;
  if ((h <= 75 || h >= 285) && s > 0.1) return hslToHex([h, 0.06, l]);
  return colour;
}

function muteAll(value) {
  if (typeof value === 'string') return mute(value);
  if (Array.isArray(value)) return value.map(muteAll);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, muteAll(v)]));
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The Protomaps style, fitted to what Cairn ships.

// The icons the style names, drawn at twice the CSS pixel size: a town's dot, a capital's ringed
// dot, the one-way arrow (pointing up: the style turns it along the road), a road shield as wide
// as its text (`…-Nchar`), and for any point of interest a small grey dot under its name.
const ICON_RATIO = 2;
const drawn = new Set();

function canvas(w, h) {
  const c = document.createElement('canvas');
  c.width = w * ICON_RATIO;
  c.height = h * ICON_RATIO;
  const g = c.getContext('2d');
  g.scale(ICON_RATIO, ICON_RATIO);
  return [c, g];
}

function dot(size, fill, ring, ringWidth) {
  const [c, g] = canvas(size, size);
  g.beginPath();
  g.arc(size / 2, size / 2, size / 2 - ringWidth / 2 - 0.5, 0, Math.PI * 2);
  g.fillStyle = fill;
  g.fill();
  g.lineWidth = ringWidth;
  g.strokeStyle = ring;
  g.stroke();
  return c;
}

export function basemapIcon(id) {
  if (!id || !held.offered) return null;
  let c;
  const shield = /-(\d+)char$/.exec(id);
  if (id === 'townspot') c = dot(8, '#ffffff', '#52606d', 1.6);
  else if (id === 'capital') {
    c = dot(12, '#ffffff', '#3e4c59', 1.6);
    const g = c.getContext('2d');
    g.beginPath();
    g.arc(6, 6, 2.2, 0, Math.PI * 2);
    g.fillStyle = '#3e4c59';
    g.fill();
  } else if (id === 'arrow') {
    const [a, g] = canvas(10, 10);
    g.beginPath();
    g.moveTo(5, 1);
    g.lineTo(9, 7);
    g.lineTo(5, 5.5);
    g.lineTo(1, 7);
    g.closePath();
    g.fillStyle = '#7b8794';
    g.fill();
    c = a;
  } else if (shield) {
    const n = Math.min(Number(shield[1]), 12);
    const w = 8 + 6.5 * n;
    const [a, g] = canvas(w, 16);
    g.beginPath();
    g.roundRect(0.75, 0.75, w - 1.5, 14.5, 3);
    g.fillStyle = '#ffffff';
    g.fill();
    g.lineWidth = 1.5;
    g.strokeStyle = '#9aa5b1';
    g.stroke();
    c = a;
  } else c = dot(7, '#cbd2d9', '#7b8794', 1.2);
  drawn.add(id);
  const g = c.getContext('2d');
  return { image: g.getImageData(0, 0, c.width, c.height), ratio: ICON_RATIO };
}

// Only the layers the file has, when its TileJSON lists them (an extract may leave some out).
function inFile(layers) {
  const listed = (held.tilejson?.vector_layers || []).map((l) => l && l.id).filter(Boolean);
  if (!listed.length) return layers;
  return layers.filter((l) => !l['source-layer'] || listed.includes(l['source-layer']));
}

function protomapsLayers(lang, { labelsOnly = false } = {}) {
  const { pm, flavor } = held;
  const made = pm.layers(SOURCE, flavor, { lang, labelsOnly });
  return inFile(made).map((l) => ({ ...l, id: PREFIX + l.id }));
}

// ---------------------------------------------------------------------------------------------
// The shipped context.

function placeName(lang) {
  return lang === 'uk' ? ['coalesce', ['get', 'name_uk'], ['get', 'name']] : ['get', 'name'];
}

function contextLayers(offered) {
  const hidden = offered ? { visibility: 'none' } : {};
  const layers = [];
  if (!offered) {
    layers.push(
      { id: 'background', type: 'background', paint: { 'background-color': '#d9e2e8' } },
      { id: 'ukraine-fill', type: 'fill', source: 'ukraine', paint: { 'fill-color': '#f8f6ef' } },
      // Large rivers and lakes (GSHHG), pale and thin: never to be taken for a route or a hazard.
      { id: 'lakes', type: 'fill', source: 'context', filter: ['==', ['get', 'kind'], 'lake'],
        paint: { 'fill-color': '#b8d5ea', 'fill-outline-color': '#8fb8d8' } },
      { id: 'rivers', type: 'line', source: 'context', filter: ['==', ['get', 'kind'], 'river'],
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#8fb8d8', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 0.7, 8, 1.4, 12, 3] } },
      { id: 'oblast-borders', type: 'line', source: 'context', filter: ['==', ['get', 'kind'], 'oblast-border'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#8795a1', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 0.6, 10, 1.6], 'line-dasharray': [3, 2] } },
    );
  }
  layers.push(
    { id: 'ukraine-line', type: 'line', source: 'ukraine',
      paint: { 'line-color': '#5f6b76', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 1, 10, 2.5] } },
    { id: 'settlement-dots', type: 'circle', source: 'settlements', layout: hidden,
      filter: ['<=', ['get', 'rank'], ['step', ['zoom'], 25, 6, 100, 7, 300]],
      paint: {
        'circle-color': '#3e4c59',
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, ['case', ['<=', ['get', 'rank'], 5], 3.5, 2.2], 10, ['case', ['<=', ['get', 'rank'], 5], 6, 4]],
        'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
      } },
  );
  return layers;
}

function contextLabels(offered, lang) {
  return [{
    id: 'settlement-labels', type: 'symbol', source: 'settlements',
    filter: ['<=', ['get', 'rank'], ['step', ['zoom'], 12, 5, 25, 6, 100, 7, 300]],
    layout: {
      ...(offered ? { visibility: 'none' } : {}),
      'text-field': placeName(lang),
      'text-font': ['case', ['<=', ['get', 'rank'], 5], ['literal', [BOLD]], ['literal', [REGULAR]]],
      'text-size': ['case', ['<=', ['get', 'rank'], 5], 14, 12],
      'text-anchor': 'left', 'text-offset': [0.5, 0], 'text-padding': 2,
      'symbol-sort-key': ['get', 'rank'],
    },
    paint: { 'text-color': '#1f2933', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
  }];
}

// ---------------------------------------------------------------------------------------------
// What app.js asks for.

async function offeredTileJson() {
  try {
    const r = await fetch(new URL('/basemap.json', location.href).href, { headers: { Accept: 'application/json' } });
    // 204: the service has no base map.
    if (!r.ok || r.status === 204) return null;
    const j = await r.json();
    return Array.isArray(j.tiles) && j.tiles.length ? j : null;
  } catch (_) {
    return null;
  }
}

// The style's glyphs URL, sources and layers beneath the hazards, and the name layers to add
// above them, for what the service offers.
export async function basemapStyle({ lang }) {
  const tilejson = await offeredTileJson();
  let offered = false;
  if (tilejson) {
    try {
      held.pm = await import('/vendor/protomaps-basemaps.js');
      const light = held.pm.namedFlavor('light');
      held.flavor = { ...muteAll(light), regular: REGULAR, bold: BOLD, italic: REGULAR };
      offered = true;
    } catch (err) {
      console.warn('Cairn: the base-map style did not load; showing the shipped context', err);
    }
  }
  held.offered = offered;
  held.tilejson = offered ? tilejson : null;
  const sources = {
    ukraine: { type: 'geojson', data: new URL('/data/ukraine.geojson', location.href).href },
    settlements: { type: 'geojson', data: new URL('/data/settlements.geojson', location.href).href },
  };
  if (!offered) sources.context = { type: 'geojson', data: new URL('/data/context.geojson', location.href).href };
  let layers = [];
  let labels = contextLabels(offered, lang);
  if (offered) {
    // TileJSON by URL: MapLibre reads the file's zooms and bounds from it.
    sources[SOURCE] = { type: 'vector', url: new URL('/basemap.json', location.href).href };
    const labelLayers = protomapsLayers(lang, { labelsOnly: true });
    held.labelIds = labelLayers.map((l) => l.id);
    const ids = new Set(held.labelIds);
    layers = protomapsLayers(lang).filter((l) => !ids.has(l.id));
    labels = [...labelLayers, ...labels];
  }
  layers = [...layers, ...contextLayers(offered)];
  return {
    offered,
    glyphs: `${origin()}/fonts/{fontstack}/{range}.pbf`,
    sources,
    layers,
    labels,
    attribution: offered ? tilejson.attribution : null,
  };
}

// Names in the page's language, and the attribution line to match.
export function setBasemapLang(map, lang) {
  if (map.getLayer('settlement-labels')) map.setLayoutProperty('settlement-labels', 'text-field', placeName(lang));
  if (held.offered && held.pm) {
    for (const l of protomapsLayers(lang, { labelsOnly: true })) {
      if (map.getLayer(l.id) && l.layout && 'text-field' in l.layout) map.setLayoutProperty(l.id, 'text-field', l.layout['text-field']);
    }
  }
  const e = document.getElementById('map-attribution');
  const s = STRINGS[lang];
  if (e && s) e.textContent = held.offered && held.tilejson ? `${held.tilejson.attribution} · ${s.attribution}` : s.attribution;
}

// For tests and the curious: what is drawn beneath the hazards.
window.cairnBasemap = {
  offered: () => held.offered,
  labelLayers: () => (held.offered ? [...held.labelIds, 'settlement-labels'] : ['settlement-labels']),
  icons: () => [...drawn].sort(),
};

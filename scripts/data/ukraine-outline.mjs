// Builds crates/cairn-synth/data/ukraine.geojson: Ukraine's outline within its
// internationally recognised borders, as one GeoJSON Feature, for the synthetic-data
// generator (cairn-synth). Source: Natural Earth 1:50m (public domain) as packaged
// in the npm package world-atlas@2 (countries-50m.json), converted with topojson-client@3.
//
// Natural Earth's default (de facto) view puts the Crimean peninsula in Russia. This
// script finds the Russian polygon part(s) containing Simferopol and Sevastopol
// (point-in-polygon test) and merges them into Ukraine with topojson-client's merge(),
// which dissolves the arcs the two share at the Perekop isthmus.
//
// Usage: node ukraine-outline.mjs <node_modules dir> <output .geojson>
// Normally run by scripts/data/make-synth-data.sh.

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [nodeModules, outPath] = process.argv.slice(2);
if (!nodeModules || !outPath) {
  console.error('usage: node ukraine-outline.mjs <node_modules dir> <output .geojson>');
  process.exit(2);
}
const require = createRequire(join(resolve(nodeModules), 'noop.js'));
const topojson = require('topojson-client');
const atlasPkg = require('world-atlas/package.json');
const topo = JSON.parse(
  readFileSync(join(resolve(nodeModules), 'world-atlas', 'countries-50m.json'), 'utf8'),
);

const UKRAINE_ID = '804'; // ISO 3166-1 numeric
const RUSSIA_ID = '643';
// Points that must be in Crimea: Simferopol, Sevastopol.
const CRIMEA_POINTS = [
  [34.1, 44.95],
  [33.52, 44.6],
];

const geoms = topo.objects.countries.geometries;
const ukr = geoms.find((g) => g.id === UKRAINE_ID);
const rus = geoms.find((g) => g.id === RUSSIA_ID);
if (!ukr || !rus) throw new Error('Ukraine or Russia missing from countries-50m.json');

// Ray-casting point-in-ring test (planar lon/lat; fine at this scale, away from the antimeridian).
function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
function inPolygon(pt, rings) {
  return inRing(pt, rings[0]) && !rings.slice(1).some((h) => inRing(pt, h));
}
function polygonsOf(geometry) {
  if (geometry.type === 'Polygon') return [geometry.coordinates];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates;
  throw new Error(`unexpected geometry type ${geometry.type}`);
}
function topoParts(g) {
  return g.type === 'Polygon' ? [g.arcs] : g.type === 'MultiPolygon' ? g.arcs : [];
}

const ukrFeature = topojson.feature(topo, ukr);
const crimeaInUkraine = CRIMEA_POINTS.every((pt) =>
  polygonsOf(ukrFeature.geometry).some((p) => inPolygon(pt, p)),
);

let merged;
if (crimeaInUkraine) {
  console.error('ukraine-outline: Crimea already inside Ukraine; no merge needed');
  merged = ukrFeature.geometry;
} else {
  // Russian polygon parts (as topology arcs) that hold any of the Crimean points.
  const crimeanParts = topoParts(rus).filter((arcs) => {
    const rings = topojson.feature(topo, { type: 'Polygon', arcs }).geometry.coordinates;
    return CRIMEA_POINTS.some((pt) => inPolygon(pt, rings));
  });
  if (crimeanParts.length === 0) throw new Error('no Russian part contains the Crimean points');
  const mergedParts = new Set(crimeanParts);
  const rest = topoParts(rus).filter((a) => !mergedParts.has(a));
  for (const pt of CRIMEA_POINTS) {
    if (rest.some((arcs) => inPolygon(pt, topojson.feature(topo, { type: 'Polygon', arcs }).geometry.coordinates)))
      throw new Error(`point ${pt} still inside Russia after selecting Crimean parts`);
  }
  console.error(`ukraine-outline: Crimea was in Russia; merging ${crimeanParts.length} part(s) into Ukraine`);
  merged = topojson.merge(topo, [ukr, ...crimeanParts.map((arcs) => ({ type: 'Polygon', arcs }))]);
}

// Round to 5 decimals, drop consecutive duplicates, keep rings closed, and wind
// them as RFC 7946 asks (exterior counter-clockwise, holes clockwise).
const r5 = (v) => Math.round(v * 1e5) / 1e5;
function signedArea(ring) {
  let a = 0;
  for (let i = 0; i < ring.length - 1; i++) a += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return a / 2;
}
function cleanRing(ring, exterior) {
  const out = [];
  for (const [x, y] of ring) {
    const p = [r5(x), r5(y)];
    const last = out[out.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
  }
  const [f, l] = [out[0], out[out.length - 1]];
  if (f[0] !== l[0] || f[1] !== l[1]) out.push([f[0], f[1]]);
  if (out.length < 4) return null;
  const ccw = signedArea(out) > 0;
  if (ccw !== exterior) out.reverse();
  return out;
}
const polygons = polygonsOf(merged)
  .map((rings) => {
    const ext = cleanRing(rings[0], true);
    if (!ext) return null;
    return [ext, ...rings.slice(1).map((h) => cleanRing(h, false)).filter(Boolean)];
  })
  .filter(Boolean)
  // Largest polygon first, so the mainland leads.
  .sort((a, b) => Math.abs(signedArea(b[0])) - Math.abs(signedArea(a[0])));

const feature = {
  type: 'Feature',
  properties: {
    name: 'Ukraine',
    source: 'Natural Earth 1:50m via world-atlas',
    licence: 'public domain',
  },
  geometry:
    polygons.length === 1
      ? { type: 'Polygon', coordinates: polygons[0] }
      : { type: 'MultiPolygon', coordinates: polygons },
};

// One polygon/ring per line: small diffs, still compact.
const coordsJson =
  feature.geometry.type === 'Polygon'
    ? '[\n' + polygons[0].map((r) => '  ' + JSON.stringify(r)).join(',\n') + '\n]'
    : '[\n' + polygons.map((p) => '  ' + JSON.stringify(p)).join(',\n') + '\n]';
const text =
  '{"type":"Feature",\n' +
  '"properties":' + JSON.stringify(feature.properties) + ',\n' +
  '"geometry":{"type":"' + feature.geometry.type + '","coordinates":' + coordsJson + '}}\n';
JSON.parse(text); // sanity: what we write is valid JSON
writeFileSync(outPath, text);

const vertices = polygons.flat().reduce((n, r) => n + r.length, 0);
console.error(
  `ukraine-outline: world-atlas ${atlasPkg.version}; wrote ${outPath}: ${feature.geometry.type}, ` +
    `${polygons.length} polygon(s), ${polygons.flat().length} ring(s), ${vertices} vertices ` +
    `(closing points included), ${text.length} bytes; crimea_merged=${!crimeaInUkraine}`,
);

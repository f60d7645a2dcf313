// The base map and the shipped context in Debian's headless Chromium, for
// crates/cairn/tests/basemap_browser.rs. Usage:
//   node basemap.mjs PLAIN_URL BASEMAP_URL OUTDIR SPEC_JSON
// PLAIN_URL is `cairn serve` without a base map, BASEMAP_URL the same store served with the
// test's base-map file (`--basemap`); SPEC_JSON says where the file's features are (hazard point,
// water and park rectangles, the place and its names). Exits 0 when every check passed;
// otherwise prints each failure and exits 1. Screenshots go to OUTDIR/basemap-*.png.
//
// Every check that something is drawn is made on the screenshot's pixels. The browser may reach
// loopback only; any request elsewhere, console error, page error or HTTP error fails the run.

import fs from 'node:fs';
import path from 'node:path';
import { args, checker, finish, launch } from './common.mjs';

const [plainUrl, baseUrl, outDir, specJson] = args('node basemap.mjs PLAIN_URL BASEMAP_URL OUTDIR SPEC_JSON', 4);
const spec = JSON.parse(specJson);
fs.mkdirSync(outDir, { recursive: true });
const { failures, check } = checker();
const browser = await launch({ map: true });

function watch(page, label) {
  const problems = [];
  const requests = [];
  page.on('console', (m) => {
    const text = m.text();
    // MapLibre warns of an icon the style names and nobody drew.
    if (m.type() === 'warning' && /could not be loaded/.test(text)) problems.push(`${label}: ${text}`);
    if (m.type() !== 'error') return;
    const loc = m.location()?.url || '';
    // The page asks whether the service offers hazard tiles; without them that is a 404.
    if (/status of 404/.test(text) && (loc.endsWith('/tiles.json') || text.includes('/tiles.json'))) return;
    problems.push(`${label}: console error: ${text} ${loc}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText || '';
    const p = new URL(r.url()).pathname;
    // MapLibre cancels tile requests it no longer needs when the view moves on.
    if (why === 'net::ERR_ABORTED' && (p.startsWith('/tiles/') || p.startsWith('/basemap/') || p.startsWith('/fonts/'))) return;
    problems.push(`${label}: request failed: ${r.url()} ${why}`);
  });
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !(u.pathname === '/tiles.json' && r.status() === 404)) {
      problems.push(`${label}: HTTP ${r.status()} for ${r.url()}`);
    }
  });
  return { problems, requests };
}

async function settle(page) {
  await page.evaluate(() => window.cairn.map.triggerRepaint());
  await page.waitForFunction(
    () => {
      const m = window.cairn.map;
      return m.loaded() && !m.isMoving() && m.areTilesLoaded() && window.cairn.quietFor() > 700;
    },
    null,
    { polling: 100, timeout: 60_000 },
  );
}

// Shows the hazard point at `zoom` and waits for the map to be complete and still.
async function showAt(page, zoom) {
  await showPlace(page, spec.lon, spec.lat, zoom);
}

async function showPlace(page, lon, lat, zoom) {
  await page.evaluate(([x, y, z]) => window.cairn.map.jumpTo({ center: [x, y], zoom: z }), [lon, lat, zoom]);
  await page.waitForTimeout(500); // The page reloads hazards 200 ms after a move.
  await page.waitForFunction(() => !document.querySelector('#data-count')?.textContent.match(/…/));
  await settle(page);
}

// The free part of the map (not under the panel) in CSS pixels, and the device pixel ratio.
async function freeArea(page) {
  return page.evaluate(() => {
    const m = document.querySelector('#map').getBoundingClientRect();
    const p = document.querySelector('#panel').getBoundingClientRect();
    const phone = p.width >= m.width - 1;
    const x = phone ? m.left : p.right;
    const bottom = phone ? p.top : m.bottom;
    return { area: { x, y: m.top, width: m.right - x, height: bottom - m.top }, scale: window.devicePixelRatio };
  });
}

// Reads a screenshot in a blank page: the RGB at `points` (CSS pixels), and over `area` the
// counts of hazard-coloured pixels and of pixels that differ from `other` (another screenshot).
async function readPng(context, png, scale, { points = [], area = null, other = null } = {}) {
  const p = await context.newPage();
  const result = await p.evaluate(async ([b64, b64other, k, pts, a]) => {
    async function pixels(b) {
      const img = new Image();
      img.src = `data:image/png;base64,${b}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d', { willReadFrequently: true });
      g.drawImage(img, 0, 0);
      return { w: img.width, d: g.getImageData(0, 0, img.width, img.height).data };
    }
    const one = await pixels(b64);
    const two = b64other ? await pixels(b64other) : null;
    const at = (x, y) => {
      const i = (Math.round(y * k) * one.w + Math.round(x * k)) * 4;
      return [one.d[i], one.d[i + 1], one.d[i + 2]];
    };
    const out = { points: pts.map((q) => at(q.x, q.y)), hazard: 0, differ: 0, counted: 0 };
    if (a) {
      for (let y = Math.round(a.y * k); y < Math.round((a.y + a.height) * k); y++) {
        for (let x = Math.round(a.x * k); x < Math.round((a.x + a.width) * k); x++) {
          const i = (y * one.w + x) * 4;
          const [r, g, b] = [one.d[i], one.d[i + 1], one.d[i + 2]];
          out.counted++;
          const max = Math.max(r, g, b), min = Math.min(r, g, b);
          if (max >= 64 && max - min >= 0.3 * max && max === r) {
            const hue = (60 * (g - b)) / (max - min);
            if (hue >= -15 && hue <= 55) out.hazard++;
          }
          if (two && Math.abs(r - two.d[i]) + Math.abs(g - two.d[i + 1]) + Math.abs(b - two.d[i + 2]) > 30) out.differ++;
        }
      }
    }
    return out;
  }, [png.toString('base64'), other ? other.toString('base64') : null, scale, points, area]);
  await p.close();
  return result;
}

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const near = (a, b, tol = 24) => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) <= tol;

// Points spread over a lon/lat rectangle that lie in the free part of the map and under no
// hazard, in CSS pixels; with `beneath`, only those layers may lie under them (besides the base map's).
async function samplePoints(page, rect, area, beneath = []) {
  return page.evaluate(([r, a, under]) => {
    const m = window.cairn.map;
    const c = m.getCanvas().getBoundingClientRect();
    const out = [];
    for (let i = 1; i <= 4; i++) {
      for (let j = 1; j <= 4; j++) {
        const lon = r[0] + ((r[2] - r[0]) * i) / 5;
        const lat = r[1] + ((r[3] - r[1]) * j) / 5;
        const p = m.project([lon, lat]);
        const x = c.left + p.x, y = c.top + p.y;
        if (x < a.x + 4 || x > a.x + a.width - 4 || y < a.y + 4 || y > a.y + a.height - 4) continue;
        const box = [[p.x - 6, p.y - 6], [p.x + 6, p.y + 6]];
        const names = window.cairnBasemap.labelLayers();
        const over = m.queryRenderedFeatures(box)
          .filter((f) => !under.includes(f.layer.id))
          .filter((f) => !f.layer.id.startsWith('base-') || names.includes(f.layer.id));
        if (over.length) continue; // a hazard, a name or the outline over it
        if (document.elementFromPoint(x, y) !== m.getCanvas()) continue; // a control over it
        out.push({ x, y });
      }
    }
    return out;
  }, [rect, area, beneath]);
}

async function setVisible(page, ids, on) {
  await page.evaluate(([list, v]) => {
    const m = window.cairn.map;
    for (const id of list) if (m.getLayer(id)) m.setLayoutProperty(id, 'visibility', v ? 'visible' : 'none');
  }, [ids, on]);
  await settle(page);
}

const VIEWPORTS = [
  { name: 'phone', viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  { name: 'desktop', viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
];

for (const vp of VIEWPORTS) {
  const { name, ...opts } = vp;
  const context = await browser.newContext({ ...opts, locale: 'uk-UA' });

  // --- With the test's base-map file. -------------------------------------------------------
  {
    const label = `${name} with base map`;
    const page = await context.newPage();
    const w = watch(page, label);
    await page.goto(`${baseUrl}?lang=uk`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.cairnReady === true, null, { timeout: 90_000 });
    check(await page.evaluate(() => window.cairnBasemap.offered()), `${label}: the page uses the service's base map`);
    await showAt(page, spec.zoom);
    const { area, scale } = await freeArea(page);
    const file = path.join(outDir, `basemap-${name}.png`);
    const png = await page.screenshot({ path: file });

    const water = await page.evaluate(() => window.cairn.map.getPaintProperty('base-water', 'fill-color'));
    // The park's colour varies with the zoom (an expression): it must be a green, unlike the earth.
    const earth = await page.evaluate(() => window.cairn.map.getPaintProperty('base-earth', 'fill-color'));
    const waterPts = await samplePoints(page, spec.water, area);
    const parkPts = await samplePoints(page, spec.park, area);
    const read = await readPng(context, png, scale, { points: [...waterPts, ...parkPts], area });
    const got = read.points;
    const waterOk = got.slice(0, waterPts.length).filter((p) => near(p, hex(water))).length;
    const green = (p) => p[1] > p[0] + 12 && p[1] > p[2] + 6 && !near(p, hex(earth));
    const parkOk = got.slice(waterPts.length).filter(green).length;
    console.log(`     ${file}: water ${water} at ${waterOk}/${waterPts.length} points, park (green) at ${parkOk}/${parkPts.length}; sampled ${JSON.stringify(got)}`);
    check(waterPts.length >= 3 && waterOk === waterPts.length, `${label}: the test's lake is drawn in the base map's water colour where it lies (${waterOk}/${waterPts.length})`);
    check(parkPts.length >= 3 && parkOk === parkPts.length, `${label}: the test's park is drawn green where it lies (${parkOk}/${parkPts.length})`);
    check(read.hazard >= 50, `${label}: the hazard stays visible over the base map (${read.hazard} hazard-coloured pixels)`);

    // The base map beneath the hazard: hiding the base map changes the picture around it, and
    // with the hazards hidden nothing in the base map is hazard-coloured.
    const hazardIds = ['hz-fill', 'hz-zone', 'hz-outline', 'hz-line-edge', 'hz-line', 'hz-point', 'hz-marker', 'hz-zone-label'];
    await setVisible(page, hazardIds, false);
    const bare = await page.screenshot({ path: path.join(outDir, `basemap-${name}-no-hazards.png`) });
    const bareRead = await readPng(context, bare, scale, { area });
    check(bareRead.hazard < bareRead.counted * 0.001, `${label}: nothing in the base map can be taken for a hazard (${bareRead.hazard} hazard-coloured pixels of ${bareRead.counted} with the hazards hidden)`);
    await setVisible(page, hazardIds, true);

    const roads = await page.evaluate(() => window.cairn.map.queryRenderedFeatures({ layers: window.cairn.map.getStyle().layers.filter((l) => l.id.startsWith('base-roads')).map((l) => l.id) }).length);
    check(roads > 0, `${label}: the test's road is drawn (${roads} road features on screen)`);

    // The place's label, in Ukrainian.
    const place = await page.evaluate(([x, y]) => {
      const m = window.cairn.map;
      const ids = window.cairnBasemap.labelLayers().filter((id) => m.getLayer(id));
      const fs = m.queryRenderedFeatures({ layers: ids }).filter((f) => f.properties.name === 'Testville');
      return fs.map((f) => ({ layer: f.layer.id, uk: f.properties['name:uk'], field: JSON.stringify(m.getLayoutProperty(f.layer.id, 'text-field')) }));
    }, [spec.place[0], spec.place[1]]);
    console.log(`     place labels: ${JSON.stringify(place.map((p) => ({ layer: p.layer, uk: p.uk, fromUk: p.field.includes('name:uk') })))}`);
    check(place.length > 0 && place[0].uk === spec.place_uk && place[0].field.includes('name:uk'),
      `${label}: the test's place is labelled, from its Ukrainian name ("${spec.place_uk}")`);
    // Its text is drawn: hiding the name layers changes pixels.
    const nameIds = await page.evaluate(() => window.cairnBasemap.labelLayers());
    await setVisible(page, nameIds, false);
    const unnamed = await page.screenshot();
    const named = await readPng(context, png, scale, { area, other: unnamed });
    check(named.differ > 100, `${label}: names are drawn as text with Cairn's glyphs (${named.differ} pixels differ without them)`);
    await setVisible(page, nameIds, true);

    // The style's icons are drawn by the page (there is no sprite): the road's shield here, the
    // village's dot at zoom 7 (the style shows place dots below zoom 8).
    await showPlace(page, spec.place[0], spec.place[1], 7);
    const icons = await page.evaluate(() => window.cairnBasemap.icons());
    check(icons.includes('generic_shield-3char') && icons.includes('townspot'),
      `${label}: the road's shield and the village's dot are drawn by the page (${icons.join(', ')})`);
    await showAt(page, spec.zoom);

    const attribution = await page.evaluate(() => document.querySelector('#map-attribution').textContent);
    check(attribution.includes('OpenStreetMap'), `${label}: the attribution credits OpenStreetMap ("${attribution}")`);

    const outside = w.requests.filter((u) => new URL(u).origin !== new URL(baseUrl).origin && !u.startsWith('data:') && !u.startsWith('blob:'));
    check(outside.length === 0, `${label}: no request left the service (${outside.slice(0, 3).join(', ')})`);
    check(w.requests.some((u) => new URL(u).pathname.startsWith('/basemap/')), `${label}: base-map tiles were loaded from the service`);
    check(w.requests.some((u) => new URL(u).pathname.startsWith('/fonts/')), `${label}: glyphs were loaded from the service`);
    for (const p of w.problems) check(false, p);
    await page.close();
  }

  // --- Without a base map: the shipped context. -----------------------------------------------
  {
    const label = `${name} without base map`;
    const page = await context.newPage();
    const w = watch(page, label);
    await page.goto(`${plainUrl}?lang=uk`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.cairnReady === true, null, { timeout: 90_000 });
    check(!(await page.evaluate(() => window.cairnBasemap.offered())), `${label}: the page knows there is no base map`);

    // Zoomed in on the hazard: the oblast borders and the outline are context enough to be drawn.
    await showAt(page, 7);
    const { area, scale } = await freeArea(page);
    const file = path.join(outDir, `context-${name}.png`);
    const png = await page.screenshot({ path: file });
    await setVisible(page, ['oblast-borders'], false);
    const noBorders = await page.screenshot();
    const borders = await readPng(context, png, scale, { area, other: noBorders });
    check(borders.differ > 200, `${label}: the oblasts' borders are drawn (${borders.differ} pixels differ without them)`);
    check(borders.hazard >= 20, `${label}: hazards are visible over the context (${borders.hazard} hazard-coloured pixels)`);
    await setVisible(page, ['oblast-borders'], true);

    // Large rivers and lakes: the Kyiv reservoir in the lakes' colour where it lies, and rivers
    // around Kyiv drawn (hiding them changes the picture).
    const reservoir = [30.40, 50.70, 30.46, 50.738]; // lies inside the shipped reservoir
    await showPlace(page, 30.43, 50.719, 11);
    const lakeColour = await page.evaluate(() => window.cairn.map.getPaintProperty('lakes', 'fill-color'));
    const lakePts = await samplePoints(page, reservoir, area, ['lakes', 'ukraine-fill', 'background']);
    const lakePng = await page.screenshot({ path: path.join(outDir, `context-${name}-lake.png`) });
    const lake = await readPng(context, lakePng, scale, { points: lakePts });
    const lakeOk = lake.points.filter((p) => near(p, hex(lakeColour))).length;
    check(lakePts.length >= 3 && lakeOk === lakePts.length,
      `${label}: the Kyiv reservoir is drawn in the lakes' colour where it lies (${lakeOk}/${lakePts.length}; ${JSON.stringify(lake.points.slice(0, 3))})`);
    await showPlace(page, 30.7, 50.5, 8);
    const withRivers = await page.screenshot();
    await setVisible(page, ['rivers'], false);
    const noRivers = await page.screenshot();
    const rivers = await readPng(context, withRivers, scale, { area, other: noRivers });
    check(rivers.differ > 100, `${label}: rivers are drawn around Kyiv (${rivers.differ} pixels differ without them)`);
    await setVisible(page, ['rivers'], true);
    await showAt(page, 7);

    // Settlement names in Ukrainian, drawn as text.
    const names = await page.evaluate(() => {
      const m = window.cairn.map;
      return {
        field: JSON.stringify(m.getLayoutProperty('settlement-labels', 'text-field')),
        shown: m.queryRenderedFeatures({ layers: ['settlement-labels'] }).map((f) => f.properties.name_uk).filter(Boolean),
      };
    });
    console.log(`     ${file}: ${names.shown.length} Ukrainian names on screen, e.g. ${names.shown.slice(0, 5).join(', ')}`);
    check(names.field.includes('name_uk') && names.shown.length >= 3 && names.shown.every((n) => /[\u0400-\u04ff]/.test(n)),
      `${label}: settlements are labelled in Ukrainian (${names.shown.slice(0, 3).join(', ')})`);
    await setVisible(page, ['settlement-labels'], false);
    const noNames = await page.screenshot();
    const text = await readPng(context, png, scale, { area, other: noNames });
    check(text.differ > 200, `${label}: settlement names are drawn (${text.differ} pixels differ without them)`);
    await setVisible(page, ['settlement-labels'], true);

    // English names after the language switch.
    await page.evaluate(() => window.cairn.setLang('en'));
    const en = await page.evaluate(() => JSON.stringify(window.cairn.map.getLayoutProperty('settlement-labels', 'text-field')));
    check(!en.includes('name_uk') && en.includes('"name"'), `${label}: in English the names are the English ones`);

    const outside = w.requests.filter((u) => new URL(u).origin !== new URL(plainUrl).origin && !u.startsWith('data:') && !u.startsWith('blob:'));
    check(outside.length === 0, `${label}: no request left the service (${outside.slice(0, 3).join(', ')})`);
    check(!w.requests.some((u) => new URL(u).pathname.startsWith('/basemap/')), `${label}: no base-map tile was asked for`);
    for (const p of w.problems) check(false, p);
    await page.close();
  }
  await context.close();
}

await finish(browser, failures);

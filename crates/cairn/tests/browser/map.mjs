// Drives Debian's headless Chromium over Cairn's public map, as a person on a phone and on a
// desktop would use it, for crates/cairn/tests/map_browser.rs. Usage:
//   node map.mjs BASE_URL OUTDIR LON LAT
// where LON LAT is a place inside a public hazard. Exits 0 when every check passed; otherwise
// prints each failure and exits 1. Screenshots go to OUTDIR/map-*.png.
//
// The browser may reach loopback only (--host-resolver-rules), so any request the page makes to
// another host fails and is reported; so are console errors, page errors and HTTP errors.

import fs from 'node:fs';
import path from 'node:path';
import { args, checker, finish, launch } from './common.mjs';

const [base, outDir, lonArg, latArg] = args('node map.mjs BASE_URL OUTDIR LON LAT', 4);
const lon = Number(lonArg);
const lat = Number(latArg);
const origin = new URL(base).origin;
fs.mkdirSync(outDir, { recursive: true });

const { failures, check } = checker();
const timings = {};
const started = Date.now();
function lap(name, since) {
  timings[name] = Date.now() - since;
}

const browser = await launch({ map: true });

// Watches one page for anything that went wrong on the wire or in the console.
function watch(page, label) {
  const problems = [];
  const requests = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // The page asks whether the service offers vector tiles; a 404 there is the expected answer
    // of a service without them, and the browser logs every 404 as an error.
    const loc = m.location()?.url || '';
    if (/status of 404/.test(text) && (loc.endsWith('/tiles.json') || text.includes('/tiles.json'))) return;
    problems.push(`${label}: console error: ${text} ${loc}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText || '';
    // MapLibre cancels the tile requests it no longer needs when the view moves on: an aborted
    // tile is the map working, not failing. Every other failed request counts.
    if (why === 'net::ERR_ABORTED' && new URL(r.url()).pathname.startsWith('/tiles/')) return;
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

async function waitReady(page, label) {
  const t0 = Date.now();
  try {
    await page.waitForFunction(() => window.cairnReady === true, null, { timeout: 90_000 });
  } catch (e) {
    check(false, `${label}: the map became ready (window.cairnReady) within 90 s`);
    throw e;
  }
  lap(`${label}: ready`, t0);
}

// Waits until MapLibre has everything it asked for and has drawn no frame for 700 ms.
async function settle(page) {
  // A fresh frame first: headless Chromium may otherwise show a stale canvas under new overlays.
  await page.evaluate(() => window.cairn.map.triggerRepaint());
  await page.waitForFunction(
    () => {
      const m = window.cairn.map;
      return m.loaded() && !m.isMoving() && m.areTilesLoaded() && window.cairn.quietFor() > 700;
    },
    null,
    { polling: 100, timeout: 30_000 },
  );
}

// Moves the map so the hazard point is at the centre of the visible map, at zoom `z`.
async function centreOn(page, z) {
  await page.evaluate(([x, y, zoom]) => window.cairn.map.jumpTo({ center: [x, y], zoom }), [lon, lat, z]);
  await page.waitForTimeout(500); // The page reloads hazards 200 ms after a move.
  await page.waitForFunction(() => !document.querySelector('#data-count')?.textContent.match(/…/));
  await settle(page);
}

// The page coordinates of a lon/lat on the map.
async function pixelOf(page, x, y) {
  return page.evaluate(([px, py]) => {
    const m = window.cairn.map;
    const p = m.project([px, py]);
    const r = m.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, [x, y]);
}

// Counts, within `area` of a screenshot (CSS pixels) and outside the `skip` rectangles, the
// pixels that are hazard-coloured (reds, oranges, ambers) and those that differ from the map's
// background, by drawing the PNG into a canvas on a blank page.
async function measure(context, png, scale, area, skip) {
  const p = await context.newPage();
  const result = await p.evaluate(async ([b64, k, a, holes]) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(img, 0, 0);
    const x0 = Math.round(a.x * k), y0 = Math.round(a.y * k);
    const w = Math.round(a.width * k), h = Math.round(a.height * k);
    const d = g.getImageData(x0, y0, w, h).data;
    const skipped = (x, y) => holes.some((r) => x >= r.x * k && x < (r.x + r.width) * k && y >= r.y * k && y < (r.y + r.height) * k);
    let hazard = 0;
    let notBackground = 0;
    let counted = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      const px = i / 4;
      if (skipped(x0 + (px % w), y0 + Math.floor(px / w))) continue;
      counted++;
      const [r, gg, bb] = [d[i], d[i + 1], d[i + 2]];
      // Hazard colours are reds, oranges and ambers: hue within 345°..55°, clearly saturated.
      const max = Math.max(r, gg, bb);
      const min = Math.min(r, gg, bb);
      if (max >= 64 && max - min >= 0.3 * max && max === r) {
        const hue = (60 * (gg - bb)) / (max - min);
        if (hue >= -15 && hue <= 55) hazard++;
      }
      if (Math.abs(r - 0xd9) + Math.abs(gg - 0xe2) + Math.abs(bb - 0xe8) > 24) notBackground++;
      if (i % 64 === 0) colours.add((r >> 4) * 256 + (gg >> 4) * 16 + (bb >> 4));
    }
    return { width: w, height: h, counted, hazard, notBackground, colours: colours.size };
  }, [png.toString('base64'), scale, area, skip]);
  await p.close();
  return result;
}

async function shot(page, context, name, { minHazard = 50 } = {}) {
  const file = path.join(outDir, `map-${name}.png`);
  await settle(page);
  const png = await page.screenshot({ path: file });
  // Only the part of the map that the panel leaves free counts, less any popup over it.
  const { area, skip, scale } = await page.evaluate(() => {
    const m = document.querySelector('#map').getBoundingClientRect();
    const p = document.querySelector('#panel').getBoundingClientRect();
    const phone = p.width >= m.width - 1;
    const x = phone ? m.left : p.right;
    const bottom = phone ? p.top : m.bottom;
    const holes = [...document.querySelectorAll('.maplibregl-popup')].map((e) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    });
    return { area: { x, y: m.top, width: m.right - x, height: bottom - m.top }, skip: holes, scale: window.devicePixelRatio };
  });
  const m = await measure(context, png, scale, area, skip);
  console.log(`     screenshot ${file}: map part ${m.width}x${m.height} px (${m.counted} counted), ${m.hazard} hazard-coloured, ${m.notBackground} not background, ${m.colours} colours`);
  check(m.colours > 20 && m.notBackground > m.counted * 0.05, `${name}: the map in the screenshot is not blank`);
  check(m.hazard >= minHazard, `${name}: hazards are visible in the screenshot (${m.hazard} >= ${minHazard} hazard-coloured pixels)`);
  return m;
}

// What the service itself advises at the hazard point, to compare with what the page shows.
const expected = await (await fetch(`${origin}/api/check/point?lon=${lon}&lat=${lat}&accuracy=0`)).json();
check(expected.advice?.danger === true, `the service says the given point ${lon},${lat} is inside a hazard`);

try {
  // ---------------------------------------------------------------------------- phone, English
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'en-GB',
    permissions: ['geolocation'],
    geolocation: { longitude: lon, latitude: lat, accuracy: 20 },
  });
  const page = await phone.newPage();
  const w = watch(page, 'phone');
  let t0 = Date.now();
  await page.goto(base, { waitUntil: 'load' });
  await waitReady(page, 'phone');
  lap('phone: page load to first hazards drawn', t0);
  await settle(page);

  const source = await page.evaluate(() => window.cairn.source());
  console.log(`     hazards come from: ${source === 'tiles' ? 'vector tiles (/tiles.json)' : 'GeoJSON (OGC API items)'}`);
  const count = await page.evaluate(() => window.cairn.hazardCount());
  check(count > 0, `phone: the hazard layers have rendered features (${count})`);
  check((await page.evaluate(() => document.documentElement.lang)) === 'en', 'phone: an English browser gets the English page');
  check((await page.textContent('h1')).includes('Explosive hazard map'), 'phone: the English title shows');
  check(/\d{4}/.test(await page.textContent('#data-date')), 'phone: the data date shows');
  check((await page.textContent('.emergency')).includes('101') && (await page.textContent('.emergency')).includes('112'), 'phone: the emergency numbers 101 / 112 show');
  const attribution = await page.textContent('#map-attribution');
  check(attribution.includes('Natural Earth') && attribution.includes('GeoNames'), 'phone: the attribution names Natural Earth and GeoNames');
  check(await page.isVisible('#map-attribution'), 'phone: the attribution is visible');
  check((await page.$$('.legend li')).length >= 4, 'phone: the legend shows');
  await shot(page, phone, 'phone');

  // Check a place: the tool, then a tap on the hazard.
  t0 = Date.now();
  await centreOn(page, 15);
  await page.click('#tool-place');
  check((await page.getAttribute('#tool-place', 'aria-pressed')) === 'true', 'phone: the place tool is on');
  const px = await pixelOf(page, lon, lat);
  const panelTop = await page.evaluate(() => document.querySelector('#panel').getBoundingClientRect().top);
  check(px.y < panelTop, `phone: the hazard is above the bottom sheet (y ${Math.round(px.y)} < ${Math.round(panelTop)})`);
  await page.touchscreen.tap(px.x, px.y);
  await page.waitForSelector('#answer[data-danger]', { timeout: 15_000 });
  lap('phone: tap to place answer', t0);
  const advice = (await page.textContent('#advice')).trim();
  check((await page.getAttribute('#answer', 'data-danger')) === 'true', 'phone: the place answer is marked as danger');
  check(advice.includes(expected.advice.en), `phone: the answer shows the service's English danger advice ("${advice.slice(0, 60)}…")`);
  check(await page.evaluate(() => getComputedStyle(document.querySelector('#answer')).backgroundColor === 'rgb(179, 0, 12)'), 'phone: the danger answer is red');
  await settle(page);
  await shot(page, phone, 'phone-check', { minHazard: 500 });

  // Switch to Ukrainian: the page and the answer follow.
  await page.click('button[data-lang="uk"]');
  check((await page.evaluate(() => document.documentElement.lang)) === 'uk', 'phone: the page language is now Ukrainian');
  check((await page.textContent('h1')).includes('Карта вибухонебезпеки'), 'phone: the Ukrainian title shows');
  check((await page.textContent('#advice')).includes(expected.advice.uk), 'phone: the answer shows the service\u2019s Ukrainian advice');
  check((await page.textContent('#tool-place')).includes('Перевірити місце'), 'phone: the tools are in Ukrainian');
  check((await page.textContent('.legend')).includes('Підтверджена'), 'phone: the legend is in Ukrainian');
  await shot(page, phone, 'phone-uk', { minHazard: 500 });

  // Tap the hazard in browsing mode: its details, with the danger text and the data date.
  await page.click('.answer-close');
  await settle(page);
  const px2 = await pixelOf(page, lon, lat);
  await page.touchscreen.tap(px2.x, px2.y);
  await page.waitForSelector('.hz-popup .hazard-card', { timeout: 10_000 });
  const popup = await page.textContent('.hz-popup');
  check(/Небезпечн/.test(popup), 'phone: the hazard popup shows the Ukrainian danger text');
  check(popup.includes('Дані станом на'), 'phone: the hazard popup shows the data date');
  check(!/безпечн[ео] місце|\bsafe\b/i.test(popup.replace(/небезпечн/gi, '')), 'phone: the popup never says "safe"');
  await settle(page);
  await shot(page, phone, 'phone-popup', { minHazard: 300 });
  await page.click('.hz-popup .maplibregl-popup-close-button');

  // My location: the GPS (set by the test) puts us on the hazard.
  await page.click('#tool-gps');
  await page.waitForSelector('#answer[data-danger="true"] .meta', { timeout: 15_000 });
  check((await page.textContent('#answer')).includes('точність'), 'phone: the GPS answer names its accuracy');
  check((await page.textContent('#advice')).includes('НЕБЕЗПЕКА'), 'phone: the GPS answer warns of danger');
  // Report a suspicious object through the form: a tap on the map, what was seen, a photo.
  await page.click('#tool-report');
  check(await page.isVisible('#report-form'), 'phone: the report form opens');
  check((await page.textContent('#report-form h2')).includes('Повідомити про підозрілий предмет'), 'phone: the report form is in Ukrainian');
  await page.click('#report-send');
  check((await page.textContent('#report-error')).includes('Позначте місце'), 'phone: sending without a place says what is missing');
  const sheetTop = await page.evaluate(() => document.querySelector('#panel').getBoundingClientRect().top);
  const mapTop = await page.evaluate(() => document.querySelector('#map').getBoundingClientRect().top);
  check(sheetTop - mapTop > 150, `phone: with the form open the map is still there to tap (${Math.round(sheetTop - mapTop)} px)`);
  await page.touchscreen.tap(195, Math.round((mapTop + sheetTop) / 2));
  const place = await page.evaluate(() => window.cairn.state.report.place);
  check(place !== null, `phone: a tap on the map marks the report's place (${JSON.stringify(place)})`);
  check(!(await page.textContent('#report-place')).includes('Торкніться'), 'phone: the form shows the place marked');
  await page.selectOption('#report-category', 'shell-or-bomb');
  await page.fill('#report-text', 'Browser test: a rusty shell by the path');
  const photo = await page.screenshot({ clip: { x: 0, y: mapTop, width: 120, height: 90 } });
  await page.setInputFiles('#report-photo', { name: 'photo.png', mimeType: 'image/png', buffer: photo });
  t0 = Date.now();
  await page.click('#report-send');
  await page.waitForSelector('#report-ref', { timeout: 15_000 });
  lap('phone: report sent to reference shown', t0);
  const reference = (await page.textContent('#report-ref')).trim();
  check(/^R-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/.test(reference), `phone: the reference shows (${reference})`);
  console.log(`report reference: ${reference}`);
  const receipt = await page.textContent('#report-result');
  check(receipt.includes('101') && receipt.includes('112') && receipt.includes('Запишіть цей номер'), 'phone: the receipt tells to keep the number and call 101 / 112');
  check(await page.isVisible('#report-ref'), 'phone: the reference is visible');
  await page.evaluate(() => document.querySelector('#report-ref').scrollIntoView({ block: 'center' }));
  await settle(page);
  await shot(page, phone, 'phone-report', { minHazard: 0 });
  await page.click('button[data-lang="en"]');
  check((await page.textContent('#report-result')).includes('Your reference'), 'phone: the receipt follows the language switch');
  await page.click('#report-cancel');
  check(!(await page.isVisible('#report-form')), 'phone: cancel closes the report form');

  check(w.problems.length === 0, `phone: no console errors, failed requests or HTTP errors${w.problems.length ? `:\n  ${w.problems.join('\n  ')}` : ''}`);
  const foreign = w.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  check(foreign.length === 0, `phone: every request went to Cairn itself${foreign.length ? `: ${foreign.join(', ')}` : ''}`);
  await phone.close();

  // --------------------------------------------------------------------------- desktop, Ukrainian
  const desk = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'uk-UA' });
  const dpage = await desk.newPage();
  const dw = watch(dpage, 'desktop');
  t0 = Date.now();
  await dpage.goto(base, { waitUntil: 'load' });
  await waitReady(dpage, 'desktop');
  lap('desktop: page load to first hazards drawn', t0);
  await settle(dpage);
  check((await dpage.evaluate(() => document.documentElement.lang)) === 'uk', 'desktop: a Ukrainian browser gets the Ukrainian page');
  check((await dpage.evaluate(() => window.cairn.hazardCount())) > 0, 'desktop: the hazard layers have rendered features');
  await shot(dpage, desk, 'desktop');

  // Check a route straight across the hazard, 600 m each side of it.
  await centreOn(dpage, 14);
  await dpage.click('#tool-route');
  const dLon = 600 / (111320 * Math.cos((lat * Math.PI) / 180));
  for (const x of [lon - dLon, lon + dLon]) {
    const p = await pixelOf(dpage, x, lat);
    await dpage.mouse.click(p.x, p.y);
  }
  check((await dpage.textContent('#route-count')).includes('2'), 'desktop: two route points marked');
  t0 = Date.now();
  await dpage.click('#route-check');
  await dpage.waitForSelector('#answer[data-danger]', { timeout: 15_000 });
  lap('desktop: route check answer', t0);
  check((await dpage.getAttribute('#answer', 'data-danger')) === 'true', 'desktop: the route answer is marked as danger');
  const hits = await dpage.$$eval('.route-hits li', (ls) => ls.map((l) => l.textContent));
  check(hits.length >= 1, `desktop: the route answer lists the hazards crossed (${hits.length})`);
  check(hits.some((h) => /від .* до .* від початку/.test(h)), 'desktop: each hazard crossed has its enter and leave distances');
  await settle(dpage);
  const riskDrawn = await dpage.evaluate(() => window.cairn.map.queryRenderedFeatures({ layers: ['route-risk'] }).length);
  check(riskDrawn >= 1, 'desktop: the parts of the route at risk are drawn');
  await settle(dpage);
  await shot(dpage, desk, 'desktop-route', { minHazard: 500 });
  await dpage.click('button[data-lang="en"]');
  check((await dpage.textContent('#advice')).includes('DANGER'), 'desktop: switching to English re-renders the route answer');
  // The position is in the address, and a link with it opens the same place.
  await centreOn(dpage, 15);
  const hash = await dpage.evaluate(() => location.hash);
  check(/^#at=15\/[0-9.]+\/[0-9.]+/.test(hash), `desktop: the address holds the map's position (${hash})`);
  const shared = await desk.newPage();
  await shared.goto(new URL(hash, base).href, { waitUntil: 'load' });
  await waitReady(shared, 'desktop (shared link)');
  const at = await shared.evaluate(() => { const c = window.cairn.map.getCenter(); return [c.lng, c.lat, window.cairn.map.getZoom()]; });
  check(Math.abs(at[0] - lon) < 1e-3 && Math.abs(at[1] - lat) < 1e-3 && Math.abs(at[2] - 15) < 0.01,
    `desktop: a shared link opens the same place (${at.map((v) => v.toFixed(4)).join(', ')})`);
  await shared.close();
  check(dw.problems.length === 0, `desktop: no console errors, failed requests or HTTP errors${dw.problems.length ? `:\n  ${dw.problems.join('\n  ')}` : ''}`);
  await desk.close();
} catch (e) {
  check(false, `the browser run stopped: ${e.stack || e}`);
}

timings.total = Date.now() - started;
console.log(`timings (ms): ${JSON.stringify(timings)}`);
await finish(browser, failures);

// Drives Debian's headless Chromium over Cairn's public map as a person on the move would use it,
// for crates/cairn/tests/offline_browser.rs. Usage:
//   node offline.mjs BASE_URL OUTDIR SERVER_PID FIXTURE_JSON
// FIXTURE_JSON names the test's hazards: { square: {id, w, s, e, n}, spot: {id, lon, lat, radius_m} }.
//
// Online: the walk warning fires on a track approaching the square and stays quiet on one passing
// 200 m from it; the selected hazard is in the address; the language choice is remembered; the
// title fits a phone; axe-core finds no serious or critical violation on the map, the report form
// and the officers' and auditors' pages; the area is kept for offline use. Then the server process
// is stopped (a real cut: connections are refused), and the page must open again from the service
// worker, draw the kept hazards, answer a place check from them, and warn on the same tracks.
// Exits 0 when every check passed; otherwise prints each failure and exits 1.

import fs from 'node:fs';
import path from 'node:path';
import { args, axe as axeCheck, checker, finish, launch } from './common.mjs';

const [base, outDir, pidArg, fixtureArg] = args('node offline.mjs BASE_URL OUTDIR SERVER_PID FIXTURE_JSON', 4);
const fx = JSON.parse(fixtureArg);
const origin = new URL(base).origin;
fs.mkdirSync(outDir, { recursive: true });

const { failures, check } = checker();
const browser = await launch({ map: true });

// Everything that goes wrong on the wire or in the console. Once the server is stopped,
// refused connections are the point of the test and are not counted.
let serverStopped = false;
function watch(page, label) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (serverStopped && /ERR_CONNECTION_REFUSED|Failed to fetch|Failed to load resource/.test(text)) return;
    problems.push(`${label}: console error: ${text} ${m.location()?.url || ''}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('request', (r) => {
    if (new URL(r.url()).origin !== origin && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) {
      problems.push(`${label}: request to another host: ${r.url()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} for ${r.url()}`);
  });
  return problems;
}

async function waitReady(page, label) {
  try {
    await page.waitForFunction(() => window.cairnReady === true, null, { timeout: 90_000 });
    return true;
  } catch (e) {
    return check(false, `${label}: the map became ready within 90 s`);
  }
}

async function settle(page) {
  await page.evaluate(() => window.cairn.map.triggerRepaint());
  await page.waitForFunction(() => {
    const m = window.cairn.map;
    return m.loaded() && !m.isMoving() && m.areTilesLoaded() && window.cairn.quietFor() > 700;
  }, null, { polling: 100, timeout: 30_000 });
}

// Metres per degree here (a spherical figure is plenty for laying out test tracks).
const mLat = 111_320;
const mLon = (lat) => 111_320 * Math.cos((lat * Math.PI) / 180);
const sq = fx.square;
const midLat = (sq.s + sq.n) / 2;
const midLon = (sq.w + sq.e) / 2;

// Track A: from 600 m west of the square towards its middle, 10 m a step, along its middle line.
// Track B: from 600 m west to 600 m east, 200 m north of its northern edge.
const trackA = [];
for (let d = 600; d >= -40; d -= 10) trackA.push({ lon: sq.w - d / mLon(midLat), lat: midLat, outside: d });
const northB = sq.n + 200 / mLat;
const trackB = [];
for (let d = -600; d <= 600 + (sq.e - sq.w) * mLon(midLat); d += 20) trackB.push({ lon: sq.w + d / mLon(northB), lat: northB });

const ACCURACY = 10;

// Walks a track with the GPS overridden; returns the log of the page's judgements and the
// track step at which the warning banner first showed (or -1).
async function walk(context, page, track, label) {
  // The first fix the page gets is where the GPS is when warnings are turned on.
  await context.setGeolocation({ latitude: track[0].lat, longitude: track[0].lon, accuracy: ACCURACY });
  await page.click('#tool-walk');
  let warnedAt = -1;
  for (let i = 0; i < track.length; i++) {
    const p = track[i];
    await context.setGeolocation({ latitude: p.lat, longitude: p.lon, accuracy: ACCURACY });
    // Until the page has judged this very fix.
    await page.waitForFunction(([lon, lat]) => {
      const log = window.cairn.walkLog();
      const e = log[log.length - 1];
      return e && Math.abs(e.lon - lon) < 1e-9 && Math.abs(e.lat - lat) < 1e-9;
    }, [p.lon, p.lat], { timeout: 5_000 }).catch(() => {});
    if (warnedAt < 0 && (await page.isVisible('#walk-alert'))) warnedAt = i;
  }
  const log = await page.evaluate(() => window.cairn.walkLog());
  if (warnedAt >= 0) await page.screenshot({ path: path.join(outDir, `offline-${label}.png`) });
  await page.click('#tool-walk');
  check(!(await page.isVisible('#walk-alert')), `${label}: the warning goes when "warn me as I walk" is turned off`);
  return { log, warnedAt };
}

async function walks(context, page, label) {
  const a = await walk(context, page, trackA, `${label}-approach`);
  const judged = (log, track) => track.filter((p) => log.some((e) => Math.abs(e.lon - p.lon) < 1e-9 && Math.abs(e.lat - p.lat) < 1e-9)).length;
  check(judged(a.log, trackA) === trackA.length, `${label}: every GPS fix of the approach was judged (${judged(a.log, trackA)} of ${trackA.length})`);
  if (check(a.warnedAt >= 0, `${label}: approaching the hazard, the walk warning fires`)) {
    const at = trackA[a.warnedAt].outside;
    check(at > 0, `${label}: it fires before the hazard is reached (${at} m before its edge)`);
    // 75 m plus the accuracy, plus 15 m online (a service answer stands for the next 15 m) and
    // one 10 m step.
    check(at <= 75 + ACCURACY + 25, `${label}: and not far out (${at} m; warned from 75 m plus the accuracy)`);
    const first = a.log.find((e) => e.level !== 'none');
    check(first && first.ids.includes(sq.id), `${label}: the warning names the square (${first?.ids})`);
  }
  const b = await walk(context, page, trackB, `${label}-pass`);
  check(judged(b.log, trackB) === trackB.length, `${label}: every GPS fix of the pass was judged (${judged(b.log, trackB)} of ${trackB.length})`);
  check(b.warnedAt < 0 && b.log.every((e) => e.level === 'none'),
    `${label}: passing 200 m from the hazard, no warning (${JSON.stringify(b.log.filter((e) => e.level !== 'none').slice(0, 2))})`);
}

const axe = (page, label) => axeCheck(page, label, check);

const context = await browser.newContext({
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: 'uk-UA',
  permissions: ['geolocation'],
  geolocation: { latitude: trackB[0].lat, longitude: trackB[0].lon, accuracy: ACCURACY },
  serviceWorkers: 'allow',
});
const page = await context.newPage();
const problems = watch(page, 'phone');

// --- Online -------------------------------------------------------------------------------
await page.goto(`${base}#at=15/${midLat.toFixed(5)}/${(midLon - 0.004).toFixed(5)}`);
await waitReady(page, 'phone');
await settle(page);
check(await page.evaluate(() => window.cairn.offlineReady()), 'the service worker is installed and active after the first visit');

// The title fits a phone's width (it wraps rather than being cut).
const title = await page.evaluate(() => {
  const h = document.querySelector('.topbar h1');
  return { scroll: h.scrollWidth, client: h.clientWidth, text: h.textContent, overflow: getComputedStyle(h).textOverflow, white: getComputedStyle(h).whiteSpace };
});
check(title.scroll <= title.client + 1 && title.white !== 'nowrap', `the title "${title.text}" fits a 360 px phone (${title.scroll} of ${title.client} px, white-space ${title.white})`);

await axe(page, 'phone map');

// Walking with warnings, online (each fix asked of the service).
await walks(context, page, 'online');

// A tapped hazard goes into the address, and the address opens it.
await page.evaluate(([lon, lat]) => window.cairn.map.jumpTo({ center: [lon, lat], zoom: 16 }), [midLon, midLat]);
await settle(page);
const pt = await page.evaluate(([lon, lat]) => window.cairn.map.project([lon, lat]), [midLon, midLat]);
const box = await page.locator('#map').boundingBox();
await page.mouse.click(box.x + pt.x, box.y + pt.y);
await page.waitForSelector('.hz-popup', { timeout: 10_000 }).catch(() => {});
const hash = await page.evaluate(() => location.hash);
check(hash.includes(`hz=${encodeURIComponent(sq.id)}`) && /at=/.test(hash), `tapping the square puts it in the address (${hash})`);
const shared = await context.newPage();
const sharedProblems = watch(shared, 'shared link');
await shared.goto(`${base}#at=14/${midLat.toFixed(5)}/${midLon.toFixed(5)}&hz=${encodeURIComponent(sq.id)}`);
await waitReady(shared, 'shared link');
await shared.waitForSelector('.hz-popup .hazard-card', { timeout: 15_000 }).catch(() => {});
const popupText = await shared.textContent('.hz-popup').catch(() => '');
check(popupText.includes(sq.name), `a link with the hazard opens its details (${popupText.slice(0, 80)})`);
problems.push(...sharedProblems);
await shared.close();
await page.click('.hz-popup .maplibregl-popup-close-button');
check(!(await page.evaluate(() => location.hash)).includes('hz='), 'closing the details takes the hazard out of the address');

// The language choice is remembered.
await page.click('button[data-lang="en"]');
await page.reload();
await waitReady(page, 'phone reload');
check((await page.evaluate(() => document.documentElement.lang)) === 'en', 'the language chosen (English) is remembered after a reload');
await page.click('button[data-lang="uk"]');

// The report form and the officers' and auditors' pages, for accessibility.
await page.click('#tool-report');
await page.waitForSelector('#report-form:not([hidden])');
await axe(page, 'phone report form');
await page.click('#report-cancel');
for (const p of ['/officer', '/audit', '/parcel']) {
  const other = await context.newPage();
  await other.goto(`${base.replace(/\/$/, '')}${p}`);
  await other.waitForLoadState('load');
  await axe(other, `page ${p}`);
  await other.close();
}
const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'uk-UA' });
const dpage = await desktop.newPage();
problems.push(...watch(dpage, 'desktop'));
await dpage.goto(`${base}#at=13/${midLat.toFixed(5)}/${midLon.toFixed(5)}`);
await waitReady(dpage, 'desktop');
await axe(dpage, 'desktop map');
await desktop.close();

// Keep this area for offline use (the view around the square and the spot).
await page.evaluate(([lon, lat]) => window.cairn.map.jumpTo({ center: [lon, lat], zoom: 14 }), [midLon + 0.006, midLat]);
await settle(page);
await page.click('#tool-keep');
await page.waitForSelector('#kept-info[data-kept="true"]', { timeout: 120_000 }).catch(() => {});
const kept = await page.evaluate(() => {
  const k = window.cairn.kept();
  return k && { hazards: k.hazards, tiles: k.tiles, ids: k.features.map((f) => f.properties.id ?? f.id), keptAt: k.keptAt, dataDate: k.dataDate };
});
check(kept && kept.ids.includes(sq.id) && kept.ids.includes(fx.spot.id), `the kept area holds both hazards (${JSON.stringify(kept?.ids)})`);
check(kept && kept.tiles > 0, `the kept area holds map tiles (${kept?.tiles})`);
const keptText = await page.textContent('#kept-info');
check(/\d/.test(keptText) && keptText.includes('2'), `the panel says what was kept and when: "${keptText}"`);
await page.screenshot({ path: path.join(outDir, 'offline-kept.png') });

// --- The connection cut ---------------------------------------------------------------------
const offlineLog = [];
page.on('console', (m) => offlineLog.push(`${m.type()}: ${m.text()} ${m.location()?.url || ''}`));
page.on('requestfailed', (r) => offlineLog.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
process.kill(Number(pidArg), 'SIGKILL');
serverStopped = true;
const refused = await fetch(`${base}health`).then(() => false, () => true);
check(refused, 'the server is gone: connections to it are refused');

await page.reload();
if (!(await waitReady(page, 'phone offline'))) {
  for (const p of problems) console.log(`  ${p}`);
  for (const l of offlineLog) console.log(`  ${l}`);
  await page.screenshot({ path: path.join(outDir, 'offline-map.png') });
  await finish(browser, failures);
}
await page.evaluate(([lon, lat]) => window.cairn.map.jumpTo({ center: [lon, lat], zoom: 15 }), [midLon, midLat]);
await settle(page).catch(() => {});
const drawn = await page.evaluate(() => window.cairn.hazardCount());
check(drawn > 0, `offline, the page opens from the service worker and draws the kept hazards (${drawn} drawn)`);
check(await page.isVisible('#offline-banner'), `offline, the page says so: "${await page.textContent('#offline-banner').catch(() => '')}"`);
await page.screenshot({ path: path.join(outDir, 'offline-map.png') });

// A place check inside the square and one 400 m north of it, answered from the kept area.
await page.evaluate(([lon, lat]) => window.cairn.checkPoint(lon, lat, 0, 'tap'), [midLon, midLat]);
await page.waitForSelector('#answer[data-danger]', { timeout: 10_000 }).catch(() => {});
const inside = await page.evaluate(() => ({ danger: document.querySelector('#answer')?.dataset.danger, text: document.querySelector('#answer')?.textContent || '' }));
check(inside.danger === 'true' && inside.text.includes(sq.id), `offline, a place inside the square is answered as danger, naming it (${inside.text.slice(0, 120)})`);
check(await page.isVisible('#offline-answer'), 'offline, the answer says it comes from kept data, with its date');
await page.screenshot({ path: path.join(outDir, 'offline-check.png') });
await page.evaluate(([lon, lat]) => window.cairn.checkPoint(lon, lat, 0, 'tap'), [midLon, sq.n + 400 / mLat]);
await page.waitForFunction(() => document.querySelector('#answer')?.dataset.danger === 'false', null, { timeout: 10_000 }).catch(() => {});
const outside = await page.evaluate(() => ({ danger: document.querySelector('#answer')?.dataset.danger, text: document.querySelector('#answer')?.textContent || '' }));
check(outside.danger === 'false' && (await page.isVisible('#offline-answer')), `offline, a place 400 m away is answered from kept data as no recorded hazard (${outside.text.slice(0, 160)})`);
await page.click('.answer-close');

await walks(context, page, 'offline');

for (const p of problems) check(false, p);
await finish(browser, failures);

// Drives the information officers' desk (/officer) in Debian's headless Chromium: signs in with a
// token, finds report REFERENCE in the queue, opens an area from it, then shows that area's
// history, then releases a demo area through the land-release form and opens its certificate.
// Prints "ok"/"FAIL" lines and "opened area: ID"; exits 1 on any failure.
// Usage: node officer.mjs BASE_URL OUTDIR TOKEN REFERENCE
import fs from 'node:fs';
import path from 'node:path';
import { args, checker, finish, launch } from './common.mjs';

const [base, outDir, token, reference] = args('node officer.mjs BASE_URL OUTDIR TOKEN REFERENCE', 4);
fs.mkdirSync(outDir, { recursive: true });
const { failures, check } = checker();
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', (d) => d.accept());
  await page.goto(new URL('/officer', base).href);
  check(await page.locator('#desk').isHidden(), 'nothing is shown before signing in');
  await page.fill('#token', 'not-a-token');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#error').textContent.includes('401'), null, { timeout: 10_000 });
  check(await page.locator('#desk').isHidden(), 'a bad token is refused and shows nothing');
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector(`#queue tr[data-reference="${reference}"]`, { timeout: 15_000 });
  check(true, `the queue shows report ${reference}`);
  await page.screenshot({ path: path.join(outDir, 'officer-queue.png'), fullPage: true });
  await page.click(`#queue tr[data-reference="${reference}"] button:first-of-type`);
  await page.waitForFunction((r) => !document.querySelector(`#queue tr[data-reference="${r}"]`), reference, { timeout: 15_000 });
  check(true, 'opening an area takes the report off the new queue');
  await page.selectOption('#queue-state', 'opened');
  await page.waitForSelector(`#queue tr[data-reference="${reference}"]`, { timeout: 15_000 });
  const decision = await page.textContent(`#queue tr[data-reference="${reference}"] td:last-child`);
  const area = (decision.match(/HA-[0-9A-Za-z-]+/) || [''])[0];
  check(area !== '', `the opened report names its new area (${decision.trim()})`);
  console.log(`opened area: ${area}`);
  await page.fill('#history-id', area);
  await page.click('#history-form button[type=submit]');
  await page.waitForFunction(() => Number(document.querySelector('#history').dataset.count || 0) >= 1, null, { timeout: 15_000 });
  const row = await page.textContent('#history tbody tr:first-child');
  check(row.includes('reported'), `the area's history shows its first revision as reported (${row.trim()})`);
  await page.screenshot({ path: path.join(outDir, 'officer-history.png'), fullPage: true });

  // The land-release form: a suspected polygon area of the demo, a non-technical survey of all of
  // it recorded through the API, then the form cancels it and the certificate opens.
  const prep = await page.evaluate(async (tok) => {
    const h = { Authorization: `Bearer ${tok}` };
    const items = await (await fetch('/ogc/collections/hazardous-areas/items?limit=1000', { headers: h })).json();
    // A drawn outline (every hazard comes as a MultiPolygon; a spot or corridor carries centre_wkt).
    const f = items.features.find((x) => x.properties.status === 'suspected' && !x.properties.centre_wkt);
    if (!f) return { error: 'no suspected polygon in the demo data' };
    const r = await fetch('/api/activities', {
      method: 'POST',
      headers: { ...h, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        area_id: f.id, kind: 'non-technical-survey', organisation: 'Example Demining', team: 'Team 7',
        started: '2026-11-10', ended: '2026-11-12', geometry: f.geometry, devices: [], outcome: 'no evidence of mines',
      }),
    });
    const a = await r.json();
    return r.ok ? { area: f.id, activity: a.id, geometry: JSON.stringify(f.geometry) } : { error: JSON.stringify(a) };
  }, token);
  check(!prep.error, `an activity to release on (${prep.error || prep.activity})`);
  await page.fill('#release-area', prep.area);
  await page.selectOption('#release-method', 'cancel');
  await page.fill('#release-activity', prep.activity);
  await page.fill('#release-geometry', prep.geometry);
  await page.fill('#release-reason', 'Browser test: NTS found no evidence');
  await page.click('#release-form button[type=submit]');
  await page.waitForSelector('#certificate-link', { timeout: 15_000 });
  const answer = await page.textContent('#release-answer');
  check(answer.includes('closed'), `the form released the whole area (${answer.trim()})`);
  await page.click('#certificate-link');
  await page.waitForURL(/^blob:/, { timeout: 15_000 });
  const title = await page.title();
  check(title.startsWith('Handover certificate HC-'), `the certificate opens (${title})`);
  await page.screenshot({ path: path.join(outDir, 'officer-certificate.png'), fullPage: true });
  check(errors.every((e) => e.includes('401')), `no console errors but the refused sign-in (${errors.join(' | ')})`);
} catch (e) {
  check(false, `the desk worked: ${e.message}`);
}
await finish(browser, failures);

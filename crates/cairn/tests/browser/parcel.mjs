// "Is my land affected?" (/parcel) in Debian's headless Chromium with every host but loopback
// unreachable, on a phone-sized screen: pastes a parcel, checks the extract lists the hazards it
// should (a danger zone with no id among them), that the language switch changes the page and its
// lang attribute, that a bad parcel is answered with the server's reason, that every control has
// a label, that the PDF link downloads a PDF, and that the page made no outside request and logged
// no error. Prints "ok"/"FAIL" lines; exits 1 on any failure.
// Usage: node parcel.mjs URL PARCEL_JSON IDS(comma-separated) OUT.png
import { args, checker, finish, launch } from './common.mjs';

const [url, parcel, ids, png] = args('node parcel.mjs URL PARCEL_JSON IDS OUT.png', 4);
const { failures, check } = checker();
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  const outside = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith(new URL(url).origin) && !r.url().startsWith('blob:')) outside.push(r.url()); });
  await page.goto(url);
  check(await page.evaluate(() => document.documentElement.lang) === 'uk', 'the page opens in Ukrainian');
  check((await page.locator('h1').textContent()).includes('Чи є небезпека'), 'the title is Ukrainian');
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select')]
    .filter((el) => !(el.labels && el.labels.length)).map((el) => el.id));
  check(unlabelled.length === 0, `every control has a label (${unlabelled.join(',')})`);
  // A bad parcel: the server's reason is shown.
  await page.fill('#text', '{"type": "Point", "coordinates": [30, 50]}');
  await page.click('#go');
  await page.waitForFunction(() => document.getElementById('status').className === 'error');
  const said = await page.locator('#status').textContent();
  check(said.includes('body'), `a bad parcel is refused with the reason (${said})`);
  // The parcel.
  await page.fill('#text', parcel);
  await page.click('#go');
  await page.waitForSelector('#result:not([hidden])');
  const rows = await page.$$eval('#hazards tbody tr', (trs) => trs.map((tr) => tr.textContent));
  for (const id of ids.split(',')) check(rows.some((r) => r.includes(id)), `the extract lists ${id}`);
  check(rows.some((r) => r.includes('Небезпечна зона')), 'the extract lists a danger zone');
  check(await page.locator('#advice.danger').count() === 1, 'the danger advice shows');
  check((await page.locator('#caveat').textContent()).includes('Відсутність позначки'), 'the caveat shows in Ukrainian');
  await page.screenshot({ path: png, fullPage: true });
  // English.
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.getElementById('caveat').textContent.includes('No mark'));
  check(await page.evaluate(() => document.documentElement.lang) === 'en', 'the language switch sets lang="en"');
  check((await page.locator('h1').textContent()).includes('Is my land affected?'), 'the title is English');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#pdf')]);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  check(readFileSync(path).subarray(0, 5).toString() === '%PDF-', 'the PDF button downloads a PDF');
  check(outside.length === 0, `no request beyond this server (${outside.join(' ')})`);
  // Chromium logs the refused bad parcel's 400 itself: that one is expected, nothing else.
  const others = errors.filter((e) => !/status of 400/.test(e));
  check(errors.length - others.length === 1, `the one refused parcel is the one 400 (${errors.length - others.length})`);
  check(others.length === 0, `no other console errors (${others.join(' | ')})`);
} catch (e) {
  check(false, `the page worked: ${e.message}`);
}
await finish(browser, failures);

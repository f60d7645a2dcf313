// Drives the auditors' page (/audit) in Debian's headless Chromium: refuses a bad token, signs in
// with an auditor's token, runs the server's policy and compares the table with EXPECTED
// ("rule record" pairs, comma-separated, in order), filters by rule, downloads the CSV, shows a
// pasted policy's error with its line, and runs a pasted policy that is good. Checks that the
// page logged no error (but the refused sign-in and bad policy) and asked nothing of any host but Cairn.
// Prints "ok"/"FAIL" lines; exits 1 on any failure.
// Usage: node audit.mjs BASE_URL OUTDIR TOKEN EXPECTED
import fs from 'node:fs';
import path from 'node:path';
import { args, checker, finish, launch } from './common.mjs';

const [base, outDir, token, expectedArg] = args('node audit.mjs BASE_URL OUTDIR TOKEN EXPECTED', 4);
const expected = expectedArg ? expectedArg.split(',') : [];
fs.mkdirSync(outDir, { recursive: true });
const { failures, check } = checker();
const origin = new URL(base).origin;
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  const rows = () => page.$$eval('#violations tbody tr', (trs) => trs
    .filter((tr) => !tr.hidden)
    .map((tr) => `${tr.dataset.rule} ${tr.dataset.record}`));

  await page.goto(new URL('/audit', base).href);
  check(await page.locator('#desk').isHidden(), 'nothing is shown before signing in');
  await page.fill('#token', 'not-a-token');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#error').textContent.includes('401'), null, { timeout: 10_000 });
  check(await page.locator('#desk').isHidden(), 'a bad token is refused and shows nothing');

  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#violations').dataset.count !== undefined, null, { timeout: 20_000 });
  const shown = await rows();
  check(JSON.stringify(shown) === JSON.stringify(expected),
    `the table lists the expected violations (${shown.join(', ')})`);
  const counts = await page.$$eval('#counts tbody tr', (trs) => trs.map((tr) => `${tr.dataset.rule}=${tr.lastChild.textContent}`));
  const want = {};
  for (const e of expected) { const r = e.split(' ')[0]; want[r] = (want[r] || 0) + 1; }
  check(counts.every((c) => { const [r, n] = c.split('='); return Number(n) === (want[r] || 0); }) && counts.length >= Object.keys(want).length,
    `the counts per rule match (${counts.join(', ')})`);
  const summaries = await page.$$eval('#violations tbody tr td:last-child', (tds) => tds.map((td) => td.textContent));
  check(summaries.every((s) => s.length > 10), 'every violation has a summary');
  await page.screenshot({ path: path.join(outDir, 'audit.png'), fullPage: true });

  // The filter by rule.
  await page.selectOption('#rule-filter', 'permitted-zones');
  const filtered = await rows();
  check(filtered.length === expected.filter((e) => e.startsWith('permitted-zones ')).length
    && filtered.every((r) => r.startsWith('permitted-zones ')), `the filter shows one rule (${filtered.join(', ')})`);
  await page.selectOption('#rule-filter', '');
  check((await rows()).length === expected.length, 'the filter set back shows every violation');

  // The CSV download.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.click('#csv')]);
  const csvPath = await download.path();
  const csv = fs.readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
  check(csv[0] === 'rule,record,began,summary,catalogue_version', `the CSV has its header (${csv[0]})`);
  const csvPairs = csv.slice(1).map((l) => l.split(',').slice(0, 2).join(' '));
  check(JSON.stringify(csvPairs) === JSON.stringify(expected), `the CSV lists the same violations (${csvPairs.join(', ')})`);
  check(download.suggestedFilename().startsWith('cairn-audit-'), `the CSV is named (${download.suggestedFilename()})`);

  // A pasted policy with a mistake on line 2, then a good one.
  await page.fill('#policy-text', '[rules.marking]\nwithin = 72\n');
  await page.click('#policy-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#policy-error').textContent.length > 0, null, { timeout: 15_000 });
  const perr = await page.textContent('#policy-error');
  check(perr.includes('line 2') && perr.includes('> ') && perr.includes('within = 72'),
    `a bad policy shows its error with the line (${perr.split('\n')[0]})`);
  check(await page.getAttribute('#policy-error', 'data-line') === '2', 'the error marks line 2');
  await page.screenshot({ path: path.join(outDir, 'audit-policy-error.png'), fullPage: true });
  await page.fill('#policy-text', '[policy]\nname = "Lifetimes only"\n[rules.ap-lifetime]\nmax-self-destruct = "15 days"\nmax-self-deactivation = "120 days"\n');
  await page.click('#policy-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#summary').textContent.includes('Lifetimes only'), null, { timeout: 15_000 });
  const lifetimes = await rows();
  const wantLifetimes = expected.filter((e) => e.startsWith('ap-lifetime '));
  check(JSON.stringify(lifetimes) === JSON.stringify(wantLifetimes), `the pasted policy's audit replaces the table (${lifetimes.join(', ')})`);
  check((await page.textContent('#policy-error')) === '', 'the error is cleared by a good policy');

  // Chromium logs every 4xx answer; the refused token (401) and the bad policy (400) are expected.
  const unexpected = errors.filter((e) => !/status of (401|400) /.test(e));
  check(unexpected.length === 0, `no console errors but the refused sign-in and policy (${errors.join(' | ')})`);
  const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  check(foreign.length === 0, `every request went to Cairn itself${foreign.length ? `: ${foreign.join(', ')}` : ''}`);
} catch (e) {
  check(false, `the auditors' page worked: ${e.message}`);
}
await finish(browser, failures);

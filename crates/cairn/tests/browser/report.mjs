// Opens a transparency report (a self-contained HTML file) in Debian's headless Chromium with every
// host unreachable, checks that both charts rendered with bars, that the page made no request
// beyond its own file and logged no error, and saves a full-page screenshot.
// Prints "ok"/"FAIL" lines; exits 1 on any failure.
// Usage: node report.mjs FILE.html OUT.png
import { pathToFileURL } from 'node:url';
import { args, checker, finish, launch } from './common.mjs';

const [file, png] = args('node report.mjs FILE.html OUT.png', 2);
const { failures, check } = checker();
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url);
  const charts = await page.evaluate(() => [...document.querySelectorAll('svg.chart')].map((s) => {
    const box = s.getBoundingClientRect();
    return { id: s.id, bars: s.querySelectorAll('rect.bar').length, width: box.width, height: box.height, total: Number(s.dataset.total) };
  }));
  console.log(`charts: ${JSON.stringify(charts)}`);
  for (const id of ['chart-released', 'chart-casualties']) {
    const c = charts.find((x) => x.id === id);
    check(c && c.width > 300 && c.height > 100, `${id} is drawn (${c ? `${c.width}×${c.height}` : 'missing'})`);
    check(c && c.bars > 0 && c.total > 0, `${id} has bars (${c ? c.bars : 0}, total ${c ? c.total : 0})`);
  }
  const tables = await page.locator('table').count();
  check(tables >= 6, `the report's tables are there (${tables})`);
  const others = requests.filter((u) => u !== url);
  check(others.length === 0, `no request beyond the file itself (${others.join(' ')})`);
  check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
  // The charts and what lies between them, however long the list of areas above them is.
  const top = await page.locator('#chart-released').boundingBox();
  const bottom = await page.locator('#chart-casualties').boundingBox();
  const y = Math.max(0, top.y - 60);
  await page.screenshot({ path: png, fullPage: true, clip: { x: 0, y, width: 1100, height: bottom.y + bottom.height + 20 - y } });
} catch (e) {
  check(false, `the report opened: ${e.message}`);
}
await finish(browser, failures);

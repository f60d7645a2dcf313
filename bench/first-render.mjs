// Time to first map render: opens Cairn's public map in Debian's headless Chromium (through
// playwright-core, installed by crates/cairn/tests/browser's package.json) RUNS times, each in a
// fresh browser context with an empty cache, and prints the median and worst time from the
// start of navigation to the first contentful paint and to the first complete map (the page's
// `cairnReadyAt`: hazards loaded and MapLibre idle), for a desktop and a phone viewport.
// Usage: node bench/first-render.mjs BASE_URL [RUNS]
import { chromium } from '../crates/cairn/tests/browser/node_modules/playwright-core/index.mjs';

const [base, runsArg] = process.argv.slice(2);
if (!base) {
  console.error('usage: node bench/first-render.mjs BASE_URL [RUNS]');
  process.exit(2);
}
const runs = Number(runsArg || 7);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [label, viewport] of [['desktop 1280x800', { width: 1280, height: 800 }], ['phone 390x844', { width: 390, height: 844 }]]) {
  const fcp = [];
  const ready = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    let b = 0;
    page.on('response', async (r) => {
      const len = Number(r.headers()['content-length'] || 0);
      b += len;
    });
    await page.goto(base, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.cairnReady === true, null, { timeout: 120_000, polling: 50 });
    const t = await page.evaluate(() => ({
      ready: window.cairnReadyAt,
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    }));
    ready.push(t.ready);
    fcp.push(t.fcp);
    bytes = b;
    await ctx.close();
  }
  console.log(`${label}: first contentful paint median ${median(fcp).toFixed(0)} ms (worst ${Math.max(...fcp).toFixed(0)}); ` +
    `first complete map median ${median(ready).toFixed(0)} ms (worst ${Math.max(...ready).toFixed(0)}) over ${runs} loads; ` +
    `about ${(bytes / 1024).toFixed(0)} KiB with a Content-Length on the last load`);
}
await browser.close();

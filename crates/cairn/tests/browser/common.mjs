// What every browser script of crates/cairn/tests shares: its arguments, Debian's headless
// Chromium launched with every host but loopback unreachable, the ok/FAIL checks, axe-core, and
// the exit status. Each script keeps only what it tests.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// The script's positional arguments, or the usage line and exit status 2 when fewer than `count`
// are given (an empty string counts as given).
export function args(usage, count) {
  const given = process.argv.slice(2);
  if (given.length < count) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return given;
}

// Debian's Chromium, headless, reaching loopback only (--host-resolver-rules): any request the
// page makes to another host fails and is reported. `map` adds what MapLibre's WebGL needs in a
// headless browser (SwiftShader) and keeps Chromium's own background requests out of the way.
export async function launch({ map = false } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    process.exit(1);
  }
  const flags = ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];
  if (map) {
    flags.push(
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: flags });
}

// `check(ok, what)` prints an ok/FAIL line and keeps the failures.
export function checker() {
  const failures = [];
  const check = (ok, what) => {
    if (!ok) failures.push(what);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    return ok;
  };
  return { failures, check };
}

// Closes the browser and exits: 0 when every check passed, else 1 after listing the failures.
export async function finish(browser, failures) {
  await browser.close().catch(() => {});
  if (failures.length) {
    console.log(`\n${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
    process.exit(1);
  }
  process.exit(0);
}

let axeSource = null;

// axe-core (WCAG 2.2 AA rules and best practices), run in the page (page.evaluate is not bound
// by the page's CSP): a serious or critical violation fails; minor and moderate ones are noted.
export async function axe(page, label, check) {
  if (!axeSource) axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const result = await page.evaluate(async (src) => {
    // eslint-disable-next-line no-eval
    (0, eval)(src);
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  }, axeSource);
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `${label}: axe-core finds no serious or critical violation${bad.length ? `: ${JSON.stringify(bad)}` : ''}`);
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`note ${label}: minor or moderate: ${minor.map((v) => v.id).join(', ')}`);
}

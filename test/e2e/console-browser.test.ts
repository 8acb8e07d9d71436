// The browser terminal (server/static/terminal.{html,js}) in headless Chromium: the page served by the daemon
// loads xterm.js from the daemon itself, attaches to the console WebSocket, shows console-echo's banner, and a line
// typed on the keyboard comes back as the echo. Needs Debian's `chromium`: skipped with the remedy when it is
// missing, except under CI, where that is a failure.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { banner, PROMPT } from '../../core/guests/images/console-echo.js';
import { withServer } from '../console/http.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

function requireChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium not found at ${CHROMIUM}; to run this test: apt-get install -y --no-install-recommends chromium`;
  if (process.env.CI) assert.fail(`${message} (CI is set, so this is a failure, not a skip)`);
  t.skip(message);
  return false;
}

/** The terminal's lines as the user sees them (xterm's buffer, cells never written trimmed, empty lines dropped). */
function screen(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const term = (window as unknown as { gunyahConsole: { term: { buffer: { active: {
      length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined;
    } } } } }).gunyahConsole.term;
    const lines: string[] = [];
    for (let i = 0; i < term.buffer.active.length; i++) lines.push(term.buffer.active.getLine(i)?.translateToString(true) ?? '');
    return lines.filter((l) => l !== '');
  });
}

/** Wait until the terminal shows exactly `expected`; fails with what it shows after `ms`. */
async function screenShows(page: Page, expected: string[], what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  let shown: string[] = [];
  while (performance.now() < end) {
    shown = await screen(page);
    if (JSON.stringify(shown) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(shown, expected, `the terminal should show ${what}`);
}

test('the browser terminal shows the banner, and a typed line comes back as the echo', async (t) => {
  if (!requireChromium(t)) return;
  await withServer(async ({ s, base }) => {
    const vm = await s.createVm('echo1', 'console-echo');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const failures: string[] = [];
      page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));
      page.on('pageerror', (e) => failures.push(e.message));
      const response = await page.goto(`${base}/console/${vm.vmid}`);
      assert.equal(response?.status(), 200);
      assert.equal(await page.title(), `VM ${vm.vmid} console — gunyah-emu`);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'connected');
      const bannerLine = banner(vm.vmid).trimEnd();
      await screenShows(page, [bannerLine, PROMPT], 'the banner and the prompt');

      await page.keyboard.type('hello from chromium');
      await page.keyboard.press('Enter');
      await screenShows(page, [bannerLine, `${PROMPT}hello from chromium`, PROMPT], 'the echo');
      assert.equal(s.hub.bytesIn(vm.vmid), 'hello from chromium\r'.length, 'typed as the keys were pressed, Enter as CR');
      assert.deepEqual(failures, [], 'every asset loaded from the daemon, no script error');
    } finally {
      await browser.close();
    }
  });
});

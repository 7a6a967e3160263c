/**
 * The sandbox console in Debian's Chromium (playwright-core, /usr/bin/chromium; .ci/run installs it when missing): a
 * whole conversation played in the page as a person would — the customer writes, the agent answers and sees it
 * delivered, the clock moves past the reply window, and the agent's next reply fails with the sentence saying why.
 * The screenshot is kept under test-output/console/.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSandbox, type RunningSandbox } from '../../src/entry/sandbox.js';
import { tempDir } from '../helpers.js';

const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output', 'console');
const dir = tempDir();
const profile = mkdtempSync(join(tmpdir(), 'dmbridge-chromium-'));
let sandbox: RunningSandbox;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  sandbox = await runSandbox({ portBase: 0, store: `sqlite:${dir.path}/sandbox.db`, logLevel: 'silent', out: () => undefined, demo: false });
  // A fresh profile, and nothing that would reach beyond this machine.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(10_000);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
  rmSync(profile, { recursive: true, force: true });
  dir.cleanup();
});

/** Waits until an element matching `selector` shows `text`. */
function shows(selector: string, text: string | RegExp) {
  return page.locator(selector).filter({ hasText: text }).first().waitFor({ state: 'visible' });
}

describe('the sandbox console in Chromium', () => {
  it('plays a conversation end to end, and shows the reply failing once the window closed', async () => {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${sandbox.consoleUrl}/`);
    await shows('#phone-title', 'Jane Doe');
    await shows('#window', 'has not written yet');

    // The customer writes from their phone; the agent sees it, with every hop listed.
    await page.fill('#customer-form input[name="text"]', 'Hi, where is my order?');
    await page.click('#customer-form button[type="submit"]');
    await shows('#agent-thread .from-customer', 'Hi, where is my order?');
    await shows('#phone-thread .mine', 'Hi, where is my order?');
    await shows('#window', 'reply window: open until');
    await shows('#hops li', /webhook POST \/webhooks\/\S+, signed by/);

    // The exact JSON on each side: what the platform posted, what Genesys received.
    await page.locator('#hops li', { hasText: 'webhook POST' }).first().click();
    await shows('#detail-json', 'Hi, where is my order?');
    await page.locator('#hops li', { hasText: 'inbound message' }).first().click();
    await shows('#detail-json', '"dmbridge.source"');

    // The agent answers: it reaches the phone and the receipt says Delivered.
    await page.fill('#agent-form input[name="text"]', 'It ships today.');
    await page.click('#agent-form button[type="submit"]');
    await shows('#agent-thread .from-agent .status.delivered', 'Delivered');
    await shows('#phone-thread .theirs', 'It ships today.');
    await shows('#hops li', 'receipt Delivered');

    // A day passes: the window closes, and the next reply fails with the sentence the agent reads.
    await page.click('#close-window');
    await shows('#window', 'closed at');
    await shows('#offset', 'ahead of real time');
    await page.fill('#agent-form input[name="text"]', 'Are you still there?');
    await page.click('#agent-form button[type="submit"]');
    await shows('#agent-thread .from-agent .status.failed', "only allows replies within 24 hours of the customer's last message");
    await shows('#hops li', 'receipt Failed');
    expect(await page.locator('#phone-thread .theirs').count()).toBe(1);
    expect(await page.locator('#error').isHidden()).toBe(true);
    expect(errors).toEqual([]);

    mkdirSync(OUTPUT, { recursive: true });
    const file = join(OUTPUT, 'console.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(20_000);
  }, 30_000);
});

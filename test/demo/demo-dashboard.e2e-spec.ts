/**
 * The live dashboard in a real headless Chromium (Debian's, driven by playwright-core): it loads, lists
 * the cached entries, updates by itself after a request, shows the on-behalf-of tokens per user, shows no
 * token, and leaves a screenshot for a human to look at (in the OS temp dir, or TOKEN_CACHE_TEST_ARTIFACTS: never
 * in the working tree).
 *
 * Robust under load: every step waits for a state the page reaches (polls with a generous ceiling that
 * returns as soon as the state is there), never for a fixed time; tokens live long enough (120 s) that none
 * expires or refreshes while a loaded machine runs the test.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../../apps/demo/src/demo.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = `${process.env.TOKEN_CACHE_TEST_ARTIFACTS ?? join(tmpdir(), 'nestjs-token-cache-artifacts')}/`;

let demo: Demo;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  demo = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 120, logger: false });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

/** A ceiling for waiting on a state, not a time the step is expected to take. */
const STATE = { timeout: 30_000, interval: 100 };

describe('demo dashboard', () => {
  it('loads, shows the entries, updates after a request, and writes a screenshot', async () => {
    await page.goto(`${demo.url}/`);
    await expect.poll(() => page.locator('#live-text').textContent(), STATE).toBe('live');

    // The gateway is preloaded at bootstrap: its entry is there before any click.
    const rows = page.locator('#entries tr[data-key]');
    await expect.poll(() => rows.count(), STATE).toBe(1);
    // Fresh, or refresh-due when this loaded machine took over half the lifetime to get here.
    expect(await page.locator('#entries tr[data-key="gateway"] .state').textContent()).toMatch(/^(fresh|refresh-due)$/);
    // The preload is not a call that waited: a fresh start shows no miss (issue 12: it showed 0 % and "1 misses").
    const hitKpi = page.locator('[data-kpi="hit rate"] .sub');
    await expect.poll(() => hitKpi.textContent(), STATE).toBe('0 hits · 0 misses');

    // A request from outside the page: the page notices on its own (SSE event, then a state reload).
    expect((await fetch(`${demo.url}/trading/alice-scalper/accounts`)).status).toBe(200);
    await expect.poll(() => rows.count(), STATE).toBe(2);
    await expect.poll(() => hitKpi.textContent(), STATE).toBe('0 hits · 1 miss');
    await expect.poll(() => page.locator('#events .etype.fetched').count(), STATE).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#entries tr[data-key^="trading"] .who').textContent()).toContain('alice');

    // The buttons drive the scenarios (once the page has listed them all): a click on each route fills the table.
    const routes = ((await (await fetch(`${demo.url}/scenarios`)).json()) as { routes: { path: string }[] }).routes;
    await expect.poll(() => page.locator('#buttons button').count(), STATE).toBe(routes.length);
    for (const button of await page.locator('#buttons button').all()) await button.click();
    // 7 entries, and one exchanged token per signed-in user (alice, bob) from the on-behalf-of buttons.
    await expect.poll(() => rows.count(), STATE).toBe(9);

    // The on-behalf-of panel: one row per user, their downstream API, and only a shortened digest of their token.
    const obo = page.locator('#obo tr[data-obo-user]');
    await expect.poll(() => obo.count(), STATE).toBe(2);
    expect(await page.locator('#obo-count').textContent()).toBe('2');
    for (const user of ['alice', 'bob']) {
      const row = page.locator(`#obo tr[data-obo-user="${user}"]`);
      expect(await row.locator('td').nth(1).textContent()).toBe('orders-api');
      expect(await row.locator('.digest').textContent()).toMatch(/^sha256:[\w-]{10}…$/);
      await expect.poll(() => row.locator('.left').textContent(), STATE).toMatch(/^\d+\.\d s$/);
    }
    await expect.poll(() => page.locator('#sources tr', { hasText: 'token_exchange' }).locator('td').last().textContent(), STATE).toBe('2');
    // A click's answer names the user the orders API saw.
    await page.locator('#buttons button[data-path="/on-behalf-of/bob"]').click();
    await expect.poll(() => page.locator('#result').textContent(), STATE).toMatch(/\/on-behalf-of\/bob → 200 .*orders of bob, fetched by demo-app on their behalf/);

    // The burst: wait for its outcome (however long a loaded machine takes), then check every call succeeded.
    await page.locator('#burst').click();
    await expect.poll(() => page.locator('#result').textContent(), { timeout: 120_000, interval: 200 }).toMatch(/burst: \d+\/\d+ ok/);
    const [, ok, all] = /burst: (\d+)\/(\d+) ok/.exec((await page.locator('#result').textContent())!)!;
    expect(Number(all)).toBe(routes.length * 25);
    expect(Number(ok)).toBe(Number(all));
    // Still one exchanged token per user after 50 on-behalf-of calls.
    expect(demo.idp!.stats().counts.filter((c) => c.grant === 'token_exchange').map((c) => [c.client, c.count])).toEqual([
      ['alice', 1],
      ['bob', 1],
    ]);
    await page.locator('#revoke').click();
    await page.locator('#buttons button').first().click();
    await expect.poll(() => page.locator('#events .etype.invalidated').count(), STATE).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.locator('[data-kpi="hit rate"] .value').textContent(), STATE).toMatch(/^\d+\.\d %$/);

    // Lifetime bars are drawn (not empty) for fresh tokens.
    // One evaluate: the table is re-rendered every second, so a located element may be detached by the next call.
    const width = await page.evaluate(
      // The project compiles without the DOM lib; this function runs in the page.
      () => (globalThis as any).document.querySelector('#entries tr[data-key="gateway"] .fill').getBoundingClientRect().width as number,
    );
    expect(width).toBeGreaterThan(10);

    const html = await page.content();
    expect(html).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}demo-dashboard.png`, fullPage: true });
    expect(existsSync(`${ARTIFACTS}demo-dashboard.png`)).toBe(true);
  }, 300_000);
});

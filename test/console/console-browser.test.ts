import { mkdirSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/base/poll.js';
import { type DemoOutcome, runDemo } from '../../src/cli/demo.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import { devSigner } from '../../src/phala/signers.js';
import { RESULT_QUEUE, resultJobIdOf } from '../../src/protocol/queue-names.js';
import { getJourney } from '../../src/relayer/admin-client.js';
import { requestFromPhala } from '../../src/sdk/phala.js';
import { type Devnet, startDevnet } from '../../src/testing/devnet.js';
import { forgedPhalaResult } from '../helpers/forged-result.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The operator console in a real browser (Debian's Chromium, driven by playwright-core) against
 * one real devnet: chains, gatekeeper, two sim-TEE workers and the relayer whose admin server
 * serves the console. Screenshots of every page go to test-artifacts/console (git-ignored).
 */
const CHROMIUM = process.env.PHALA_BRIDGE_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.resolve('test-artifacts/console');

let devnet: Devnet;
let browser: Browser;
let demo: DemoOutcome[];
let base: string;
let token: string;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** A browser context logged in through the login form, as an operator would. */
async function loggedIn(
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForSelector('#requests table');
  return { context, page };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [devnet, browser] = await Promise.all([
    startDevnet({ redisUrl: REDIS_URL, redisPrefix: `{${uniquePrefix('console')}}`, examples: false }),
    chromium.launch({ executablePath: CHROMIUM }),
  ]);
  base = devnet.relayer.adminUrl;
  token = devnet.relayer.admin.token!;
  demo = await runDemo(devnet, 90_000);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await devnet?.stop();
});

describe('operator console (real browser, real devnet)', () => {
  it('a missing or wrong token gets the login prompt, never data', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const secret = demo[0]!.jobId;
    for (const where of ['/', '/dead', '/workers', '/chains', `/requests/${encodeURIComponent(secret)}`]) {
      const response = await page.goto(`${base}${where}`);
      expect(response?.status()).toBe(401);
      await expect(page.getByLabel('Admin token').isVisible()).resolves.toBe(true);
      expect(await page.content()).not.toContain(secret.slice(-20));
    }
    // The API and the event stream refuse too, as JSON (no page for a script).
    expect((await page.request.get(`${base}/jobs`)).status()).toBe(401);
    expect((await page.request.get(`${base}/events`)).status()).toBe(401);

    await page.getByLabel('Admin token').fill(`${token}-wrong`);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText("That token is not this relayer's admin token.").waitFor();
    await shot(page, 'login');
    expect(await context.cookies()).toEqual([]);

    // A forged session cookie is no session.
    const url = new URL(base);
    await context.addCookies([
      { name: 'phala_bridge_console', value: 'forged', domain: url.hostname, path: '/' },
    ]);
    expect((await page.goto(`${base}/`))?.status()).toBe(401);
    expect(await page.content()).not.toContain(secret.slice(-20));
    await context.close();
  });

  it("shows the demo's three requests with their full journeys", async () => {
    const { context, page } = await loggedIn();
    const cookie = (await context.cookies()).find((c) => c.name === 'phala_bridge_console');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    for (const o of demo) await page.waitForSelector(`tr[data-job="${o.jobId}"]`);
    await shot(page, 'requests');

    const expected: Record<DemoOutcome['origin'], string[]> = {
      evm: ['observed', 'queued', 'result', 'submitted', 'confirmed'],
      phala: ['observed', 'queued', 'result', 'submitted', 'confirmed'],
      xcm: ['observed', 'queued', 'result', 'submitted', 'xcm-sent', 'xcm-processed'],
    };
    for (const o of demo) {
      await page.goto(`${base}/`);
      await page.locator(`tr[data-job="${o.jobId}"] a`).first().click();
      await page.waitForSelector('.timeline');
      const stages = await page
        .locator('.timeline li')
        .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-stage')));
      for (const stage of expected[o.origin]) expect(stages, `${o.origin} journey`).toContain(stage);
      // Transaction hashes and blocks an operator can copy, and the time between stages.
      const submitted = page.locator('.timeline li[data-stage="submitted"]');
      await expect(submitted.locator('button[data-copy^="0x"]').count()).resolves.toBeGreaterThan(0);
      await expect(page.locator('.timeline .gap').count()).resolves.toBe(stages.length - 1);
      if (o.origin === 'evm') await shot(page, 'journey');
    }

    // Filters narrow the list: by origin, and by text (a request id).
    await page.goto(`${base}/?origin=phala`);
    expect(
      await page.locator('tr[data-job]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job'))),
    ).toEqual(expect.arrayContaining([demo[1]!.jobId]));
    expect(await page.locator(`tr[data-job="${demo[0]!.jobId}"]`).count()).toBe(0);
    await page.goto(`${base}/?q=${demo[2]!.jobId.slice(-16)}`);
    expect(await page.locator('tr[data-job]').count()).toBe(1);

    // A narrow window (390 px): the same list, nothing cut off at the page level.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${base}/`);
    await page.waitForSelector(`tr[data-job="${demo[0]!.jobId}"]`);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'requests-narrow');
    await context.close();
  });

  it('a request made dead appears live, then in dead letters, and a click on retry moves it', async () => {
    const { context, page } = await loggedIn();
    // Keyboard: the skip link is the first stop, then the navigation.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');

    // What the page and a second subscriber see, told if the live step fails.
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('request', (r) => log.push(`${r.method()} ${r.url()}`));
    page.on('requestfailed', (r) => log.push(`failed ${r.url()} ${r.failure()?.errorText}`));
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const sse: string[] = [];
    const watcher = new AbortController();
    void fetch(`${base}/events`, { headers: { cookie }, signal: watcher.signal })
      .then(async (res) => {
        sse.push(`status ${res.status} at ${Date.now()}`);
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
          sse.push(decoder.decode(chunk).replace(/\n/g, ' '));
      })
      .catch(() => undefined);
    // A request whose input no worker can open (sealed for another requester): the workers refuse it.
    const bad = await contracts.request(devnet.phala, {
      signer: await devSigner('Eve', 30),
      contractId: devnet.contracts.greeter.contractId,
      sealedInput: `0x${'ab'.repeat(80)}`,
      responseKey: `0x${'11'.repeat(32)}`,
      deadline: await contracts.deadlineIn(devnet.phala, 600),
    });
    const jobId = `phala-${(bad.event.requestId as string).toLowerCase()}`;
    // Once the relayer has it, it shows up on the open list page without a reload (server-sent events).
    await pollUntil(async () => (await getJourney(devnet.relayer.admin, jobId)) !== null, {
      label: 'the bad request observed',
      timeoutMs: 90_000,
    });
    try {
      await page.waitForSelector(`tr[data-job="${jobId}"]`, { timeout: 20_000 });
    } catch (error) {
      await shot(page, 'live-failed');
      const live = await page.textContent('#live-status');
      const j = await getJourney(devnet.relayer.admin, jobId);
      log.push(`journey ${j?.journey.map((e) => `${e.stage}@${e.at}`).join(',')}`, `now ${Date.now()}`);
      throw new Error(
        `live status ${live}; sse ${sse.join(' | ')}; page ${log.join(' | ')}; ${String(error)}`,
      );
    } finally {
      watcher.abort();
    }
    await pollUntil(async () => (await getJourney(devnet.relayer.admin, jobId))?.state === 'dead', {
      label: 'the bad request dead',
      timeoutMs: 60_000,
    });

    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator(`#dead tr[data-job="${jobId}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toMatch(/\S/);
    await shot(page, 'dead-letters');
    await row.getByRole('button', { name: 'Retry' }).click();
    await page
      .locator('#action-status')
      .getByText('Retried: sent back to the stage where it stopped.')
      .waitFor();
    const journey = await getJourney(devnet.relayer.admin, jobId);
    expect(journey?.journey.some((e) => e.stage === 'retry' && /operator retry/.test(e.detail ?? ''))).toBe(
      true,
    );
    // It moved: out of the dead state, back to the workers (who may refuse it again later).
    const stages = journey?.journey.map((e) => e.stage) ?? [];
    expect(stages.lastIndexOf('retry')).toBeGreaterThan(stages.indexOf('dead'));

    // Drop asks first; dismissing the question drops nothing.
    await pollUntil(async () => (await getJourney(devnet.relayer.admin, jobId))?.state === 'dead', {
      label: 'the retried request dead again',
      timeoutMs: 60_000,
    });
    await page.goto(`${base}/dead`);
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.locator(`#dead tr[data-job="${jobId}"]`).getByRole('button', { name: 'Drop' }).click();
    await page.waitForTimeout(500);
    expect((await getJourney(devnet.relayer.admin, jobId))?.state).toBe('dead');
    await context.close();
  }, 180_000);

  it('a result signed by a key no gatekeeper approved stands out in the list and in the journey', async () => {
    const { context, page } = await loggedIn();
    const contractId = devnet.contracts.greeter.contractId;
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Ferdie', 30),
      contractId,
      input: 'forged?',
    });
    // A well-formed result whose proof verifies, from a key no gatekeeper approved.
    const forged = forgedPhalaResult(devnet, sent.requestId);
    const { jobId } = forged;
    const rogueAddress = forged.worker.address;
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const results = new Queue(RESULT_QUEUE, { connection, prefix: devnet.config.redis.prefix });
    try {
      await pollUntil(async () => (await getJourney(devnet.relayer.admin, jobId)) !== null, {
        label: 'the request queued',
        timeoutMs: 60_000,
      });
      await results.add('result', forged, { jobId: resultJobIdOf(jobId, rogueAddress) });
      await pollUntil(
        async () =>
          (await getJourney(devnet.relayer.admin, jobId))?.journey.some(
            (e) => e.stage === 'result-rejected' && e.worker === rogueAddress,
          ),
        { label: 'the forged result rejected', timeoutMs: 60_000 },
      );
    } finally {
      await results.close();
      connection.disconnect();
    }
    await page.goto(`${base}/`);
    await page.locator(`tr[data-job="${jobId}"] .badge-security`).first().waitFor();
    // The banner on every page counts it.
    expect(await page.locator('#security-banner [role="alert"]').textContent()).toContain('RejectedResult');
    await page.goto(`${base}/requests/${encodeURIComponent(jobId)}`);
    const alert = page.locator('#journey [role="alert"]');
    expect(await alert.textContent()).toContain('result-rejected');
    expect(await alert.textContent()).toContain('not an approved');
    await expect(page.locator('.timeline li.refusal').count()).resolves.toBeGreaterThan(0);
    await shot(page, 'journey-refusal');
    await context.close();
  }, 120_000);

  it('the workers page shows both devnet workers approved', async () => {
    const { context, page } = await loggedIn();
    await page.getByRole('link', { name: 'Workers' }).click();
    await page.waitForSelector('article.worker');
    for (const w of devnet.workers) {
      const card = page.locator(`article.worker[data-worker="${w.address}" i]`);
      await expect(card.count()).resolves.toBe(1);
      expect(await card.locator('h3 .badge').textContent()).toBe('approved');
      expect(await card.textContent()).toContain('sim (quote of');
    }
    await expect(page.locator('article.worker').count()).resolves.toBe(devnet.workers.length);
    await shot(page, 'workers');
    await context.close();
  });

  it('the chains page shows heads, cursors and signers, and the queue chart', async () => {
    const { context, page } = await loggedIn();
    await page.getByRole('link', { name: 'Chains' }).click();
    await page.waitForSelector('#queue-chart canvas');
    for (const chain of ['evm', 'phala']) {
      const head = await page.locator(`tr[data-chain="${chain}"] td`).nth(1).textContent();
      expect(Number(head)).toBeGreaterThan(0);
    }
    await expect(page.locator('text=Pending transactions').count()).resolves.toBe(1);
    await shot(page, 'chains');
    await context.close();
  });
});

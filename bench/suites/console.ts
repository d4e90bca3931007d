import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load.js';
import { createRedis } from '../../src/infra/redis.js';
import { createLogger } from '../../src/log/logger.js';
import { adminRoutes } from '../../src/relayer/admin-routes.js';
import { OperatorConsole } from '../../src/relayer/console/routes.js';
import { SESSION_COOKIE } from '../../src/relayer/console/session.js';
import { sessionOf, startHttpServer } from '../../src/relayer/http-server.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { createRelayerMetrics } from '../../src/relayer/metrics.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import type { BenchReport } from '../index.js';

export const name = 'console';

const REQUESTS = 10_000;
const TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const CHROMIUM = process.env.PHALA_BRIDGE_CHROMIUM ?? '/usr/bin/chromium';

const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`;

/**
 * The operator console with 10,000 requests in Redis (issue 17: a page loads in under 1 s):
 * the journeys are written as the relayer writes them (five stages each, through JourneyStore),
 * then each page is fetched from the real server (median of 5 after a first, cold fetch), and the
 * request list is loaded in Chromium when it is installed (DOMContentLoaded and load).
 */
export async function run(): Promise<BenchReport> {
  const prefix = `{bench-console-${randomBytes(4).toString('hex')}}`;
  const redisUrl = process.env.PHALA_BRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
  const config = parseConfig(
    {
      mode: 'development',
      chains: [{ kind: 'relay', name: 'relay', wsUrl: 'ws://127.0.0.1:9' }],
      redis: { url: redisUrl, prefix },
      admin: { host: '127.0.0.1', port: 0, token: { value: TOKEN } },
    },
    'bench',
    {},
  );
  const redis = createRedis(config.redis);
  const records = createRedis(config.redis, { enableAutoPipelining: true });
  const queues = new RelayerQueues(redis, prefix);
  const journeys = new JourneyStore({ redis: records, prefix });
  const logger = createLogger({ level: 'warn', pretty: false });
  const admin = adminRoutes(queues, journeys);
  const operatorConsole = new OperatorConsole(
    {
      config,
      redis,
      queues,
      journeys,
      metrics: createRelayerMetrics(),
      adapters: () => ({ watchers: [], destinations: [] }),
      readiness: async () => ({ ok: true, checks: {} }),
      logger,
    },
    { adminRoutes: admin, token: TOKEN },
  );
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    token: TOKEN,
    routes: [...admin, ...operatorConsole.routes()],
    sessionCookie: SESSION_COOKIE,
    loginPage: operatorConsole.loginPage,
  });
  const table: BenchReport['table'] = [];
  const figures: Record<string, number> = { requests: REQUESTS };
  try {
    const contract = hex(32);
    const worker = `0x${randomBytes(20).toString('hex')}`;
    let searchTx = '';
    let someJob = '';
    const writeStarted = performance.now();
    for (let i = 0; i < REQUESTS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, REQUESTS - i) }, async (_, k) => {
          const n = i + k;
          const jobId = `evm-31337-${hex(32)}`;
          const tx = hex(32);
          if (n === 1_234) {
            searchTx = tx;
            someJob = jobId;
          }
          await journeys.record(
            jobId,
            { stage: 'observed', chain: 'evm', blockNumber: n, txHash: hex(32) },
            { origin: 'evm-31337', contractId: contract },
          );
          await journeys.record(jobId, { stage: 'queued', detail: 'requests' });
          await journeys.record(jobId, { stage: 'result', worker, detail: 'gas 21000' });
          await journeys.record(jobId, { stage: 'submitted', chain: 'evm', txHash: tx });
          await journeys.record(jobId, {
            stage: n % 50 === 0 ? 'dead' : 'confirmed',
            chain: 'evm',
            txHash: tx,
            blockNumber: n + 2,
          });
        }),
      );
    }
    figures.writeSeconds = Number(((performance.now() - writeStarted) / 1000).toFixed(1));

    const cookie = `${SESSION_COOKIE}=${sessionOf(TOKEN)}`;
    const timed = async (path: string) => {
      const started = performance.now();
      const res = await fetch(`${server.url}${path}`, { headers: { cookie } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - started, bytes: body.length };
    };
    const pages: [string, string][] = [
      ['requests (newest 100)', '/'],
      ['requests, state=dead', '/?state=dead'],
      ['requests, search by tx hash (scans all)', `/?q=${searchTx}`],
      ['requests, by worker (scans all)', `/?worker=${worker}`],
      ['journey', `/requests/${someJob}`],
      ['dead letters', '/dead'],
    ];
    for (const [label, path] of pages) {
      const cold = await timed(path);
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) warm.push((await timed(path)).ms);
      warm.sort((a, b) => a - b);
      const median = warm[2]!;
      table.push({
        page: label,
        'first (ms)': Math.round(cold.ms),
        'median of 5 (ms)': Math.round(median),
        'HTML (KiB)': Math.round(cold.bytes / 1024),
      });
      figures[`${path === '/' ? 'requests' : label.replace(/\W+/g, '_')}_ms`] = Math.round(median);
    }

    if (existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM });
      try {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const url = new URL(server.url);
        await context.addCookies([
          { name: SESSION_COOKIE, value: cookie.split('=')[1]!, domain: url.hostname, path: '/' },
        ]);
        const page = await context.newPage();
        // Navigation timing from the browser itself: server response, DOM ready, load (scripts run).
        const loads: { total: number; response: number; dom: number; load: number }[] = [];
        for (let i = 0; i < 6; i++) {
          const started = performance.now();
          await page.goto(`${server.url}/`, { waitUntil: 'load' });
          await page.waitForSelector('tr[data-job]');
          const total = performance.now() - started;
          const t = (await page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0]; return { response: n.responseEnd, dom: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()",
          )) as { response: number; dom: number; load: number };
          loads.push({ total, ...t });
        }
        const median = (k: 'total' | 'response' | 'dom' | 'load') => {
          const v = loads
            .slice(1)
            .map((l) => l[k])
            .sort((a, b) => a - b);
          return Math.round(v[Math.floor(v.length / 2)]!);
        };
        figures.browserFirstMs = Math.round(loads[0]!.total);
        figures.browserResponseEndMs = median('response');
        figures.browserDomContentLoadedMs = median('dom');
        figures.browserLoadMs = median('load');
        figures.browserTotalWithDriverMs = median('total');
        for (const [label, k] of [
          ['Chromium: response received', 'response'],
          ['Chromium: DOMContentLoaded', 'dom'],
          ['Chromium: load event', 'load'],
          ['Chromium: goto + rows, as the driver sees it', 'total'],
        ] as const)
          table.push({
            page: label,
            'first (ms)': Math.round(loads[0]![k]),
            'median of 5 (ms)': median(k),
            'HTML (KiB)': '',
          });
      } finally {
        await browser.close();
      }
    }
  } finally {
    await operatorConsole.close();
    await server.close();
    await queues.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    records.disconnect();
  }
  return { table, figures };
}

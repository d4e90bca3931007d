import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { adminRoutes } from '../../src/relayer/admin-routes.js';
import { escapeHtml, html } from '../../src/relayer/console/html.js';
import { OperatorConsole } from '../../src/relayer/console/routes.js';
import { SESSION_COOKIE } from '../../src/relayer/console/session.js';
import { sessionOf, startHttpServer } from '../../src/relayer/http-server.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { createRelayerMetrics } from '../../src/relayer/metrics.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The console's server side without a browser: the real admin server with the console's routes
 * over a real Redis. What a page may show to whom, what it escapes, and how a login is answered.
 */
const TOKEN = 'console-test-token-7d2a91c4e5b6';
const prefix = `{${uniquePrefix('console-server')}}`;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const queues = new RelayerQueues(redis, prefix);
const journeys = new JourneyStore({ redis, prefix });
const metrics = createRelayerMetrics();
const logger = createLogger({ level: 'warn', pretty: false });
const config = parseConfig(
  {
    mode: 'development',
    chains: [{ kind: 'relay', name: 'relay', wsUrl: 'ws://127.0.0.1:9' }],
    redis: { url: REDIS_URL, prefix },
    admin: { host: '127.0.0.1', port: 0, token: { value: TOKEN } },
  },
  'test',
  {},
);
const admin = adminRoutes(queues, journeys);
const operatorConsole = new OperatorConsole(
  {
    config,
    redis,
    queues,
    journeys,
    metrics,
    adapters: () => ({ watchers: [], destinations: [] }),
    readiness: async () => ({ ok: true, checks: {} }),
    logger,
  },
  { adminRoutes: admin, token: TOKEN },
);
let server: Awaited<ReturnType<typeof startHttpServer>>;
const cookie = `${SESSION_COOKIE}=${sessionOf(TOKEN)}`;
const HOSTILE = '<img src=x onerror=alert(1)>';
const JOB = `evm-31337-0x${'ab'.repeat(32)}`;

beforeAll(async () => {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    token: TOKEN,
    // As the daemon serves it (admin.allowedHosts defaults to []): Host and Origin are checked.
    allowedHosts: [],
    routes: [...admin, ...operatorConsole.routes()],
    sessionCookie: SESSION_COOKIE,
    loginPage: operatorConsole.loginPage,
  });
  await journeys.record(
    JOB,
    { stage: 'observed', chain: 'evm', blockNumber: 7, txHash: `0x${'12'.repeat(32)}` },
    { origin: 'evm-31337', contractId: `0x${'cd'.repeat(32)}` },
  );
  await journeys.record(JOB, { stage: 'dead', detail: `worker: ${HOSTILE}` });
});
afterAll(async () => {
  await operatorConsole.close();
  await server?.close();
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { headers });

describe('console: who sees what', () => {
  it('answers a page asked for without the token, or with a wrong one, with the login prompt and no data', async () => {
    const asked: Record<string, string>[] = [
      { accept: 'text/html' },
      { accept: 'text/html', cookie: `${SESSION_COOKIE}=${sessionOf('another-token')}` },
      { accept: 'text/html', authorization: 'Bearer wrong' },
      { 'hx-request': 'true' },
    ];
    for (const headers of asked) {
      const res = await get(`/requests/${JOB}`, headers);
      const body = await res.text();
      expect(res.status).toBe(401);
      expect(body).toContain('Admin token');
      expect(body).not.toContain(JOB.slice(-12));
    }
    // Scripts get the API's JSON refusal.
    const api = await get('/');
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: 'unauthorized' });
    expect((await get('/events')).status).toBe(401);
  });

  it('serves the pages to the session cookie and to the Bearer token, escaping what requests carry', async () => {
    const allowed: Record<string, string>[] = [{ cookie }, { authorization: `Bearer ${TOKEN}` }];
    for (const headers of allowed) {
      const res = await get(`/requests/${JOB}`, headers);
      const body = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(body).toContain(JOB);
      expect(body).not.toContain(HOSTILE);
      expect(body).toContain(escapeHtml(HOSTILE));
    }
    const list = await (await get('/?state=dead', { cookie })).text();
    expect(list).toContain(`data-job="${JOB}"`);
    const badFilter = await (await get('/?contract=nope', { cookie })).text();
    expect(badFilter).toContain('Invalid filter: contract');
  });

  it('serves static files without a token, and nothing else', async () => {
    const htmx = await get('/assets/htmx.min.js');
    expect(htmx.status).toBe(200);
    expect(htmx.headers.get('content-type')).toContain('javascript');
    expect((await get('/assets/uplot.min.js')).status).toBe(200);
    expect((await get('/assets/../admin-routes.ts')).status).toBe(401);
  });
});

describe('console: login', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/login`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('sets an HttpOnly SameSite=Strict session cookie for the right token, derived from it', async () => {
    const res = await post(JSON.stringify({ token: TOKEN }));
    expect(res.status).toBe(200);
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toContain(`${SESSION_COOKIE}=${sessionOf(TOKEN)}`);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).not.toContain(TOKEN);
    expect(res.headers.get('hx-redirect')).toBe('/');
  });

  it('refuses a wrong token without a cookie, a form post (415) and a cross-site one (403)', async () => {
    const wrong = await post(JSON.stringify({ token: `${TOKEN}x` }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(
      (await post(`token=${TOKEN}`, { 'content-type': 'application/x-www-form-urlencoded' })).status,
    ).toBe(415);
    const crossSite = await fetch(`${server.url}/dead/${JOB}/retry`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', cookie, origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
  });

  it('escapes every interpolated value and keeps templates as markup', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${['&', 1, null, false]}</p>`.value).toBe(
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&amp;1</p>',
    );
  });
});

describe('console: Redis away', () => {
  it('answers each page with what it could not read, never a hang or a bare 500', async () => {
    // A connection that refuses at once (nothing listens on port 1): the pages' reads fail.
    const away = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    away.on('error', () => undefined);
    const awayJourneys = new JourneyStore({ redis: away, prefix });
    const awayConsole = new OperatorConsole(
      {
        config,
        redis: away,
        queues,
        journeys: awayJourneys,
        metrics,
        adapters: () => ({ watchers: [], destinations: [] }),
        readiness: async () => ({ ok: false, checks: {} }),
        logger,
      },
      { adminRoutes: adminRoutes(queues, awayJourneys), token: TOKEN },
    );
    const awayServer = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      token: TOKEN,
      routes: awayConsole.routes(),
      sessionCookie: SESSION_COOKIE,
      loginPage: awayConsole.loginPage,
    });
    try {
      for (const [path, what] of [
        ['/', 'the request list'],
        ['/dead', 'the dead letters'],
        [`/requests/${JOB}`, 'the journey'],
      ] as const) {
        const res = await fetch(`${awayServer.url}${path}`, { headers: { cookie } });
        expect(await res.text()).toContain(`Could not read ${what}`);
      }
    } finally {
      await awayConsole.close();
      await awayServer.close();
      away.disconnect();
    }
  });
});

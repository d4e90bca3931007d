import { request } from 'node:http';
import { Writable } from 'node:stream';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { AdminApiError, dropJob, listJobs, retryJob } from '../../src/relayer/admin-client.js';
import { adminRoutes } from '../../src/relayer/admin-routes.js';
import { startHttpServer } from '../../src/relayer/http-server.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The relayer's admin API as an attacker meets it: a real HTTP server with the real routes over
 * real BullMQ queues in a real Redis. Requests go through node:http so every header (Host,
 * Origin, Content-Type) is exactly what a browser or a script would send.
 */
const TOKEN = 'admin-api-test-token-4f1c9e27d8b3';
const CLUSTER = `0x${'ab'.repeat(32)}` as const;
const CONTRACT = `0x${'cd'.repeat(32)}`;
const prefix = `{${uniquePrefix('admin-api')}}`;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const queues = new RelayerQueues(redis, prefix);
const journeys = new JourneyStore({ redis, prefix });
const logLines: string[] = [];
const logger = createLogger({
  level: 'info',
  destination: new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
});
let server: Awaited<ReturnType<typeof startHttpServer>>;
let port: number;

type Sent = { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer };
type Answer = { status: number; json: { error?: string; errorId?: string } & Record<string, unknown> };

function send(s: Sent, to = () => port): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: to(),
        method: s.method ?? 'GET',
        path: s.path,
        headers: {
          ...(s.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(s.body)) }),
          ...s.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
          }),
        );
      },
    );
    // The server may answer (413) and close before a large body is all written.
    req.on('error', reject);
    if (s.body !== undefined) req.write(s.body);
    req.end();
  });
}
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };

async function queuedJob(name: string): Promise<string> {
  const jobId = `${name}-${Date.now().toString(36)}`;
  await queues.requests(CLUSTER).add('request', { name }, { jobId });
  await journeys.record(jobId, { stage: 'observed' }, { origin: 'test', contractId: CONTRACT });
  await journeys.record(jobId, { stage: 'queued' });
  return jobId;
}

/** A job that failed in BullMQ (its worker threw) and whose journey says dead, as the relayer leaves one. */
async function deadJob(name: string): Promise<string> {
  const queue = queues.queue(`dead-${name}`);
  const jobId = `${name}-${Date.now().toString(36)}`;
  const failed = new Promise<void>((resolve) => {
    const worker = new Worker(
      queue.name,
      async () => {
        throw new Error('worker gave up');
      },
      { connection: redis.duplicate(), prefix },
    );
    worker.on('failed', () => {
      void worker.close().then(resolve);
    });
  });
  await queue.add('request', { name }, { jobId, attempts: 1 });
  await failed;
  await journeys.record(jobId, { stage: 'observed' }, { origin: 'test', contractId: CONTRACT });
  await journeys.record(jobId, { stage: 'dead', detail: 'worker gave up' });
  return jobId;
}

beforeAll(async () => {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    token: TOKEN,
    allowedHosts: ['relayer.internal'],
    routes: adminRoutes(queues, journeys),
  });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.close();
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('admin API: who may call it', () => {
  it('refuses a missing or wrong token (401) and answers the right one', async () => {
    expect((await send({ path: '/jobs' })).status).toBe(401);
    expect((await send({ path: '/jobs', headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await send({ path: '/jobs', headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await send({ path: '/jobs', headers: { authorization: TOKEN } })).status).toBe(401);
    const ok = await send({ path: '/jobs', headers: auth });
    expect(ok.status).toBe(200);
    expect(Array.isArray(ok.json)).toBe(true);
    // Every route, writes included.
    expect(
      (
        await send({
          method: 'POST',
          path: '/retry',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await send({
          method: 'DELETE',
          path: '/jobs/x',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
  });

  it('without a configured token (loopback development) no token is "accepted": one sent is refused', async () => {
    const open = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      token: null,
      allowedHosts: [],
      routes: adminRoutes(queues, journeys),
    });
    const openPort = () => Number(new URL(open.url).port);
    try {
      expect((await send({ path: '/jobs' }, openPort)).status).toBe(200);
      const refused = await send({ path: '/jobs', headers: { authorization: 'Bearer anything' } }, openPort);
      expect(refused.status).toBe(401);
    } finally {
      await open.close();
    }
  });

  it('refuses a Host header naming another host (DNS rebinding) and cross-origin browser requests', async () => {
    const evil = await send({ path: '/jobs', headers: { ...auth, host: `attacker.example:${port}` } });
    expect(evil).toMatchObject({ status: 403, json: { error: 'host not allowed' } });
    // The listening host, localhost, IP literals and configured names are fine.
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `relayer.internal:${port}`,
      `[::1]:${port}`,
    ])
      expect((await send({ path: '/jobs', headers: { ...auth, host } })).status).toBe(200);

    const jobId = await deadJob('cross-origin');
    const write = { method: 'POST', path: `/jobs/${jobId}/retry`, body: '{}' };
    const foreign = await send({ ...write, headers: { ...json, origin: 'https://attacker.example' } });
    expect(foreign).toMatchObject({ status: 403, json: { error: 'cross-origin request refused' } });
    const fetchSite = await send({ ...write, headers: { ...json, 'sec-fetch-site': 'cross-site' } });
    expect(fetchSite.status).toBe(403);
    expect(await queues.queue('dead-cross-origin').getJobState(jobId)).toBe('failed');
    // Same origin (the API's own page) and no Origin at all (a CLI) go through.
    const same = await send({ ...write, headers: { ...json, origin: `http://127.0.0.1:${port}` } });
    expect(same).toMatchObject({ status: 200, json: { retried: [jobId] } });
  });
});

describe('admin API: what a write must look like', () => {
  it('refuses a text/plain POST /retry (a cross-site simple request) with 415 and retries nothing', async () => {
    const jobId = await deadJob('plain');
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const answer = await send({
        method: 'POST',
        path: '/retry',
        body: '{"state":"dead"}',
        headers: { ...auth, 'content-type': type },
      });
      expect(answer).toMatchObject({ status: 415, json: { error: 'writes must be application/json' } });
    }
    expect((await send({ method: 'POST', path: '/retry', headers: auth })).status).toBe(415);
    expect(await queues.queue('dead-plain').getJobState(jobId)).toBe('failed');

    const retried = await send({ method: 'POST', path: '/retry', body: '{"state":"dead"}', headers: json });
    expect(retried.status).toBe(200);
    expect(retried.json.retried).toContain(jobId);
    expect(await queues.queue('dead-plain').getJobState(jobId)).not.toBe('failed');
  });

  it('answers 413 for a body over the cap, 400 naming the bad field (never a zod dump) for a bad one', async () => {
    const big = JSON.stringify({ state: 'dead', origin: 'x'.repeat(100_000) });
    const answer = await send({ method: 'POST', path: '/retry', body: big, headers: json });
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatch(/over 16384 bytes/);

    const bad = await send({
      method: 'POST',
      path: '/retry',
      body: '{"limit":"lots","extra":1}',
      headers: json,
    });
    expect(bad).toMatchObject({ status: 400 });
    expect(bad.json.error).toMatch(/^invalid body: /);
    expect(bad.json.error).toContain('limit');
    expect(JSON.stringify(bad.json)).not.toMatch(/expected|received|invalid_type|"code"/i);
    const query = await send({ path: '/jobs?limit=-3', headers: auth });
    expect(query).toMatchObject({ status: 400, json: { error: 'invalid query: limit' } });
    const notJson = await send({ method: 'POST', path: '/retry', body: '{"state":', headers: json });
    expect(notJson).toMatchObject({ status: 400, json: { error: 'request body is not valid JSON' } });
  });
});

describe('admin API: dropping a request', () => {
  it('refuses to drop a waiting request without force (409), drops it with force', async () => {
    const jobId = await queuedJob('waiting');
    const requests = queues.requests(CLUSTER);
    const refused = await send({ method: 'DELETE', path: `/jobs/${jobId}`, body: '{}', headers: json });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatch(/waiting.*force/);
    expect(await requests.getJobState(jobId)).toBe('waiting');
    expect((await journeys.summary(jobId))?.state).toBe('queued');

    const forced = await send({
      method: 'DELETE',
      path: `/jobs/${jobId}`,
      body: '{"force":true}',
      headers: json,
    });
    expect(forced).toMatchObject({ status: 200, json: { dropped: jobId, jobs: 1 } });
    expect(await requests.getJob(jobId)).toBeUndefined();
    const entries = await journeys.entries(jobId);
    expect(entries.at(-1)).toMatchObject({
      stage: 'dead',
      detail: 'dropped by operator while waiting (forced)',
    });
    expect((await send({ method: 'DELETE', path: `/jobs/${jobId}`, body: '{}', headers: json })).status).toBe(
      404,
    );
  });

  it('drops a finished (failed) request without force', async () => {
    const jobId = await deadJob('finished');
    const dropped = await send({ method: 'DELETE', path: `/jobs/${jobId}`, body: '{}', headers: json });
    expect(dropped).toMatchObject({ status: 200, json: { dropped: jobId } });
  });

  it('the admin client sends the token and JSON, and surfaces 401 and 409 by status', async () => {
    const client = { url: server.url, token: TOKEN };
    const jobId = await queuedJob('client');
    expect((await listJobs(client, { state: 'queued' })).map((j) => j.jobId)).toContain(jobId);
    await expect(dropJob(client, jobId)).rejects.toMatchObject({ name: 'AdminApiError', status: 409 });
    expect(await retryJob(client, jobId)).toBe(false); // waiting, not failed: nothing to retry
    expect(await dropJob(client, jobId, { force: true })).toBe(true);
    const wrong = await listJobs({ url: server.url, token: 'wrong' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(AdminApiError);
    expect(wrong).toMatchObject({ status: 401 });
    expect((wrong as AdminApiError).details).toMatch(/PHALA_BRIDGE_ADMIN_TOKEN/);
  });
});

describe('admin API: internal failures', () => {
  it('answers 500 with an error id and no internal text; the details are logged under that id', async () => {
    // A store whose Redis connection is gone (closed by its client): every read fails in the handler.
    const broken = redis.duplicate();
    await broken.quit();
    const failing = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      token: TOKEN,
      allowedHosts: [],
      routes: adminRoutes(new RelayerQueues(broken, prefix), new JourneyStore({ redis: broken, prefix })),
    });
    try {
      const answer = await send({ path: '/jobs', headers: auth }, () => Number(new URL(failing.url).port));
      expect(answer.status).toBe(500);
      expect(Object.keys(answer.json).sort()).toEqual(['error', 'errorId']);
      expect(answer.json.error).toBe('internal error');
      expect(answer.json.errorId).toMatch(/^[0-9a-f]{12}$/);
      const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.errorId === answer.json.errorId);
      expect(logged).toMatchObject({ level: 50, msg: 'http handler failed', path: '/jobs' });
      // The log has what went wrong (ioredis' own words); the caller did not get them.
      expect(logged.err).toMatch(/Connection is closed/);
      expect(JSON.stringify(answer.json)).not.toMatch(/Connection|closed|Redis|node_modules/);
    } finally {
      await failing.close();
    }
  });
});

describe('admin configuration', () => {
  const chains = [
    {
      kind: 'evm',
      name: 'local',
      chainId: 31337,
      rpcUrl: 'http://127.0.0.1:8545',
      gateway: `0x${'11'.repeat(20)}`,
    },
  ];
  const issues = (raw: object): string[] => {
    try {
      parseConfig({ chains, ...raw }, 'test', {});
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).issues
        .filter((i) => i.path.startsWith('admin'))
        .map((i) => `${i.path}: ${i.message}`);
    }
  };

  it('refuses a production config listening on 0.0.0.0 (or anywhere) without admin.token', () => {
    const wide = issues({ admin: { host: '0.0.0.0' } });
    expect(wide).toHaveLength(1);
    expect(wide[0]).toMatch(/^admin\.token: admin\.token is required in production/);
    expect(issues({})).toHaveLength(1); // production on loopback: still required
    expect(issues({ admin: { host: '0.0.0.0', token: { env: 'PATH' } } })).toEqual([]);
  });

  it('in development, needs a token only beyond loopback', () => {
    const dev = (admin: object) =>
      issues({
        mode: 'development',
        chains: chains.map((c) => ({ ...c, signer: { value: '0x01' } })),
        admin,
      });
    expect(dev({ host: '127.0.0.1' })).toEqual([]);
    expect(dev({ host: '::1' })).toEqual([]);
    expect(dev({ host: 'localhost' })).toEqual([]);
    const wide = dev({ host: '0.0.0.0' });
    expect(wide).toHaveLength(1);
    expect(wide[0]).toContain('admin.host (0.0.0.0) is not loopback');
    expect(dev({ host: '10.1.2.3' })).toHaveLength(1);
    expect(dev({ host: '0.0.0.0', token: { value: 'dev-token-long-enough' } })).toEqual([]);
  });
});

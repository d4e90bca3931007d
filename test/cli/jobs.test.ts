import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { findJourney, UnknownJobError } from '../../src/relayer/admin-client.js';
import { adminRoutes } from '../../src/relayer/admin-routes.js';
import { startHttpServer } from '../../src/relayer/http-server.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * `phala-bridge jobs` against a real admin API (the relayer's routes over real queues and journeys
 * in Redis): a request id without its origin prefix, and lists that match nothing.
 */
const bin = path.resolve(import.meta.dirname, '../../bin/phala-bridge.js');
const TOKEN = 'cli-jobs-test-token-8d0e51';
const CONTRACT = `0x${'cd'.repeat(32)}`;
const prefix = uniquePrefix('cli-jobs');
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const queues = new RelayerQueues(redis, prefix);
const journeys = new JourneyStore({ redis, prefix });
let server: Awaited<ReturnType<typeof startHttpServer>>;

const id = (byte: string) => `0x${byte.repeat(32)}`;
const ONLY_EVM = id('a1');
const SHARED = id('b2');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Async: the admin server answering it runs in this process.
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'jobs', '--url', server.url, ...args], {
      env: { ...process.env, PHALA_BRIDGE_ADMIN_TOKEN: TOKEN },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function record(jobId: string, origin: string, stage: 'queued' | 'confirmed') {
  await journeys.record(jobId, { stage: 'observed' }, { origin, contractId: CONTRACT });
  await journeys.record(jobId, { stage });
}

beforeAll(async () => {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'fatal', pretty: false }),
    token: TOKEN,
    allowedHosts: [],
    routes: adminRoutes(queues, journeys),
  });
});
afterAll(async () => {
  await server?.close();
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('phala-bridge jobs', { timeout: 120_000 }, () => {
  it('list says so when nothing is known, and what the filter was when nothing matches', async () => {
    const empty = await cli(['list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout.trim()).toBe('no requests are known to the relayer (no filter)');

    await record(`evm-31337-${ONLY_EVM}`, 'evm-31337', 'confirmed');
    const none = await cli(['list', '--state', 'dead', '--origin', 'evm-31337']);
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('no requests match in state dead, from origin evm-31337');
    expect(JSON.parse((await cli(['--json', 'list', '--state', 'dead'])).stdout)).toEqual([]);
  });

  it('show takes a request id without its origin prefix', async () => {
    const shown = await cli(['show', ONLY_EVM]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n')[0]).toContain(`evm-31337-${ONLY_EVM}  confirmed`);
    // Upper-case hex is the same request (job ids hold it in lower case).
    const upper = await findJourney(
      { url: server.url, token: TOKEN },
      `0x${ONLY_EVM.slice(2).toUpperCase()}`,
    );
    expect(upper.jobId).toBe(`evm-31337-${ONLY_EVM}`);
  });

  it('a request id several origins used names the candidates; an unknown one names the origins', async () => {
    await record(`phala-${SHARED}`, 'phala', 'queued');
    await record(`xcm-2000-${SHARED}`, 'xcm-2000', 'queued');
    const ambiguous = await cli(['show', SHARED]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain(`phala-${SHARED}`);
    expect(ambiguous.stderr).toContain(`xcm-2000-${SHARED}`);

    const unknown = await cli(['show', id('c3')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`No request ${id('c3')} is known to the relayer`);
    expect(unknown.stderr).toContain('origins with requests: evm-31337, phala, xcm-2000');

    const wrongPrefix = findJourney({ url: server.url, token: TOKEN }, `evm-1-${ONLY_EVM}`);
    await expect(wrongPrefix).rejects.toBeInstanceOf(UnknownJobError);
    await expect(wrongPrefix).rejects.toMatchObject({ details: expect.stringContaining('evm-31337') });
  });
});

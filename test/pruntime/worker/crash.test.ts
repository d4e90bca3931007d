import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../../src/base/bytes.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { createLogger } from '../../../src/log/logger.js';
import { registry } from '../../../src/phala/index.js';
import { requestJobId } from '../../../src/protocol/origin.js';
import { requestQueueName } from '../../../src/protocol/queue-names.js';
import { ContractEngine } from '../../../src/pruntime/engine/engine.js';
import { type WorkerService, startWorker } from '../../../src/pruntime/worker/index.js';
import { checkResult } from '../../../src/relayer/verify-result.js';
import { type Deployed, type WorkerFixture, randomHash, startWorkerFixture } from './fixture.js';

/**
 * A worker as an operator runs it (`node bin/phala-bridge.js worker --config file`, a child
 * process): SIGKILLed in the middle of a job, the job is taken over by another worker once the
 * dead worker's lock expires and completes exactly once; restarted, it is the same worker
 * (sealed identity, registration, keys); SIGTERM lets it finish the job in hand and exit 0.
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const quiet = createLogger({ level: 'error' });
const SPIN = 'spin:7000000'; // about 14M gas: a second or more of contract execution here

let f: WorkerFixture;
let engine: ContractEngine;
let d: Deployed;
let configFile: string;
const cluster = randomHash();
const children = new Set<ChildProcess>();

type Child = { process: ChildProcess; url: string; exit: Promise<number | null> };

/** Starts `phala-bridge worker` and waits until its HTTP API listens (from its JSON log). */
async function startChild(): Promise<Child> {
  const child = spawn(
    process.execPath,
    [path.join(repo, 'bin/phala-bridge.js'), 'worker', '--config', configFile],
    {
      cwd: repo,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  children.add(child);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not start in time')), 60_000);
    const lines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'worker http api listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with ${code}:\n${lines.slice(-10).join('\n')}`));
    });
  });
  return { process: child, url, exit };
}

async function info(child: Child): Promise<{
  worker: { secp256k1: Hex; x25519: Hex; address: Hex };
  serving: boolean;
  keys: { id: Hex }[];
}> {
  return (await (await fetch(`${child.url}/info`)).json()) as never;
}

beforeAll(async () => {
  [f, engine] = await Promise.all([startWorkerFixture('crash'), ContractEngine.start({ threads: 1 })]);
  d = await f.deploy(cluster);
  configFile = path.join(f.tmp, 'child.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      f.rawConfig({
        cluster,
        dataDir: f.dataDir('child'),
        concurrency: 1,
        lockDurationMs: 2_000,
        stalledIntervalMs: 1_000,
        logLevel: 'info',
      }),
    ),
  );
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await engine?.close();
  await f?.close();
});

describe('worker process', () => {
  let first: Awaited<ReturnType<typeof info>>['worker'];
  let registeredAt: number;

  it('is SIGKILLed mid-job; another worker completes the job exactly once', async () => {
    const child = await startChild();
    first = (await info(child)).worker;
    const onChain = await f.waitFor(
      () => registry.getWorker(f.t.client, first.secp256k1),
      30_000,
      'registration',
    );
    registeredAt = onChain.registeredAt;
    await f.approve(first.secp256k1);
    await f.handOver(first, [d]);
    await f.waitFor(
      async () => {
        const view = await info(child);
        return view.serving && view.keys.some((k) => k.id === d.contractId);
      },
      30_000,
      'the child serving with its key',
    );

    const responseKey = generateKeyPair('x25519');
    const request = await f.evmRequest(d, SPIN, responseKey);
    const jobId = requestJobId(request.origin, request.requestId);
    const job = await f.enqueue(request);
    const queue = f.queue(requestQueueName(cluster));
    await f.waitFor(
      async () => {
        const current = await queue.getJob(jobId);
        return (
          (await current?.getState()) === 'active' && current?.processedBy === first.address.toLowerCase()
        );
      },
      30_000,
      'the child to take the job',
    );
    child.process.kill('SIGKILL');
    expect(await child.exit).toBe(null);

    // Another worker of the cluster: it finds the dead worker's job once its lock expires.
    let other: WorkerService | null = null;
    try {
      other = await startWorker({
        config: f.config({ cluster, dataDir: f.dataDir('other'), stalledIntervalMs: 500 }),
        logger: quiet,
        engine,
        http: false,
      });
      await f.waitFor(
        () => registry.getWorker(f.t.client, other!.enclave.publicIdentity.secp256k1),
        20_000,
        'other registered',
      );
      await f.approve(other.enclave.publicIdentity.secp256k1);
      await f.handOver(other.enclave.publicIdentity, [d]);
      const finished = await f.waitFor(
        async () => {
          const current = await queue.getJob(jobId);
          // Read again once completed: the job read before may predate its return value.
          return (await current?.getState()) === 'completed' ? queue.getJob(jobId) : null;
        },
        40_000,
        'the job to complete elsewhere',
      );
      expect(finished!.returnvalue).toMatchObject({ status: 'ok' });
      expect(finished!.processedBy).toBe(other.address.toLowerCase());
      expect(finished!.stalledCounter).toBeGreaterThanOrEqual(1);
      const results = await f.resultsFor(jobId);
      expect(results.map((r) => r.data.worker.address)).toEqual([other.address]);
      // One results job per worker batch: a lone EVM result is a signed batch of one, named by its worker.
      expect(results[0]!.id.endsWith(`-${other.address.toLowerCase()}`)).toBe(true);
      expect(checkResult(request, results[0]!.data, undefined)).toEqual({ ok: true });
      expect(Buffer.from(results[0]!.data.publicOutput.slice(2), 'hex').toString()).toMatch(/^spun \d$/);
      expect(job.id).toBe(jobId);
    } finally {
      await other?.stop({ graceMs: 1_000 });
    }
  });

  it('restarts as the same worker (identity, registration, keys) and finishes its job on SIGTERM', async () => {
    const child = await startChild();
    const view = await f.waitFor(
      async () => {
        const v = await info(child);
        return v.serving ? v : null;
      },
      30_000,
      'the restarted child serving',
    );
    expect(view.worker).toEqual(first);
    expect(view.keys.map((k) => k.id)).toContain(d.contractId);
    expect((await registry.getWorker(f.t.client, first.secp256k1))!.registeredAt).toBe(registeredAt);

    const request = await f.evmRequest(d, SPIN, generateKeyPair('x25519'));
    const jobId = requestJobId(request.origin, request.requestId);
    await f.enqueue(request);
    const queue = f.queue(requestQueueName(cluster));
    await f.waitFor(
      async () => {
        const current = await queue.getJob(jobId);
        return (
          (await current?.getState()) === 'active' && current?.processedBy === first.address.toLowerCase()
        );
      },
      30_000,
      'the child to take the job',
    );
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
    const done = await queue.getJob(jobId);
    expect(await done!.getState()).toBe('completed');
    expect(done!.processedBy).toBe(first.address.toLowerCase());
    expect((await f.resultsFor(jobId)).map((r) => r.data.worker.address)).toEqual([first.address]);
  });
});

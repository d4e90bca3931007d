import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/base/poll.js';
import { devnetClients } from '../../src/devnet/evm/clients.js';
import { readTape } from '../../src/protocol/tape.js';
import { requestJobId } from '../../src/protocol/origin.js';
import { dropJob, getJourney } from '../../src/relayer/admin-client.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { createRedis } from '../../src/relayer/redis.js';
import { requestFromEvm } from '../../src/sdk/evm.js';
import { type Devnet, expectFulfilled, replay, startDevnet } from '../../src/testing/index.js';

/**
 * `phala-bridge replay` as an operator runs it, the real CLI in a child process:
 *   --queue: a request the relayer had queued is dropped before any worker took it; the tape the
 *            daemon recorded puts it back into the live queue, and it is fulfilled. Again: nothing.
 *   --compare: a golden tape that disagrees makes the command list the difference and exit 1.
 * And, on the same devnet through `replay()`, why a tape does not replay after other Phala-style
 * requests: the chain's one request nonce has moved, and each differing id says so.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../bin/phala-bridge.js');
const tapes = path.resolve(here, '../tapes');
const dir = mkdtempSync(path.join(os.tmpdir(), 'replay-cli-'));
const tape = path.join(dir, 'recorded.ndjson');
let devnet: Devnet;

type Run = { code: number; stdout: string; stderr: string };
async function cli(args: string[], timeout = 240_000): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      timeout,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  devnet = await startDevnet({ recordTape: tape, examples: false });
}, 120_000);
afterAll(async () => {
  await devnet?.stop();
});

describe('phala-bridge replay (sim TEE)', () => {
  it('--queue puts a dropped request back into the live queue from the recorded tape', async () => {
    const admin = devnet.relayer.admin;
    const redis = createRedis(devnet.config.redis);
    const queues = new RelayerQueues(redis, devnet.config.redis.prefix);
    const requests = queues.requests(devnet.cluster);
    try {
      // No worker takes a request while its queue is paused: the job waits where the operator drops it.
      await requests.pause();
      const { walletClient, publicClient } = devnetClients(
        devnet.chains.evm,
        devnet.chains.evm.accounts[6]!.privateKey,
      );
      const sent = await requestFromEvm({
        sender: walletClient,
        publicClient,
        gateway: devnet.chains.evm.gateway,
        contractId: devnet.contracts.greeter.contractId,
        input: 'dropped',
      });
      const jobId = requestJobId(
        { kind: 'evm', chainId: devnet.chains.evm.chainId, gateway: devnet.chains.evm.gateway },
        sent.requestId,
      );
      await pollUntil(async () => (await requests.getJob(jobId)) ?? null, {
        label: 'the request in the queue',
        timeoutMs: 30_000,
      });
      await pollUntil(async () => readTape(tape).length === 1, {
        label: 'the tape entry',
        timeoutMs: 10_000,
      });
      // Still waiting for a worker: dropped only when forced.
      await expect(dropJob(admin, jobId)).rejects.toMatchObject({ status: 409 });
      expect(await dropJob(admin, jobId, { force: true })).toBe(true);
      expect(await requests.getJob(jobId)).toBeUndefined();

      const first = await cli(['replay', tape, '--queue', '-c', devnet.configFile]);
      expect(first.stderr).not.toMatch(/Error/);
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toContain('1 entries: 1 queued, 0 already known, 0 rejected');
      expect(await requests.getJob(jobId)).toBeDefined();

      await requests.resume();
      const done = await expectFulfilled(devnet, sent, { publicOutput: 'hello, dropped!' });
      expect(done.requestId).toBe(sent.requestId);
      // The journey tells it: queued, dropped, queued again from the tape, answered.
      const stages = (await getJourney(admin, jobId))!.journey.map((j) => j.stage);
      expect(stages.slice(0, 5)).toEqual(['observed', 'queued', 'dead', 'observed', 'queued']);
      expect(stages).toContain('submitted');

      // The request is known (and fulfilled): replaying the tape again queues nothing.
      const again = await cli(['replay', tape, '--queue', '-c', devnet.configFile]);
      expect(again).toMatchObject({ code: 0 });
      expect(again.stdout).toContain('1 entries: 0 queued, 1 already known, 0 rejected');
    } finally {
      await requests.resume().catch(() => undefined);
      await queues.close();
      redis.disconnect();
    }
  }, 180_000);

  it('--compare exits 1 and names the entry whose public output differs from the golden tape', async () => {
    // The recorded greeter tape, against a golden tape whose second answer was edited.
    const golden = readFileSync(path.join(tapes, 'evm.golden.ndjson'), 'utf8').trim().split('\n');
    const edited = path.join(dir, 'edited.golden.ndjson');
    writeFileSync(edited, `${golden[0]}\n${editPublicOutput(golden[1]!)}\n`);
    const out = path.join(dir, 'out.ndjson');
    const run = await cli(['replay', path.join(tapes, 'evm.ndjson'), '--out', out, '--compare', edited]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/1 differences from .*edited\.golden\.ndjson/);
    // Matched by place: the fresh devnet gave the EVM requests new ids, which are not a difference.
    expect(run.stdout).toMatch(/entry 2 \(EVM request 2, golden 0x[0-9a-f]{64}\): publicOutput is 0x/);
    expect(run.stdout).not.toMatch(/entry 1 |requestId/);
    // What landed is still written, one entry per request.
    expect(readTape(out).length).toBe(2);
  }, 300_000);
});

describe('replay after other requests on the same devnet', () => {
  it('Phala-style and XCM requests share the chain’s nonce: an XCM tape after a Phala-style one gets other ids, each difference says why', async () => {
    // The Phala-style chain has sent no request yet: the phala tape starts where its recording did.
    const first = await replay(path.join(tapes, 'phala.ndjson'), {
      devnet,
      compare: path.join(tapes, 'phala.golden.ndjson'),
    });
    expect(first.differences).toEqual([]);
    expect(first.requests.map((r) => r.nonce)).toEqual([
      { recorded: 0n, replayed: 0n },
      { recorded: 1n, replayed: 1n },
    ]);
    // The xcm tape was recorded on a fresh chain (nonces 0, 1); here the counter is at 2.
    const second = await replay(path.join(tapes, 'xcm.ndjson'), {
      devnet,
      compare: path.join(tapes, 'xcm.golden.ndjson'),
      timeoutMs: 180_000,
    });
    expect(second.requests.map((r) => r.nonce)).toEqual([
      { recorded: 0n, replayed: 2n },
      { recorded: 1n, replayed: 3n },
    ]);
    expect(second.differences).toEqual([
      expect.stringMatching(
        /^entry 1 \(0x[0-9a-f]{64}\): requestId is 0x[0-9a-f]{64}, golden 0x[0-9a-f]{64} \(sent at the Phala-style chain's request nonce 2, recorded at 0: .*whole recording of a fresh devnet\)$/,
      ),
      expect.stringMatching(/^entry 2 \(0x[0-9a-f]{64}\): requestId is .*nonce 3, recorded at 1: /),
    ]);
    // The answers themselves are the same.
    expect(second.outcomes.map((o) => Buffer.from(o.publicOutput.slice(2), 'hex').toString())).toEqual([
      'hello, xcm-dave!',
      'hello, xcm-ferdie!',
    ]);
  }, 480_000);
});

/**
 * A golden EVM entry keeps its outputs in the fulfil call's calldata: flip a byte of the public
 * output "hello, evm-grace!" there (its hex appears once in the call).
 */
function editPublicOutput(line: string): string {
  const entry = JSON.parse(line) as { call: string };
  const text = Buffer.from('evm-grace').toString('hex');
  expect(entry.call.split(text).length).toBe(2);
  entry.call = entry.call.replace(text, Buffer.from('evm-gracE').toString('hex'));
  return JSON.stringify(entry);
}

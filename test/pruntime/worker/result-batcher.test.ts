import { describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../../src/base/bytes.js';
import { ethereumAddress, generateKeyPair } from '../../../src/crypto/keys.js';
import {
  fulfillmentBatchDigest,
  fulfillmentBatchRoot,
  fulfillmentDigest,
  fulfillmentOf,
  signTypedDigest,
} from '../../../src/crypto/proofs.js';
import type { Origin } from '../../../src/protocol/origin.js';
import type { RequestJob } from '../../../src/protocol/request-job.js';
import { type ResultBatchJob, resultBatchJobSchema } from '../../../src/protocol/result-batch-job.js';
import type { ResultJob } from '../../../src/protocol/result-job.js';
import type { SignBatchRequest } from '../../../src/pruntime/enclave/executor.js';
import { ResultBatcher } from '../../../src/pruntime/worker/result-batcher.js';
import { isSignedBatch } from '../../../src/relayer/chains/evm-batches.js';

/**
 * What a worker puts on the results queue (src/pruntime/worker/result-batcher.ts): ONE
 * ResultBatchJob per group of EVM results ready together for one gateway, signed as a
 * FulfillmentBatch (a lone EVM result as a batch of one); Phala-style, stateful results and a
 * batch size under 2 go alone without a batch signature. A group goes at its size, after
 * maxDelayMs while other jobs still run, or a short linger once none runs. Signatures are real,
 * made as the enclave makes them, and each published batch must pass the relayer's own check.
 */
const worker = generateKeyPair('secp256k1');
const WORKER = { address: ethereumAddress(worker.publicKey), publicKey: toHex(worker.publicKey) };
const EVM: Extract<Origin, { kind: 'evm' }> = {
  kind: 'evm',
  chainId: 31337,
  gateway: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};
const OTHER_GATEWAY: Extract<Origin, { kind: 'evm' }> = {
  ...EVM,
  gateway: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
};
const PHALA: Origin = { kind: 'phala', genesisHash: toHex(new Uint8Array(32).fill(0x9e)) as Hex };
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

const requests = new Map<string, RequestJob>();
function requestFor(n: number, origin: Origin): RequestJob {
  const request: RequestJob = {
    v: 1,
    origin,
    requestId: hex32(n),
    contractId: hex32(0xc0),
    cluster: hex32(0xc1),
    requester: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
    nonce: String(n),
    sealedInput: '0x01',
    responseKey: hex32(0xc2),
    deadline: 2_000_000_000,
    observed: { chain: 'test', blockNumber: n, blockHash: hex32(0xc3), at: 1_700_000_000 },
  };
  requests.set(request.requestId, request);
  return request;
}

/** The worker's answer to request `n`, with its own EIP-712 proof (a Substrate one for Phala). */
function result(n: number, origin: Origin = EVM, extra: Partial<ResultJob> = {}): ResultJob {
  const request = requestFor(n, origin);
  const publicOutput = new TextEncoder().encode(`answer ${n}`);
  const sealedOutput = new Uint8Array([n]);
  const stateRoot = hex32(0xd0);
  const proof: ResultJob['proof'] =
    origin.kind === 'evm'
      ? {
          kind: 'eip712',
          signature: signTypedDigest(
            fulfillmentDigest(
              { chainId: origin.chainId, verifyingContract: origin.gateway },
              fulfillmentOf(request.requestId, publicOutput, sealedOutput, stateRoot),
            ),
            worker.secretKey,
          ),
        }
      : { kind: 'substrate', signature: toHex(new Uint8Array(64)) };
  return {
    v: 1,
    jobId: `job-${n}`,
    origin,
    requestId: request.requestId,
    contractId: request.contractId,
    cluster: request.cluster,
    worker: WORKER,
    status: 'ok',
    publicOutput: toHex(publicOutput),
    sealedOutput: toHex(sealedOutput),
    stateRoot,
    proof,
    gasUsed: 10,
    producedAt: 1_700_000_001,
    ...extra,
  };
}

/** The enclave's batch signature (src/pruntime/enclave/executor.ts signBatch), with the worker's key. */
function enclaveSign({ target, leaves }: SignBatchRequest) {
  const root = toHex(fulfillmentBatchRoot(leaves.map((l) => fromHex(l, 'leaf', 32)))) as Hex;
  const digest = fulfillmentBatchDigest(
    { chainId: target.chainId, verifyingContract: target.verifyingContract },
    root,
    leaves.length,
  );
  return { root, count: leaves.length, signature: signTypedDigest(digest, worker.secretKey) };
}

type Published = { job: ResultBatchJob; at: number };

function batcher(
  running: { n: number },
  p: {
    maxSize?: number;
    maxDelayMs?: number;
    lingerMs?: number;
    maxSizeFor?: (chainId: number, gateway: Hex) => number;
    sign?: (request: SignBatchRequest) => { root: Hex; count: number; signature: Hex };
    publish?: (job: ResultBatchJob) => Promise<void>;
    onSignError?: (error: unknown, size: number) => void;
    full?: () => boolean;
  } = {},
) {
  const published: Published[] = [];
  const start = Date.now();
  const b = new ResultBatcher({
    maxSize: p.maxSize ?? 8,
    maxDelayMs: p.maxDelayMs ?? 200,
    ...(p.lingerMs === undefined ? {} : { lingerMs: p.lingerMs }),
    ...(p.maxSizeFor ? { maxSizeFor: p.maxSizeFor } : {}),
    ...(p.onSignError ? { onSignError: p.onSignError } : {}),
    running: () => running.n,
    ...(p.full ? { full: p.full } : {}),
    sign: p.sign ?? enclaveSign,
    publish:
      p.publish ??
      (async (job) => {
        published.push({ job, at: Date.now() - start });
      }),
  });
  return { b, published };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the relayer's prepare stage would decide about a published job's batch signature. */
function goesWhole(job: ResultBatchJob): boolean {
  if (!job.batch) return false;
  const items = job.results.map((r) => ({ request: requests.get(r.requestId)!, result: r }));
  return isSignedBatch(items, job.batch);
}
const ids = (job: ResultBatchJob) => job.results.map((r) => Number.parseInt(r.requestId.slice(-4), 16));

describe('worker result batcher: one ResultBatchJob per group', () => {
  it('a lone EVM result goes after the linger, signed as a batch of one', async () => {
    const { b, published } = batcher({ n: 0 }, { maxDelayMs: 5_000 });
    await b.add(result(1));
    expect(published).toHaveLength(1);
    const [{ job, at }] = published as [Published];
    expect(ids(job)).toEqual([1]);
    expect(job.batch).toBeDefined();
    expect(goesWhole(job)).toBe(true);
    expect(resultBatchJobSchema.safeParse(job).success).toBe(true);
    expect(at).toBeLessThan(2_000);
  });

  it('results a few milliseconds apart with nothing running are one job, signed over all, in order', async () => {
    const { b, published } = batcher({ n: 0 }, { lingerMs: 30 });
    const first = b.add(result(1));
    await sleep(5);
    const second = b.add(result(2));
    await sleep(5);
    const third = b.add(result(3));
    await Promise.all([first, second, third]);
    expect(published.map((p) => ids(p.job))).toEqual([[1, 2, 3]]);
    expect(goesWhole(published[0]!.job)).toBe(true);
    expect(published[0]!.job.worker).toEqual(WORKER);
  });

  it('waits up to maxDelayMs while jobs still run, and goes at once when full', async () => {
    const running = { n: 2 };
    const { b, published } = batcher(running, { maxSize: 3, maxDelayMs: 600, lingerMs: 10 });
    const a = b.add(result(1));
    await sleep(30);
    expect(published).toHaveLength(0); // still running: held past the linger
    await a;
    expect(published).toHaveLength(1);
    expect(published[0]!.at).toBeGreaterThanOrEqual(590);
    await Promise.all([b.add(result(2)), b.add(result(3)), b.add(result(4))]);
    expect(published.map((p) => ids(p.job))).toEqual([[1], [2, 3, 4]]);
    expect(published.every((p) => goesWhole(p.job))).toBe(true);
  });

  it('when every queue slot holds a waiting result and nothing runs, the group goes at once (no job could join it)', async () => {
    // Three slots: each job holds its slot until its result is published.
    const slots = 3;
    let held = 0;
    const running = { n: 0 };
    const { b, published } = batcher(running, {
      maxSize: 16,
      maxDelayMs: 5_000,
      lingerMs: 1_000,
      full: () => held >= slots,
    });
    const started = Date.now();
    const add = (n: number) => {
      held++;
      return b.add(result(n)).finally(() => held--);
    };
    const first = [add(1), add(2)];
    await sleep(20);
    expect(published).toHaveLength(0); // a slot is free: the linger holds the group for a third
    await Promise.all([...first, add(3)]);
    expect(published.map((p) => ids(p.job))).toEqual([[1, 2, 3]]);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('when the last running job ends, the waiting group goes after the linger, not maxDelayMs', async () => {
    const running = { n: 1 };
    const { b, published } = batcher(running, { maxDelayMs: 5_000, lingerMs: 10 });
    const pending = b.add(result(1));
    await sleep(20);
    running.n = 0;
    b.settle();
    await pending;
    expect(published[0]!.at).toBeLessThan(2_000);
  });

  it('results for two gateways are two jobs, each signed for its own gateway', async () => {
    const { b, published } = batcher({ n: 0 }, { lingerMs: 10 });
    await Promise.all([b.add(result(1)), b.add(result(2, OTHER_GATEWAY)), b.add(result(3))]);
    const byGateway = published.map((p) => ({
      gateway: (p.job.results[0]!.origin as { gateway: string }).gateway,
      ids: ids(p.job),
    }));
    expect(byGateway).toEqual(
      expect.arrayContaining([
        { gateway: EVM.gateway, ids: [1, 3] },
        { gateway: OTHER_GATEWAY.gateway, ids: [2] },
      ]),
    );
    expect(published).toHaveLength(2);
    expect(published.every((p) => goesWhole(p.job))).toBe(true);
  });

  it.each([
    { case: 'a Phala-style result', make: () => result(1, PHALA), p: {} },
    {
      case: 'a stateful EVM result (it commits its state first)',
      make: () =>
        result(1, EVM, {
          stateCommit: {
            contractId: hex32(0xc0),
            expectedVersion: '0',
            sealedState: '0x00',
            stateRoot: hex32(0xd0),
            signature: toHex(new Uint8Array(65)),
          },
        }),
      p: {},
    },
    { case: 'any result when maxSize < 2', make: () => result(1), p: { maxSize: 1 } },
    {
      case: 'a result for a gateway whose chain batches under 2',
      make: () => result(1),
      p: { maxSizeFor: () => 1 },
    },
  ])('$case goes alone at once, without a batch signature', async ({ make, p }) => {
    const { b, published } = batcher({ n: 3 }, { maxDelayMs: 5_000, ...p });
    const r = make();
    await b.add(r);
    expect(published).toHaveLength(1);
    expect(published[0]!.job).toEqual({ v: 2, worker: WORKER, results: [r] });
    expect(published[0]!.at).toBeLessThan(2_000);
  });

  it('when the enclave will not sign the batch, each result goes alone under its own proof', async () => {
    const errors: number[] = [];
    const { b, published } = batcher(
      { n: 0 },
      {
        lingerMs: 10,
        sign: () => {
          throw new Error('unknown result');
        },
        onSignError: (_error, size) => errors.push(size),
      },
    );
    await Promise.all([b.add(result(1)), b.add(result(2))]);
    expect(errors).toEqual([2]);
    expect(published.map((p) => ({ ids: ids(p.job), signed: p.job.batch !== undefined }))).toEqual([
      { ids: [1], signed: false },
      { ids: [2], signed: false },
    ]);
  });

  it('a publish that fails is every grouped result’s failure', async () => {
    const { b } = batcher(
      { n: 0 },
      {
        lingerMs: 10,
        publish: async () => {
          throw new Error('redis down');
        },
      },
    );
    const outcomes = await Promise.allSettled([b.add(result(1)), b.add(result(2))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});

import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import { phalaChainSchema } from '../../src/config/schema.js';
import { genesisHex } from '../../src/phala/client.js';
import { codeHashOf, contracts, registry } from '../../src/phala/index.js';
import type { Origin } from '../../src/protocol/origin.js';
import type { PreparedBatch } from '../../src/protocol/prepared-batch.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import type { SentTransaction } from '../../src/protocol/sent-transaction.js';
import { responseTopicOf } from '../../src/protocol/xcm-response.js';
import { NonceCounter } from '../../src/phala/nonce-counter.js';
import { PhalaBatchShapeError, PhalaDestination } from '../../src/relayer/chains/phala-destination.js';
import type { TransactionCheck } from '../../src/relayer/ports.js';
import { MemoryXcmTrackerStore } from '../../src/xcm/tracker/store.js';
import { XcmTracker } from '../../src/xcm/tracker/tracker.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { type Actor, addGatekeeper, approvedWorker, newActor, randomHash } from '../phala/setup.js';

/**
 * The Phala-style destination in the relayer's stage model, against a real dev node: `send`
 * signs with a pipelined nonce and broadcasts without waiting, `check` is one look at what the
 * chain says (pending / mined / final per item / replaced), `rebroadcast` sends lost bytes again.
 * Each case reads as the spec: what was sent → the looks until final → what each item became.
 */

let t: TestNode;
let gatekeeper: Actor;
let worker: Actor;
let contractId: Hex;
let destination: PhalaDestination;
let tracker: XcmTracker;
let nonces: NonceCounter;
const measurement = randomHash();
const cluster = randomHash();

beforeAll(async () => {
  t = await startTestNode();
  gatekeeper = await newActor(t);
  await addGatekeeper(t, gatekeeper);
  await registry.addMeasurement(t.client, { sudo: t.alice, measurement });
  worker = await approvedWorker(t, { gatekeeper, measurement, cluster });
  const code = new TextEncoder().encode(
    `export function handle(i) { return { public: i }; } // ${Math.random()}`,
  );
  await contracts.uploadCode(t.client, { signer: t.alice, code });
  const made = await contracts.instantiate(t.client, {
    signer: t.alice,
    codeHash: u8aToHex(codeHashOf(code)) as Hex,
    cluster,
    salt: '0x01',
  });
  contractId = made.event.contractId;
  tracker = new XcmTracker({ store: new MemoryXcmTrackerStore() });
  nonces = new NonceCounter(t.api);
  destination = new PhalaDestination({
    config: phalaChainSchema.parse({
      kind: 'phala',
      name: 'phala',
      wsUrl: t.node.wsUrl,
      batch: { maxSize: 1, maxDelayMs: 0 },
    }),
    client: t.client,
    // Only the destination signs with Charlie here: its nonce counter is the one sender.
    signer: t.charlie,
    tracker,
    nonces,
  });
}, 90_000);
afterAll(async () => {
  await t?.stop();
});

const phalaOrigin = (): Origin => ({ kind: 'phala', genesisHash: genesisHex(t.client) });
const xcmOrigin: Origin = { kind: 'xcm', paraId: 2000, location: '0x010100411f' };

async function newRequest(): Promise<Hex> {
  const { event } = await contracts.request(t.client, {
    signer: t.bob,
    contractId,
    sealedInput: randomHash(),
    responseKey: randomHash(),
    deadline: await contracts.deadlineIn(t.client, 200),
  });
  return event.requestId;
}

async function version(): Promise<bigint> {
  return (await contracts.getContractState(t.client, contractId))?.version ?? 0n;
}

let batches = 0;

/** A prepared batch of one item: a request made on chain and `by`'s signed answer with its new state. */
async function batchFor(
  p: { expectedVersion?: bigint; by?: Actor; origin?: Origin; requestId?: Hex } = {},
): Promise<PreparedBatch> {
  const requestId = p.requestId ?? (await newRequest());
  const expectedVersion = p.expectedVersion ?? (await version());
  const by = p.by ?? worker;
  const origin = p.origin ?? phalaOrigin();
  const fields = {
    requestId,
    publicOutput: randomHash(),
    sealedOutput: '0xbb' as Hex,
    stateRoot: randomHash(),
  };
  const state = randomHash();
  const signature = contracts.signFulfillment(t.client, {
    workerSecretKey: by.identity.signing.secretKey,
    ...fields,
    stateCommit: { expectedVersion, state },
  });
  const request: RequestJob = {
    v: 1,
    origin,
    requestId,
    contractId,
    cluster,
    requester: u8aToHex(t.bob.publicKey) as Hex,
    nonce: '0',
    sealedInput: '0x00',
    responseKey: randomHash(),
    deadline: 0,
    observed: { chain: 'phala', blockNumber: 1, blockHash: randomHash(), at: Date.now() },
  };
  const result: ResultJob = {
    v: 1,
    jobId: `phala-${requestId}`,
    origin,
    contractId,
    cluster,
    worker: { address: '0x0000000000000000000000000000000000000000', publicKey: by.key },
    status: 'ok',
    ...fields,
    proof: { kind: 'substrate', signature },
    stateCommit: {
      contractId,
      expectedVersion: expectedVersion.toString(),
      sealedState: state,
      stateRoot: fields.stateRoot,
      signature,
    },
    gasUsed: 1,
    producedAt: Date.now(),
  };
  return {
    id: `batch-${++batches}`,
    chain: 'phala',
    worker: { address: result.worker.address, publicKey: by.key },
    items: [{ request, result }],
    root: null,
    signature: null,
    attempt: 0,
  };
}

/** Records the sent transaction and broadcasts it (what the submit stage does). */
async function send(batch: PreparedBatch, to = destination): Promise<SentTransaction> {
  const recorded: SentTransaction[] = [];
  const sent = await to.send([batch], async (s) => void recorded.push(s));
  expect(recorded).toEqual([sent]);
  return sent;
}

/** Records the sent transaction, then "crashes" before the broadcast: the bytes exist only in the record. */
async function sendAndCrash(batch: PreparedBatch, during?: () => Promise<unknown>): Promise<SentTransaction> {
  let recorded: SentTransaction | null = null;
  const crash = new Error('crashed after recording');
  await expect(
    destination.send([batch], async (s) => {
      recorded = s;
      await during?.();
      throw crash;
    }),
  ).rejects.toBe(crash);
  return recorded!;
}

/** Looks (as the confirm stage does) until `done`; returns every kind seen and the last look. */
async function lookUntil(
  sent: SentTransaction,
  batch: PreparedBatch,
  done: (check: TransactionCheck) => boolean = (c) => c.kind === 'final' || c.kind === 'replaced',
  timeoutMs = 20_000,
  from = destination,
): Promise<{ seen: TransactionCheck['kind'][]; last: TransactionCheck }> {
  const seen: TransactionCheck['kind'][] = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const last = await from.check(sent, [batch]);
    if (seen.at(-1) !== last.kind) seen.push(last.kind);
    if (done(last)) return { seen, last };
    if (Date.now() > until) throw new Error(`still ${last.kind} after ${timeoutMs} ms (seen ${seen})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function itemOf(check: TransactionCheck, batch: PreparedBatch) {
  if (check.kind !== 'final') throw new Error(`expected final, got ${check.kind}`);
  return check.items.get(batch.items[0]!.request.requestId);
}

describe('PhalaDestination: send, then one look at a time', () => {
  it('sent → pending or mined → mined while not finalized → final: delivered (with its state)', async () => {
    const before = await version();
    const batch = await batchFor();
    t.node.chain.setFinalityLag(1_000); // hold finality: the look must say mined, not final
    let sent: SentTransaction;
    let mined: Awaited<ReturnType<typeof lookUntil>>;
    try {
      sent = await send(batch);
      expect(sent).toMatchObject({ chain: 'phala', signer: t.charlie.address, fees: null });
      expect(sent.hashes).toHaveLength(1);
      expect(sent.raw).toMatch(/^0x[0-9a-f]+$/);
      expect(sent.sentAtBlock).toBeGreaterThan(0);
      mined = await lookUntil(sent, batch, (c) => c.kind === 'mined');
      expect(['pending', 'mined']).toContain(mined.seen[0]);
      // Still mined on a second look: not final until the block is.
      expect((await destination.check(sent, [batch])).kind).toBe('mined');
    } finally {
      t.node.chain.setFinalityLag(0);
    }
    const { last } = await lookUntil(sent, batch);
    expect(last).toMatchObject({
      kind: 'final',
      txHash: sent.hashes[0],
      blockNumber: (mined.last as { blockNumber: number }).blockNumber,
    });
    expect(itemOf(last, batch)).toEqual({ kind: 'delivered', callbackFailed: false });
    expect(await version()).toBe(before + 1n);
  }, 60_000);

  // Each row: what is sent (made per row), and what the final look says about its item.
  const rows: {
    name: string;
    batch: () => Promise<PreparedBatch>;
    item: (batch: PreparedBatch) => unknown;
    ours?: boolean;
  }[] = [
    {
      name: 'a request answered already by another answer → not-pending',
      batch: async () => {
        const requestId = await newRequest();
        const other = await batchFor({ requestId });
        const r = other.items[0]!.result;
        await contracts.fulfill(t.client, {
          signer: t.alice,
          requestId,
          publicOutput: r.publicOutput,
          sealedOutput: r.sealedOutput,
          stateRoot: r.stateRoot,
          stateCommit: {
            expectedVersion: BigInt(r.stateCommit!.expectedVersion),
            state: r.stateCommit!.sealedState,
          },
          signature: r.proof.signature,
          waitFor: 'finalized',
        });
        return batchFor({ requestId });
      },
      item: () => ({ kind: 'not-pending' }),
    },
    {
      name: 'a result computed on a state that moved on → rerun',
      batch: async () => batchFor({ expectedVersion: (await version()) + 5n }),
      item: () => ({ kind: 'rerun', reason: expect.stringMatching(/state moved on/) }),
      ours: true,
    },
    {
      name: 'a request cancelled (gone) before the answer → not-pending',
      batch: async () => batchFor({ requestId: randomHash() }),
      item: () => ({ kind: 'not-pending' }),
      ours: true,
    },
    {
      name: 'a registered worker not (yet) approved → refused, retryable',
      batch: async () => {
        const pending = await newActor(t);
        await registry.registerWorker(t.client, {
          signer: pending.signer,
          x25519: pending.x25519,
          cluster,
          attestation: '0x01',
        });
        return batchFor({ by: pending });
      },
      item: () => ({ kind: 'refused', code: 'PhalaContracts.WorkerNotApproved', retryable: true }),
      ours: true,
    },
    {
      name: 'a signer that is no worker at all → refused for good with the pallet error',
      batch: async () => batchFor({ by: await newActor(t, 0n) }),
      item: () => ({ kind: 'refused', code: 'PhalaContracts.WorkerNotFound', retryable: false }),
      ours: true,
    },
  ];

  for (const row of rows) {
    it(row.name, async () => {
      const batch = await row.batch();
      const sent = await send(batch);
      const { seen, last } = await lookUntil(sent, batch);
      expect(seen.at(-1)).toBe('final');
      expect(itemOf(last, batch)).toEqual(row.item(batch));
      // A failed dispatch is found where our nonce was used: our hash and its block.
      if (row.ours) {
        expect(last).toMatchObject({ kind: 'final', txHash: sent.hashes[0] });
        expect((last as { blockNumber: number }).blockNumber).toBeGreaterThan(sent.sentAtBlock!);
      }
    }, 60_000);
  }

  it('our very answer brought by another extrinsic → delivered, naming that extrinsic', async () => {
    const batch = await batchFor();
    const r = batch.items[0]!.result;
    // Ours is recorded but not broadcast yet; someone else sends the same signed answer first.
    const sent = await sendAndCrash(batch);
    const other = await contracts.fulfill(t.client, {
      signer: t.alice,
      requestId: r.requestId,
      publicOutput: r.publicOutput,
      sealedOutput: r.sealedOutput,
      stateRoot: r.stateRoot,
      stateCommit: {
        expectedVersion: BigInt(r.stateCommit!.expectedVersion),
        state: r.stateCommit!.sealedState,
      },
      signature: r.proof.signature,
      waitFor: 'finalized',
    });
    // Not final while our nonce is unused (our bytes could still land and must not leave a hole).
    expect(await destination.check(sent, [batch])).toEqual({ kind: 'pending', known: false });
    await destination.rebroadcast(sent);
    const { last } = await lookUntil(sent, batch);
    expect(last).toMatchObject({ kind: 'final', txHash: other.txHash, blockNumber: other.blockNumber });
    expect(itemOf(last, batch)).toEqual({ kind: 'delivered', callbackFailed: false });
  }, 60_000);

  it('bytes the node never got → pending, unknown → rebroadcast → final (twice is harmless)', async () => {
    const batch = await batchFor();
    const sent = await sendAndCrash(batch);
    expect(await destination.check(sent, [batch])).toEqual({ kind: 'pending', known: false });
    await destination.rebroadcast(sent);
    await destination.rebroadcast(sent); // already imported, or outdated: both fine
    const { last } = await lookUntil(sent, batch);
    expect(last).toMatchObject({ kind: 'final', txHash: sent.hashes[0] });
    expect(itemOf(last, batch)).toEqual({ kind: 'delivered', callbackFailed: false });
    await destination.rebroadcast(sent); // after inclusion: outdated, nothing to do
  }, 60_000);

  it('a nonce gap (an earlier send lost) → the later one waits, known; the lost one rebroadcast → both final', async () => {
    const first = await batchFor();
    const second = await batchFor({ expectedVersion: (await version()) + 1n });
    let later: SentTransaction | null = null;
    const lost = await sendAndCrash(first, async () => {
      later = await send(second);
    });
    expect(later!.nonce).toBe(lost.nonce + 1);
    expect(await destination.check(lost, [first])).toEqual({ kind: 'pending', known: false });
    // Waits in the pool behind the gap.
    expect(await destination.check(later!, [second])).toEqual({ kind: 'pending', known: true });
    await destination.rebroadcast(lost);
    const a = await lookUntil(lost, first);
    const b = await lookUntil(later!, second);
    expect(itemOf(a.last, first)).toEqual({ kind: 'delivered', callbackFailed: false });
    expect(itemOf(b.last, second)).toEqual({ kind: 'delivered', callbackFailed: false });
  }, 60_000);

  it('a nonce taken by another extrinsic of the same signer → replaced', async () => {
    const lostBatch = await batchFor();
    const lost = await sendAndCrash(lostBatch);
    // The counter was reset by the failed send: the next send takes the same nonce.
    const batch = await batchFor();
    const sent = await send(batch);
    expect(sent.nonce).toBe(lost.nonce);
    const { last } = await lookUntil(sent, batch);
    expect(itemOf(last, batch)).toEqual({ kind: 'delivered', callbackFailed: false });
    expect(await destination.check(lost, [lostBatch])).toEqual({ kind: 'replaced' });
    // Its bytes are outdated now: a rebroadcast is a no-op, not an error.
    await destination.rebroadcast(lost);
    expect(await destination.check(lost, [lostBatch])).toEqual({ kind: 'replaced' });
  }, 60_000);

  it('pipelines nonces: several sends in flight at once, each final on its own', async () => {
    const start = await version();
    // Sequential state versions: each result extends the one before it.
    const made: PreparedBatch[] = [];
    for (let i = 0n; i < 4n; i++) made.push(await batchFor({ expectedVersion: start + i }));
    // All sent before any is looked at; nonces follow the order of the calls, so the versions chain.
    const sent = await Promise.all(made.map((b) => send(b)));
    expect(sent.map((s) => s.nonce - sent[0]!.nonce)).toEqual([0, 1, 2, 3]);
    const outcomes = await Promise.all(
      sent.map(async (s, i) => itemOf((await lookUntil(s, made[i]!)).last, made[i]!)),
    );
    expect(outcomes).toEqual(made.map(() => ({ kind: 'delivered', callbackFailed: false })));
    expect(await version()).toBe(start + 4n);
  }, 60_000);
});

describe('PhalaDestination: XCM origins end when the origin has processed the response', () => {
  let processedBlock = 0;
  const processed = (messageId: Hex, success: boolean) =>
    tracker.ingest({
      chain: 'sibling',
      number: ++processedBlock,
      hash: randomHash(),
      at: Date.now(),
      events: [
        {
          kind: 'processed',
          index: 0,
          source: 'test',
          id: messageId,
          success,
          ...(success ? {} : { error: 'Barrier' }),
        },
      ],
    });

  for (const success of [true, false]) {
    it(`fulfilled on chain → mined until the response is seen → ${success ? 'delivered (with its message id)' : 'refused XcmResponseFailed'}`, async () => {
      const batch = await batchFor({ origin: xcmOrigin });
      const messageId = toHex(responseTopicOf(fromHex(batch.items[0]!.request.requestId)));
      const sent = await send(batch);
      const waiting = await lookUntil(sent, batch, (c) => c.kind === 'mined');
      await t.node.chain.whenFinalized(t.node.chain.best.number);
      // Final on this chain, yet only mined for the relayer: the response has not been processed.
      expect(await contracts.getResult(t.client, batch.items[0]!.request.requestId)).not.toBeNull();
      expect(await destination.check(sent, [batch])).toMatchObject({ kind: 'mined' });
      expect(waiting.seen.every((k) => k === 'pending' || k === 'mined')).toBe(true);
      await processed(messageId, success);
      const { last } = await lookUntil(sent, batch);
      expect(last).toMatchObject({ kind: 'final', txHash: sent.hashes[0] });
      expect(itemOf(last, batch)).toEqual(
        success
          ? {
              kind: 'delivered',
              callbackFailed: false,
              // The tracker's steps, for the journey: this test saw the processing, not the sending.
              xcm: {
                messageId,
                processed: { chain: 'sibling', blockNumber: expect.any(Number), at: expect.any(Number) },
              },
            }
          : { kind: 'refused', code: 'XcmResponseFailed', retryable: false },
      );
    }, 60_000);
  }

  it('no response processed within xcmResponseTimeoutMs → refused XcmResponseTimeout (the answer stays on chain)', async () => {
    // Same signer, same nonce counter: one sender for Charlie in this process.
    const impatient = new PhalaDestination({
      config: phalaChainSchema.parse({
        kind: 'phala',
        name: 'phala',
        wsUrl: t.node.wsUrl,
        xcmResponseTimeoutMs: 1_000,
      }),
      client: t.client,
      signer: t.charlie,
      tracker,
      nonces,
    });
    const batch = await batchFor({ origin: xcmOrigin });
    const sent = await send(batch, impatient);
    const { seen, last } = await lookUntil(sent, batch, undefined, 20_000, impatient);
    expect(seen).toContain('mined');
    expect(Date.now() - sent.sentAt).toBeGreaterThan(1_000);
    expect(itemOf(last, batch)).toEqual({ kind: 'refused', code: 'XcmResponseTimeout', retryable: false });
    expect(await contracts.getResult(t.client, batch.items[0]!.request.requestId)).not.toBeNull();
  }, 60_000);
});

describe('PhalaDestination: a node that pruned the state of old blocks', () => {
  it('finds our failed extrinsic by its body when the nonces of old blocks are gone', async () => {
    const pruning = await startTestNode({ stateHistory: 4, finalityDelayMs: 0 });
    try {
      const there = new PhalaDestination({
        config: phalaChainSchema.parse({ kind: 'phala', name: 'pruning', wsUrl: pruning.node.wsUrl }),
        client: pruning.client,
        signer: pruning.charlie,
      });
      // No such request on that chain: the dispatch fails with RequestNotFound.
      const batch = await batchFor({ requestId: randomHash() });
      const sent = await send(batch, there);
      const before = await lookUntil(sent, batch, undefined, 20_000, there);
      expect(itemOf(before.last, batch)).toEqual({ kind: 'not-pending' });
      // 70 blocks later the node has dropped the state of the blocks around the send.
      for (let i = 0; i < 70; i++) await pruning.node.chain.produceBlock();
      const old = await pruning.api.rpc.chain.getBlockHash(30);
      await expect((await pruning.api.at(old)).query.system.account(pruning.charlie.address)).rejects.toThrow(
        /discarded/,
      );
      // No binary search on the nonces of those blocks then: the block bodies are read one by one,
      // and the same answer comes.
      expect(await there.check(sent, [batch])).toEqual(before.last);
    } finally {
      await pruning.stop();
    }
  }, 60_000);
});

describe('PhalaDestination: the shape of a transaction', () => {
  it('one item per extrinsic: shares with nobody, refuses more, and has no fee to bump', async () => {
    const a = await batchFor({ requestId: randomHash() });
    const b = await batchFor({ requestId: randomHash() });
    expect(destination.canShare(a, [b])).toBe(false);
    await expect(destination.send([a, b], async () => {})).rejects.toBeInstanceOf(PhalaBatchShapeError);
    const two = { ...a, items: [...a.items, ...b.items] };
    await expect(destination.check({} as SentTransaction, [two])).rejects.toBeInstanceOf(
      PhalaBatchShapeError,
    );
    expect(await destination.replace({} as SentTransaction)).toBeNull();
    expect(PhalaBatchShapeError.retry).toBe('never');
  });
});

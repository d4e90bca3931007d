import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { codeHashOf, contracts, registry } from '../../src/phala/index.js';
import { genesisHex } from '../../src/phala/client.js';
import {
  ChainFinalizedStateReader,
  StateCommitGate,
  StateCommitGateError,
} from '../../src/pruntime/worker/state-commit-gate.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { phalaChainSchema } from '../../src/config/schema.js';
import type { PreparedBatch } from '../../src/protocol/prepared-batch.js';
import type { SentTransaction } from '../../src/protocol/sent-transaction.js';
import { PhalaDestination } from '../../src/relayer/chains/phala-destination.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { type Actor, addGatekeeper, approvedWorker, newActor, randomHash } from './setup.js';

/**
 * Issue 13, item 2: state is bound to the requests that made it. A request pending on the
 * Phala-style chain gets its state only with its fulfilment (one dispatch, one worker signature);
 * a commit for other chains' requests names them and lands only in sequence.
 */

let t: TestNode;
let gatekeeper: Actor;
let worker: Actor;
let contractId: Hex;
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
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function newRequest() {
  const { event } = await contracts.request(t.client, {
    signer: t.bob,
    contractId,
    sealedInput: randomHash(),
    responseKey: randomHash(),
    deadline: await contracts.deadlineIn(t.client, 50),
  });
  return event.requestId;
}

async function version(): Promise<bigint> {
  return (await contracts.getContractState(t.client, contractId))?.version ?? 0n;
}

/** A result with its new state, signed (fulfil v2) by `by`; `signedState` is what the signature covers. */
function result(
  requestId: Hex,
  p: { expectedVersion: bigint; state?: Hex; signedState?: Hex | null; by?: Actor },
) {
  const state = p.state ?? randomHash();
  const fields = {
    requestId,
    publicOutput: '0xaa' as Hex,
    sealedOutput: '0xbb' as Hex,
    stateRoot: randomHash(),
  };
  const signedState = p.signedState === undefined ? state : p.signedState;
  const signature = contracts.signFulfillment(t.client, {
    workerSecretKey: (p.by ?? worker).identity.signing.secretKey,
    ...fields,
    stateCommit: signedState === null ? null : { expectedVersion: p.expectedVersion, state: signedState },
  });
  return { ...fields, stateCommit: { expectedVersion: p.expectedVersion, state }, signature };
}

/** A commit for requests of another chain, signed (commit-state v2) by `by`. */
function evmCommit(p: { expectedVersion: bigint; requestIds: Hex[]; by?: Actor; signedIds?: Hex[] }) {
  const fields = {
    contractId,
    expectedVersion: p.expectedVersion,
    state: randomHash(),
    stateRoot: randomHash(),
    requestIds: p.requestIds,
  };
  const signature = contracts.signStateCommit(t.client, {
    workerSecretKey: (p.by ?? worker).identity.signing.secretKey,
    ...fields,
    requestIds: p.signedIds ?? p.requestIds,
  });
  return { ...fields, signature };
}

function eventsOf(r: { events: { section: string; name: string; fields: Record<string, unknown> }[] }) {
  return r.events.filter((e) => e.section === 'phalaContracts').map((e) => e.name);
}

describe('Phala-style requests: state only with the fulfilment', () => {
  it('applies a fulfilment and its state in one dispatch, from the worker that signed both', async () => {
    const requestId = await newRequest();
    const before = await version();
    const r = result(requestId, { expectedVersion: before });
    const sent = await contracts.fulfill(t.client, { signer: t.charlie, ...r });
    expect(eventsOf(sent)).toEqual(['StateCommitted', 'RequestFulfilled']);
    const committed = sent.events.find((e) => e.name === 'StateCommitted')!;
    expect(committed.fields).toMatchObject({ contractId, worker: worker.key });
    expect(BigInt(committed.fields.version as string)).toBe(before + 1n);
    expect(JSON.stringify(committed.fields.requestIds)).toBe(JSON.stringify([requestId]));
    expect(await contracts.getContractState(t.client, contractId)).toMatchObject({
      version: before + 1n,
      state: r.stateCommit.state,
      stateRoot: r.stateRoot,
      committedBy: worker.key,
    });
    expect(await contracts.requestStatus(t.client, requestId)).toBe('fulfilled');
  });

  it('refuses commitState for a request pending on this chain', async () => {
    const requestId = await newRequest();
    const c = evmCommit({ expectedVersion: await version(), requestIds: [requestId] });
    await expect(contracts.commitState(t.client, { signer: t.charlie, ...c })).rejects.toMatchObject({
      error: 'RequestNeedsFulfillment',
    });
    // Hidden among other ids, too.
    const mixed = evmCommit({ expectedVersion: await version(), requestIds: [randomHash(), requestId] });
    await expect(contracts.commitState(t.client, { signer: t.charlie, ...mixed })).rejects.toMatchObject({
      error: 'RequestNeedsFulfillment',
    });
  });

  it('refuses a fulfilment whose signature does not cover the state it brings', async () => {
    const requestId = await newRequest();
    const expectedVersion = await version();
    // Signed without a state (v1), submitted with one: recovers some other key.
    const v1 = result(requestId, { expectedVersion, signedState: null });
    await expect(contracts.fulfill(t.client, { signer: t.charlie, ...v1 })).rejects.toMatchObject({
      error: 'WorkerNotFound',
    });
    // Signed over one state, submitted with another.
    const swapped = result(requestId, { expectedVersion, signedState: randomHash() });
    await expect(contracts.fulfill(t.client, { signer: t.charlie, ...swapped })).rejects.toMatchObject({
      error: 'WorkerNotFound',
    });
    // Signed with its state, submitted without it: the answer cannot land with its state withheld.
    const withheld = result(requestId, { expectedVersion });
    await expect(
      contracts.fulfill(t.client, { signer: t.charlie, ...withheld, stateCommit: null }),
    ).rejects.toMatchObject({ error: 'WorkerNotFound' });
    // Signed over another expected version.
    const other = result(requestId, { expectedVersion });
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...other,
        stateCommit: { ...other.stateCommit, expectedVersion: expectedVersion + 1n },
      }),
    ).rejects.toMatchObject({ error: 'WorkerNotFound' });
    expect(await contracts.requestStatus(t.client, requestId)).toBe('open');
    expect(await version()).toBe(expectedVersion);
  });

  it('refuses an out-of-sequence state, and then leaves the request open (nothing applied)', async () => {
    const requestId = await newRequest();
    const current = await version();
    for (const expectedVersion of [current + 1n, current > 0n ? current - 1n : current + 5n]) {
      const r = result(requestId, { expectedVersion });
      await expect(contracts.fulfill(t.client, { signer: t.charlie, ...r })).rejects.toMatchObject({
        error: 'StaleState',
      });
    }
    expect(await contracts.requestStatus(t.client, requestId)).toBe('open');
    expect(await version()).toBe(current);
  });

  it('refuses a fulfilment with state from a worker of another cluster', async () => {
    const requestId = await newRequest();
    const elsewhere = await approvedWorker(t, { gatekeeper, measurement, cluster: randomHash() });
    const r = result(requestId, { expectedVersion: await version(), by: elsewhere });
    await expect(contracts.fulfill(t.client, { signer: t.charlie, ...r })).rejects.toMatchObject({
      error: 'WrongCluster',
    });
  });
});

describe('requests of other chains: commitState names them, in sequence', () => {
  it('accepts a commit naming its requests, signed by an approved worker, and records the ids', async () => {
    const ids = [randomHash(), randomHash()];
    const before = await version();
    const c = evmCommit({ expectedVersion: before, requestIds: ids });
    const sent = await contracts.commitState(t.client, { signer: t.charlie, ...c });
    expect(sent.event).toMatchObject({ contractId, version: before + 1n, stateRoot: c.stateRoot });
    const raw = sent.events.find((e) => e.name === 'StateCommitted')!;
    expect(JSON.stringify(raw.fields.requestIds)).toBe(JSON.stringify(ids));
    // A request takes effect once: a later commit naming it again (a re-run) is refused.
    const again = evmCommit({ expectedVersion: before + 1n, requestIds: [randomHash(), ids[1]!] });
    await expect(contracts.commitState(t.client, { signer: t.charlie, ...again })).rejects.toMatchObject({
      error: 'AlreadyCommitted',
    });
    const id = randomHash();
    const twice = evmCommit({ expectedVersion: before + 1n, requestIds: [id, id] });
    await expect(contracts.commitState(t.client, { signer: t.charlie, ...twice })).rejects.toMatchObject({
      error: 'AlreadyCommitted',
    });
    expect(await version()).toBe(before + 1n);
  });

  it('refuses commits from another worker, over other ids, out of sequence, or naming nothing', async () => {
    const current = await version();
    const stranger = await newActor(t, 0n);
    const elsewhere = await approvedWorker(t, { gatekeeper, measurement, cluster: randomHash() });
    const cases: [ReturnType<typeof evmCommit>, string][] = [
      [evmCommit({ expectedVersion: current, requestIds: [randomHash()], by: stranger }), 'WorkerNotFound'],
      [evmCommit({ expectedVersion: current, requestIds: [randomHash()], by: elsewhere }), 'WrongCluster'],
      // The signature names other requests than the call: some other key.
      [
        evmCommit({ expectedVersion: current, requestIds: [randomHash()], signedIds: [randomHash()] }),
        'WorkerNotFound',
      ],
      [evmCommit({ expectedVersion: current + 1n, requestIds: [randomHash()] }), 'StaleState'],
      [evmCommit({ expectedVersion: current - 1n, requestIds: [randomHash()] }), 'StaleState'],
      [evmCommit({ expectedVersion: current, requestIds: [] }), 'NoRequestIds'],
    ];
    for (const [c, error] of cases) {
      await expect(contracts.commitState(t.client, { signer: t.charlie, ...c })).rejects.toMatchObject({
        error,
      });
    }
    // A Phala-style request already answered cannot have state committed for it again.
    const requestId = await newRequest();
    await contracts.fulfill(t.client, {
      signer: t.charlie,
      ...result(requestId, { expectedVersion: current }),
    });
    const replay = evmCommit({ expectedVersion: current + 1n, requestIds: [requestId] });
    await expect(contracts.commitState(t.client, { signer: t.charlie, ...replay })).rejects.toMatchObject({
      error: 'AlreadyFulfilled',
    });
  });
});

describe('the worker state-commit gate', () => {
  it('releases once the commit is final in its view; again without a second commit; stale as a typed error', async () => {
    const gate = new StateCommitGate({
      client: t.client,
      account: worker.signer,
      reader: new ChainFinalizedStateReader(t.client),
      timeoutMs: 60_000,
      pollMs: 200,
    });
    const expectedVersion = await version();
    const c = evmCommit({ expectedVersion, requestIds: [randomHash()] });
    const commit = { ...c, sealedState: c.state };
    const receipt = await gate.release(commit);
    expect(receipt).toMatchObject({ version: expectedVersion + 1n, stateRoot: c.stateRoot });
    expect(receipt.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    const finalized = await new ChainFinalizedStateReader(t.client).contractState(contractId);
    expect(finalized).toEqual({ version: expectedVersion + 1n, stateRoot: c.stateRoot });
    // A retry finds its own commit there.
    expect(await gate.release(commit)).toMatchObject({ txHash: null, version: expectedVersion + 1n });
    // Another result computed on the old state is stale: run again.
    const late = evmCommit({ expectedVersion, requestIds: [randomHash()] });
    const error = await gate.release({ ...late, sealedState: late.state }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateCommitGateError);
    expect((error as StateCommitGateError).reason).toBe('stale');
    // A commit the chain refuses for another reason.
    const named = await newRequest();
    const pending = evmCommit({ expectedVersion: expectedVersion + 1n, requestIds: [named] });
    const refused = await gate.release({ ...pending, sealedState: pending.state }).catch((e: unknown) => e);
    expect((refused as StateCommitGateError).reason).toBe('refused');
    expect((refused as StateCommitGateError).details).toMatch(/RequestNeedsFulfillment/);
    // A re-run of a request whose state landed already (new state, same request): not applied twice.
    const rerun = evmCommit({ expectedVersion: expectedVersion + 1n, requestIds: c.requestIds });
    const twice = await gate.release({ ...rerun, sealedState: rerun.state }).catch((e: unknown) => e);
    expect((twice as StateCommitGateError).reason).toBe('already-committed');
  }, 90_000);
});

describe('the relayer delivering to the Phala-style chain', () => {
  it('fulfils a stateful result with its state in one extrinsic, and asks for a re-run when stale', async () => {
    const destination = new PhalaDestination({
      config: phalaChainSchema.parse({
        kind: 'phala',
        name: 'phala',
        wsUrl: t.node.wsUrl,
        batch: { maxSize: 1, maxDelayMs: 0 },
      }),
      client: t.client,
      signer: t.charlie,
    });
    const batch = async (expectedVersion: bigint): Promise<PreparedBatch> => {
      const requestId = await newRequest();
      const r = result(requestId, { expectedVersion });
      const origin = { kind: 'phala' as const, genesisHash: genesisHex(t.client) };
      const request = { origin, requestId, contractId, cluster } as unknown as RequestJob;
      const job = {
        v: 1,
        jobId: `phala-${requestId}`,
        origin,
        requestId,
        contractId,
        cluster,
        worker: { address: '0x0000000000000000000000000000000000000000', publicKey: worker.key },
        status: 'ok',
        publicOutput: r.publicOutput,
        sealedOutput: r.sealedOutput,
        stateRoot: r.stateRoot,
        proof: { kind: 'substrate', signature: r.signature },
        stateCommit: {
          contractId,
          expectedVersion: expectedVersion.toString(),
          sealedState: r.stateCommit.state,
          stateRoot: r.stateRoot,
          signature: r.signature,
        },
        gasUsed: 1,
        producedAt: Date.now(),
      } satisfies ResultJob;
      return {
        id: `state-binding-${requestId}`,
        chain: 'phala',
        worker: job.worker,
        items: [{ request, result: job }],
        root: null,
        signature: null,
        attempt: 0,
      };
    };
    /** Sends (recording before the broadcast, as the submit stage does) and looks until final. */
    const deliver = async (b: PreparedBatch) => {
      const recorded: SentTransaction[] = [];
      const sent = await destination.send([b], async (s) => void recorded.push(s));
      expect(recorded).toEqual([sent]);
      for (let look = 0; look < 200; look++) {
        const check = await destination.check(sent, [b]);
        if (check.kind === 'final') return check.items.get(b.items[0]!.request.requestId);
        expect(['pending', 'mined']).toContain(check.kind);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('not final after 200 looks');
    };
    const current = await version();
    expect(await deliver(await batch(current))).toEqual({ kind: 'delivered', callbackFailed: false });
    expect(await version()).toBe(current + 1n);
    expect(await deliver(await batch(current))).toMatchObject({ kind: 'rerun' });
  }, 60_000);
});

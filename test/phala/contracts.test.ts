import { hexToU8a, u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { codeHashOf, contractIdOf, contracts, registry, requestIdOf } from '../../src/phala/index.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { type Actor, addGatekeeper, approvedWorker, chainSeconds, newActor, randomHash } from './setup.js';

/** PhalaContracts through the typed client: code, instances, requests, fulfillment, state, cancel. */

let t: TestNode;
let gatekeeper: Actor;
let worker: Actor;
const measurement = randomHash();
const cluster = randomHash();
let contractId: Hex;
const code = new TextEncoder().encode(
  'export function handle(input) { return { public: input, sealed: input }; }',
);

beforeAll(async () => {
  t = await startTestNode();
  gatekeeper = await newActor(t);
  await addGatekeeper(t, gatekeeper);
  await registry.addMeasurement(t.client, { sudo: t.alice, measurement });
  worker = await approvedWorker(t, { gatekeeper, measurement, cluster });
});
afterAll(async () => {
  await t?.stop();
});

async function newRequest(signer = t.bob, input: Hex = '0x01020304', ttl = 20) {
  const deadline = await contracts.deadlineIn(t.client, ttl);
  return contracts.request(t.client, {
    signer,
    contractId,
    sealedInput: input,
    responseKey: randomHash(),
    deadline,
  });
}

function signed(p: { requestId: Hex; publicOutput?: Hex; sealedOutput?: Hex; stateRoot?: Hex; by?: Actor }) {
  const fields = {
    requestId: p.requestId,
    publicOutput: p.publicOutput ?? ('0xaa' as Hex),
    sealedOutput: p.sealedOutput ?? ('0xbb' as Hex),
    stateRoot: p.stateRoot ?? (`0x${'00'.repeat(32)}` as Hex),
  };
  const signature = contracts.signFulfillment(t.client, {
    workerSecretKey: (p.by ?? worker).identity.signing.secretKey,
    ...fields,
  });
  return { ...fields, signature };
}

describe('code and instances', () => {
  it('uploads code under its blake2_256 hash, once', async () => {
    const result = await contracts.uploadCode(t.client, { signer: t.alice, code });
    expect(result.event.codeHash).toBe(u8aToHex(codeHashOf(code)));
    expect(result.event.codeSize).toBe(code.length);
    expect(result.event.kind).toBe('js');
    expect(await contracts.getCode(t.client, result.event.codeHash)).toBe(u8aToHex(code));
    expect(await contracts.getCodeInfo(t.client, result.event.codeHash)).toMatchObject({
      uploader: u8aToHex(t.alice.publicKey),
      codeSize: code.length,
      kind: 'js',
    });
    await expect(contracts.uploadCode(t.client, { signer: t.bob, code })).rejects.toMatchObject({
      pallet: 'PhalaContracts',
      error: 'CodeExists',
    });
    await expect(contracts.uploadCode(t.client, { signer: t.bob, code: '0x' })).rejects.toMatchObject({
      error: 'CodeTooLarge',
    });
  });

  it('records code that starts with the WebAssembly magic as a module', async () => {
    // The smallest valid module: magic and version, no sections.
    const module = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
    const result = await contracts.uploadCode(t.client, { signer: t.alice, code: module });
    expect(result.event.kind).toBe('wasm');
    expect((await contracts.getCodeInfo(t.client, result.event.codeHash))?.kind).toBe('wasm');
    expect(await contracts.getCodeInfo(t.client, randomHash())).toBeNull();
  });

  it('instantiates with id blake2_256(SCALE(deployer, code hash, salt)) in a cluster', async () => {
    const codeHash = u8aToHex(codeHashOf(code)) as Hex;
    const result = await contracts.instantiate(t.client, {
      signer: t.alice,
      codeHash,
      cluster,
      salt: '0x73616c74',
    });
    contractId = result.event.contractId;
    expect(contractId).toBe(
      u8aToHex(contractIdOf(t.alice.publicKey, codeHashOf(code), hexToU8a('0x73616c74'))),
    );
    expect(await contracts.getContract(t.client, contractId)).toMatchObject({
      deployer: u8aToHex(t.alice.publicKey),
      codeHash,
      cluster,
      salt: '0x73616c74',
    });
    await expect(
      contracts.instantiate(t.client, { signer: t.alice, codeHash, cluster, salt: '0x73616c74' }),
    ).rejects.toMatchObject({
      error: 'ContractExists',
    });
    await expect(
      contracts.instantiate(t.client, { signer: t.alice, codeHash: randomHash(), cluster, salt: '0x' }),
    ).rejects.toMatchObject({
      error: 'CodeNotFound',
    });
    await expect(
      contracts.instantiate(t.client, {
        signer: t.alice,
        codeHash,
        cluster,
        salt: u8aToHex(new Uint8Array(65)) as Hex,
      }),
    ).rejects.toMatchObject({ error: 'SaltTooLong' });
  });
});

describe('requests', () => {
  it('records a request with id blake2_256(SCALE(origin, nonce, contract id, blake2_256(input)))', async () => {
    const result = await newRequest(t.bob, '0xdeadbeef');
    const e = result.event;
    expect(e.origin).toEqual({ kind: 'signed', account: u8aToHex(t.bob.publicKey) });
    expect(e.requestId).toBe(
      u8aToHex(
        requestIdOf(
          { kind: 'signed', account: t.bob.publicKey },
          e.nonce,
          hexToU8a(contractId),
          hexToU8a('0xdeadbeef'),
        ),
      ),
    );
    expect(e).toMatchObject({ contractId, sealedInput: '0xdeadbeef' });
    const request = await contracts.getRequest(t.client, e.requestId);
    expect(request).toMatchObject({
      contractId,
      sealedInput: '0xdeadbeef',
      deadline: e.deadline,
      nonce: e.nonce,
    });
    // Each request gets the next nonce.
    const next = await newRequest(t.bob, '0xdeadbeef');
    expect(next.event.nonce).toBe(e.nonce + 1n);
    expect(next.event.requestId).not.toBe(e.requestId);
    expect(await contracts.requestStatus(t.client, e.requestId)).toBe('open');
  });

  it('refuses requests to nothing, past or far deadlines, and oversized inputs', async () => {
    const best = (await t.api.rpc.chain.getHeader()).number.toNumber();
    const base = { signer: t.bob, sealedInput: '0x01' as Hex, responseKey: randomHash() };
    await expect(
      contracts.request(t.client, { ...base, contractId: randomHash(), deadline: best + 10 }),
    ).rejects.toMatchObject({
      error: 'ContractNotFound',
    });
    await expect(
      contracts.request(t.client, { ...base, contractId, deadline: best + 1 }),
    ).rejects.toMatchObject({
      error: 'DeadlinePassed',
    });
    await expect(
      contracts.request(t.client, { ...base, contractId, deadline: best + 200_000 }),
    ).rejects.toMatchObject({
      error: 'DeadlineTooFar',
    });
    const big = u8aToHex(new Uint8Array(64 * 1024 + 1)) as Hex;
    await expect(
      contracts.request(t.client, { ...base, contractId, sealedInput: big, deadline: best + 10 }),
    ).rejects.toMatchObject({
      error: 'InputTooLarge',
    });
  });
});

describe('fulfill', () => {
  it('accepts a result signed by an approved worker of the cluster, once', async () => {
    const { event } = await newRequest();
    const proof = signed({ requestId: event.requestId, publicOutput: '0x01', sealedOutput: '0x02' });
    // Submitted by someone else (the relayer): only the worker's signature matters.
    const result = await contracts.fulfill(t.client, { signer: t.charlie, ...proof });
    expect(result.event).toMatchObject({
      type: 'RequestFulfilled',
      requestId: event.requestId,
      contractId,
      worker: worker.key,
      publicOutput: '0x01',
      sealedOutput: '0x02',
    });
    expect(await contracts.getResult(t.client, event.requestId)).toMatchObject({
      publicOutput: '0x01',
      worker: worker.key,
    });
    expect(await contracts.getRequest(t.client, event.requestId)).toBeNull();
    expect(await contracts.requestStatus(t.client, event.requestId)).toBe('fulfilled');
    await expect(contracts.fulfill(t.client, { signer: t.charlie, ...proof })).rejects.toMatchObject({
      error: 'AlreadyFulfilled',
    });
    await expect(
      contracts.fulfill(t.client, { signer: t.charlie, ...signed({ requestId: randomHash() }) }),
    ).rejects.toMatchObject({
      error: 'RequestNotFound',
    });
  });

  it('refuses signatures from the wrong signer, another cluster, an unapproved or expired worker', async () => {
    const { event } = await newRequest();
    const stranger = await newActor(t, 0n);
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...signed({ requestId: event.requestId, by: stranger }),
      }),
    ).rejects.toMatchObject({
      error: 'WorkerNotFound',
    });
    const elsewhere = await approvedWorker(t, { gatekeeper, measurement, cluster: randomHash() });
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...signed({ requestId: event.requestId, by: elsewhere }),
      }),
    ).rejects.toMatchObject({
      error: 'WrongCluster',
    });
    const pending = await newActor(t);
    await registry.registerWorker(t.client, {
      signer: pending.signer,
      x25519: pending.x25519,
      cluster,
      attestation: '0x01',
    });
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...signed({ requestId: event.requestId, by: pending }),
      }),
    ).rejects.toMatchObject({
      error: 'WorkerNotApproved',
    });
    // A signature over other outputs than submitted recovers to some other key.
    const proof = signed({ requestId: event.requestId });
    await expect(
      contracts.fulfill(t.client, { signer: t.charlie, ...proof, publicOutput: '0x99' }),
    ).rejects.toMatchObject({
      error: 'WorkerNotFound',
    });
    const malformed = `${proof.signature.slice(0, -2)}05` as Hex;
    await expect(
      contracts.fulfill(t.client, { signer: t.charlie, ...proof, signature: malformed }),
    ).rejects.toMatchObject({
      error: 'InvalidWorkerSignature',
    });
  });

  it('stops accepting a worker whose approval expired or whose measurement was removed', async () => {
    const otherMeasurement = randomHash();
    await registry.addMeasurement(t.client, { sudo: t.alice, measurement: otherMeasurement });
    const shortLived = await approvedWorker(t, {
      gatekeeper,
      measurement: otherMeasurement,
      cluster,
      ttlSeconds: 30n,
    });
    const { event } = await newRequest(t.bob, '0x05', 50);
    await registry.removeMeasurement(t.client, { sudo: t.alice, measurement: otherMeasurement });
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...signed({ requestId: event.requestId, by: shortLived }),
      }),
    ).rejects.toMatchObject({
      error: 'MeasurementNotAllowed',
    });
    await registry.addMeasurement(t.client, { sudo: t.alice, measurement: otherMeasurement });
    // Move chain time past the expiry.
    t.node.chain.setNextTimestamp(Number((await chainSeconds(t)) + 60n) * 1000);
    await t.node.chain.produceBlock();
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...signed({ requestId: event.requestId, by: shortLived }),
      }),
    ).rejects.toMatchObject({
      error: 'WorkerExpired',
    });
    // The long-lived worker still answers.
    await contracts.fulfill(t.client, { signer: t.charlie, ...signed({ requestId: event.requestId }) });
  });

  it('refuses results after the deadline, and lets the requester cancel then', async () => {
    const { event } = await newRequest(t.bob, '0x06', 3);
    await expect(
      contracts.cancel(t.client, { signer: t.bob, requestId: event.requestId }),
    ).rejects.toMatchObject({
      error: 'DeadlineNotReached',
    });
    while ((await t.api.rpc.chain.getHeader()).number.toNumber() < event.deadline)
      await t.node.chain.produceBlock();
    // The block that would hold the fulfill is after the deadline.
    await expect(
      contracts.fulfill(t.client, { signer: t.charlie, ...signed({ requestId: event.requestId }) }),
    ).rejects.toMatchObject({
      error: 'RequestExpired',
    });
    await expect(
      contracts.cancel(t.client, { signer: t.charlie, requestId: event.requestId }),
    ).rejects.toMatchObject({
      error: 'NotRequester',
    });
    const cancelled = await contracts.cancel(t.client, { signer: t.bob, requestId: event.requestId });
    expect(cancelled.event).toMatchObject({
      type: 'RequestCancelled',
      requestId: event.requestId,
      contractId,
    });
    expect(await contracts.requestStatus(t.client, event.requestId)).toBe('unknown');
    await expect(
      contracts.cancel(t.client, { signer: t.bob, requestId: event.requestId }),
    ).rejects.toMatchObject({
      error: 'RequestNotFound',
    });
  });
});

describe('state', () => {
  it('commits encrypted state with optimistic versions; results must match the committed root', async () => {
    const root1 = randomHash();
    // Commits for requests of other chains (EVM), named in the signed payload (test/phala/state-binding.test.ts has the rest).
    const requestIds = [randomHash()];
    const commit = (expectedVersion: bigint, state: Hex, stateRoot: Hex, by = worker, ids = [randomHash()]) =>
      contracts.commitState(t.client, {
        signer: t.charlie,
        contractId,
        expectedVersion,
        state,
        stateRoot,
        requestIds: ids,
        signature: contracts.signStateCommit(t.client, {
          workerSecretKey: by.identity.signing.secretKey,
          contractId,
          expectedVersion,
          state,
          stateRoot,
          requestIds: ids,
        }),
      });
    const first = await commit(0n, '0x5eed', root1);
    expect(first.event).toMatchObject({
      type: 'StateCommitted',
      contractId,
      version: 1n,
      stateRoot: root1,
      worker: worker.key,
    });
    expect(await contracts.getContractState(t.client, contractId)).toMatchObject({
      version: 1n,
      state: '0x5eed',
      stateRoot: root1,
    });
    // Another worker computed on version 0 too: stale, it must re-run on version 1.
    await expect(commit(0n, '0x5eee', randomHash())).rejects.toMatchObject({ error: 'StaleState' });
    const stranger = await newActor(t, 0n);
    await expect(commit(1n, '0x01', randomHash(), stranger)).rejects.toMatchObject({
      error: 'WorkerNotFound',
    });
    // A result must be computed on the committed state.
    const { event } = await newRequest();
    await expect(
      contracts.fulfill(t.client, {
        signer: t.charlie,
        ...signed({ requestId: event.requestId, stateRoot: randomHash() }),
      }),
    ).rejects.toMatchObject({
      error: 'StateRootMismatch',
    });
    await contracts.fulfill(t.client, {
      signer: t.charlie,
      ...signed({ requestId: event.requestId, stateRoot: root1 }),
    });
    const second = await commit(1n, '0x5eef', randomHash());
    expect(second.event.version).toBe(2n);
    await expect(commit(5n, '0x01', randomHash())).rejects.toMatchObject({ error: 'StaleState' });
    await expect(
      contracts.commitState(t.client, {
        signer: t.charlie,
        contractId: randomHash(),
        expectedVersion: 0n,
        state: '0x01',
        stateRoot: root1,
        requestIds,
        signature: `0x${'00'.repeat(65)}`,
      }),
    ).rejects.toMatchObject({ error: 'ContractNotFound' });
  });
});

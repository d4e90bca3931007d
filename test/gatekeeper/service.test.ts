import { type Address, getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { ethereumAddress } from '../../src/crypto/keys.js';
import { recoverTypedSigner } from '../../src/crypto/proofs.js';
import { signSimQuote } from '../../src/crypto/sim-quote.js';
import { reportDataFor } from '../../src/crypto/report-data.js';
import { EvmSignatureCollector, type ReadyEvmMessage } from '../../src/gatekeeper/evm/collector.js';
import { WORKER_REVOCATION_DESTINATION } from '../../src/gatekeeper/messages/worker-revocation-message.js';
import { WorkerRevocationCollector } from '../../src/gatekeeper/sibling/revocation-collector.js';
import { DESTINATIONS } from '../../src/protocol/mq-destinations.js';
import * as balances from '../../src/phala/actions/balances.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import * as registry from '../../src/phala/actions/registry.js';
import { finalizedBlockAt } from '../../src/phala/follow.js';
import { parsePhalaEvent } from '../../src/phala/types.js';
import type { ExecuteRequest } from '../../src/pruntime/enclave/index.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { sealInput } from '../../src/sdk/seal.js';
import { type DevNode, startDevNode } from '../../src/devnet/substrate/node.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import {
  CA_KEY,
  FOREIGN_CA_KEY,
  type TestGatekeeper,
  type TestWorker,
  WORKER_MEASUREMENT,
  newWorker,
  receiveKeys,
  register,
  removeTempDirs,
  startGatekeeper,
  tempDir,
  waitFor,
} from './helpers.js';

/**
 * Gatekeepers against the real dev node (one node for this file): master key sharing, approvals
 * with a threshold of 2, key handover to a worker enclave, refusals, rotation, revocation, expiry
 * and restart. The TEE is the sim platform (no SGX hardware here); everything else is real.
 */

const GATEWAY = {
  chainId: 31337,
  verifyingContract: getAddress('0x5fbdb2315678afecb367f032d93f642f64180aa3'),
};
const CLUSTER = toHex(new Uint8Array(32).fill(0xc1));
const ECHO = `
export function handle(input, ctx) {
  const n = Number(ctx.state.get('n') ?? '0') + 1;
  ctx.state.set('n', String(n));
  return { public: ctx.utf8.decode(input) + ' #' + n, sealed: '' };
}
`;
const REQUESTER = toHex(new Uint8Array(20).fill(0xaa));

let t: TestNode;
let nodeDir: string;
let restarted: DevNode | null = null;
let engine: ContractEngine;
let first: TestGatekeeper;
let second: TestGatekeeper;
let worker: TestWorker;
let contractId: Hex;
const running = new Set<TestGatekeeper>();

async function start(name: string, o: Parameters<typeof startGatekeeper>[2] = {}) {
  const g = await startGatekeeper(t, name, { evmGateways: [GATEWAY], backupDelayMs: 2_000, ...o });
  running.add(g);
  return g;
}

async function stop(g: TestGatekeeper) {
  running.delete(g);
  await g.stop();
}

/** Every EVM signature message the gatekeepers published, pooled as a relayer would (incrementally). */
const collector = new EvmSignatureCollector();
let scanned = 0;
async function collectEvmSignatures(): Promise<EvmSignatureCollector> {
  const head = (await t.api.rpc.chain.getHeader(await t.api.rpc.chain.getFinalizedHead())).number.toNumber();
  for (; scanned < head; scanned++) {
    for (const raw of (await finalizedBlockAt(t.api, scanned + 1)).events) {
      const e = parsePhalaEvent(raw);
      if (e?.type !== 'MessageReceived' || e.sender.kind !== 'gatekeeper') continue;
      if (Buffer.from(fromHex(e.destination)).toString() !== DESTINATIONS.evmSignature) continue;
      const added = collector.add(fromHex(e.sender.key), fromHex(e.payload));
      expect(added.rejected).toEqual([]);
    }
  }
  return collector;
}

async function readyFor(kind: string, match: (m: ReadyEvmMessage) => boolean): Promise<ReadyEvmMessage> {
  return waitFor(`${kind} signed by 2 gatekeepers`, async () =>
    (await collectEvmSignatures())
      .ready({ chainId: 31337n, gateway: GATEWAY.verifyingContract }, 2)
      .find((m) => m.item.kind === kind && match(m)),
  );
}

function gatekeeperAddresses(): Address[] {
  return [first, second]
    .map((g) => ethereumAddress(g.enclave.secp256k1PublicKey))
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
}

async function workerStatus(w: TestWorker) {
  return (await registry.getWorker(t.client, w.key))?.status;
}

async function rejectionOf(w: TestWorker): Promise<string> {
  return waitFor('a verdict', async () => {
    const status = await workerStatus(w);
    if (status?.kind === 'approved') throw new Error('approved a worker that should be refused');
    return status?.kind === 'rejected' ? status.reason : undefined;
  });
}

function request(
  w: TestWorker,
  text: string,
  publicKey: Hex,
  state: ExecuteRequest['state'],
  id: number,
): ExecuteRequest {
  const origin = { kind: 'evm' as const, chainId: 31337, gateway: GATEWAY.verifyingContract };
  return {
    contractId,
    code: ECHO,
    originKey: 'evm-31337',
    origin: { kind: 'evm', chainId: 31337 },
    requester: fromHex(REQUESTER),
    requestId: toHex(new Uint8Array(32).fill(id)),
    sealedInput: fromHex(
      sealInput({
        contractPublicKey: publicKey,
        contractId,
        origin,
        requester: REQUESTER,
        responseKey: w.x25519,
        input: text,
      }),
    ),
    responseKey: fromHex(w.x25519),
    state,
    target: { kind: 'evm', ...GATEWAY },
  };
}

beforeAll(async () => {
  nodeDir = tempDir('node');
  [t, engine] = await Promise.all([startTestNode({ dataDir: nodeDir }), ContractEngine.start()]);
});
afterAll(async () => {
  for (const g of running) await g.stop().catch(() => {});
  await engine?.close();
  await t?.stop();
  await restarted?.stop();
  removeTempDirs();
});

describe('master key', () => {
  it('the first gatekeeper makes it; a second gets it through attested handover', async () => {
    first = await start('first');
    await first.gatekeeper.whenReady(20_000);
    const master = await registry.getMasterKey(t.client);
    expect(master).toMatchObject({
      epoch: 0n,
      publicKey: toHex(first.enclave.masterPublicKey(0)),
      rotatedBy: first.key,
    });

    second = await start('second');
    expect(second.gatekeeper.ready).toBe(false);
    await second.gatekeeper.whenReady(30_000);
    expect(second.enclave.epochs()).toEqual([0]);
    expect(toHex(second.enclave.masterPublicKey(0))).toBe(master?.publicKey);
    // Both derive the same contract keys from it.
    const id = new Uint8Array(32).fill(7);
    expect(toHex(second.enclave.contractPublicKey(id, 0))).toBe(
      toHex(first.enclave.contractPublicKey(id, 0)),
    );
  });

  it('a gatekeeper of another build is refused the master key', async () => {
    const other = await start('other-build', { measurement: new Uint8Array(32).fill(0x9b) });
    // Its start asked for the keys: the request is in a finalized block by now.
    const asked = (
      await t.api.rpc.chain.getHeader(await t.api.rpc.chain.getFinalizedHead())
    ).number.toNumber();
    // Both gatekeepers processed the request (and any backup delay passed): no handover was sent.
    await waitFor('both past the request', async () =>
      [first, second].every((g) => g.gatekeeper.status().cursor >= asked),
    );
    await new Promise((r) => setTimeout(r, 2_500));
    expect(other.gatekeeper.ready).toBe(false);
    expect(other.enclave.epochs()).toEqual([]);
    await stop(other);
    await registry.removeGatekeeper(t.client, { sudo: t.alice, gatekeeper: other.key });
  });
});

describe('workers', () => {
  beforeAll(async () => {
    await registry.addMeasurement(t.client, { sudo: t.alice, measurement: WORKER_MEASUREMENT });
    await registry.setApprovalThreshold(t.client, { sudo: t.alice, threshold: 2 });
    await contracts.uploadCode(t.client, { signer: t.bob, code: utf8(ECHO) });
    const instantiated = await contracts.instantiate(t.client, {
      signer: t.bob,
      codeHash: toHex((await import('../../src/phala/ids.js')).codeHashOf(utf8(ECHO))),
      cluster: CLUSTER,
      salt: '0x01',
    });
    contractId = instantiated.event.contractId;
  });

  it("publishes a new contract's key and signs its EVM registration (2 of 2)", async () => {
    const key = await waitFor('the contract key', () => registry.getContractKey(t.client, contractId));
    expect(key).toMatchObject({
      epoch: 0n,
      publicKey: toHex(first.enclave.contractPublicKey(fromHex(contractId), 0)),
    });
    const signed = await readyFor('ContractRegistration', (m) => m.item.message.epoch === 0n);
    expect(signed.item.message).toEqual({
      contractId,
      cluster: CLUSTER,
      publicKey: key.publicKey,
      epoch: 0n,
    });
    expect(signed.signers).toEqual(gatekeeperAddresses());
    for (const [i, s] of signed.signatures.entries())
      expect(recoverTypedSigner(signed.digest, s)).toBe(signed.signers[i]);
  });

  it('approves an attested worker (threshold 2), signs its EVM registration and hands it the contract key', async () => {
    worker = await newWorker(t, engine);
    await register(t, worker, CLUSTER);
    const approved = await waitFor('approval', async () => {
      const status = await workerStatus(worker);
      return status?.kind === 'approved' ? status : undefined;
    });
    expect(approved.measurement).toBe(WORKER_MEASUREMENT);
    const registration = await readyFor(
      'WorkerRegistration',
      (m) => 'worker' in m.item.message && m.item.message.worker === worker.enclave.publicIdentity.address,
    );
    expect(registration.item.message).toEqual({
      worker: worker.enclave.publicIdentity.address,
      measurement: WORKER_MEASUREMENT,
      cluster: CLUSTER,
      expiresAt: approved.expiresAt,
      epoch: 0n,
    });
    expect(registration.signers).toEqual(gatekeeperAddresses());

    const keys = await waitFor('the key handover', async () => {
      await receiveKeys(t, worker);
      return worker.enclave.hasContractKey(contractId) ? worker.enclave.keys() : undefined;
    });
    const published = await registry.getContractKey(t.client, contractId);
    expect(keys).toEqual([{ kind: 'contract', id: contractId, epoch: 0, publicKey: published?.publicKey }]);
    // The worker opens an input a client sealed to the published contract key.
    const result = await worker.enclave.execute(request(worker, 'hello', published!.publicKey, null, 1));
    expect(result.status).toBe('ok');
    expect(new TextDecoder().decode(result.publicOutput)).toBe('hello #1');
    expect(result.keyEpoch).toBe(0);
  });

  it('refuses a wrong measurement, a stale quote, a quote for other keys and forged quotes, with the reason', async () => {
    const wrong = await newWorker(t, engine, { measurement: toHex(new Uint8Array(32).fill(0x4e)) });
    const stale = await newWorker(t, engine, { now: () => BigInt(Math.floor(Date.now() / 1000) - 7200) });
    const borrowed = await newWorker(t, engine);
    const untrusted = await newWorker(t, engine, { caKey: FOREIGN_CA_KEY });
    const tampered = await newWorker(t, engine);
    // A quote whose report data binds another worker's keys (a real quote, for `worker`).
    const otherKeys = await worker.enclave.quote();
    // A quote forged by flipping one bit of a genuine one.
    const genuine = await tampered.enclave.quote();
    genuine[genuine.length - 1]! ^= 1;
    await Promise.all([
      register(t, wrong, CLUSTER),
      register(t, stale, CLUSTER),
      register(t, borrowed, CLUSTER, otherKeys),
      register(t, untrusted, CLUSTER),
      register(t, tampered, CLUSTER, genuine),
    ]);
    expect(await rejectionOf(wrong)).toMatch(/^MeasurementNotAllowed: /);
    expect(await rejectionOf(stale)).toMatch(/^Expired: issued at \d+, older than 600 s/);
    expect(await rejectionOf(borrowed)).toMatch(/^ReportDataMismatch: /);
    expect(await rejectionOf(untrusted)).toMatch(/^UntrustedRoot: /);
    expect(await rejectionOf(tampered)).toMatch(/^BadQuoteSignature: /);
    // A quote made by a trusted CA for this worker's keys but with a measurement nobody allowed,
    // assembled by hand: still refused for its measurement, whatever else is right.
    const forged = await newWorker(t, engine);
    const quote = signSimQuote(
      {
        measurement: new Uint8Array(32).fill(0x66),
        reportData: reportDataFor(fromHex(forged.key), fromHex(forged.x25519)),
        issuedAt: BigInt(Math.floor(Date.now() / 1000)),
        platformId: new Uint8Array(32),
      },
      CA_KEY,
    );
    await register(t, forged, CLUSTER, quote);
    expect(await rejectionOf(forged)).toBe(
      'MeasurementNotAllowed: measurement 0x6666666666666666666666666666666666666666666666666666666666666666 is not on the allowlist',
    );
    // None of them got keys.
    for (const w of [wrong, stale, borrowed, untrusted, tampered, forged]) {
      await receiveKeys(t, w);
      expect(w.enclave.keys()).toEqual([]);
    }
  });

  it('rotation: a new epoch and new contract keys, and requests sealed to the old key still open', async () => {
    // State written under epoch 0 and a request sealed to the epoch-0 key before the rotation.
    const key0 = (await registry.getContractKey(t.client, contractId))!.publicKey;
    const before = await worker.enclave.execute(request(worker, 'first', key0, null, 2));
    const state0 = { version: 1n, sealed: before.stateCommit!.sealedState };
    const old = request(worker, 'old', key0, state0, 3);

    const rotated = await first.gatekeeper.rotateMasterKey();
    expect(rotated.epoch).toBe(1);
    expect((await registry.getMasterKey(t.client))?.epoch).toBe(1n);
    await waitFor('the second gatekeeper to get epoch 1', async () => second.enclave.hasEpoch(1));
    expect(second.enclave.epochs()).toEqual([0, 1]);
    const key1 = await waitFor('the epoch-1 contract key', async () => {
      const k = await registry.getContractKey(t.client, contractId);
      return k?.epoch === 1n ? k.publicKey : undefined;
    });
    expect(key1).not.toBe(key0);
    expect(await registry.getContractKeyAt(t.client, contractId, 0n)).toBe(key0);
    await waitFor('the epoch-1 key at the worker', async () => {
      await receiveKeys(t, worker);
      return worker.enclave.keys().some((k) => k.epoch === 1);
    });

    const answered = await worker.enclave.execute(old);
    expect(answered.keyEpoch).toBe(0);
    expect(new TextDecoder().decode(answered.publicOutput)).toBe('old #2');
    const fresh = await worker.enclave.execute(request(worker, 'new', key1, state0, 4));
    expect(fresh.keyEpoch).toBe(1);
    expect(new TextDecoder().decode(fresh.publicOutput)).toBe('new #2');

    const update = await readyFor('GatekeeperSetUpdate', (m) => m.item.message.epoch === 1n);
    expect(update.item.message).toEqual({ gatekeepers: gatekeeperAddresses(), threshold: 2, epoch: 1n });
    await readyFor(
      'ContractRegistration',
      (m) =>
        m.item.message.epoch === 1n && 'publicKey' in m.item.message && m.item.message.publicKey === key1,
    );
  });

  it('revokes, on chain and for EVM gateways, when the measurement leaves the allowlist', async () => {
    const approved = await workerStatus(worker);
    if (approved?.kind !== 'approved') throw new Error('worker not approved');
    await registry.removeMeasurement(t.client, { sudo: t.alice, measurement: WORKER_MEASUREMENT });
    const reason = await waitFor('revocation', async () => {
      const status = await workerStatus(worker);
      return status?.kind === 'revoked' ? status.reason : undefined;
    });
    expect(reason).toBe(`MeasurementRemoved: ${WORKER_MEASUREMENT} left the allowlist`);
    const revocation = await readyFor(
      'WorkerRevocation',
      (m) => 'worker' in m.item.message && m.item.message.worker === worker.enclave.publicIdentity.address,
    );
    expect(revocation.item.message).toEqual({
      worker: worker.enclave.publicIdentity.address,
      revokeUpTo: approved.expiresAt,
      epoch: 1n,
    });
    await registry.addMeasurement(t.client, { sudo: t.alice, measurement: WORKER_MEASUREMENT });
  });

  it('a governance revocation is signed for EVM gateways and siblings by every gatekeeper, and not revoked again on chain', async () => {
    const governed = await newWorker(t, engine);
    await register(t, governed, CLUSTER);
    const approved = await waitFor('approval', async () => {
      const status = await workerStatus(governed);
      return status?.kind === 'approved' ? status : undefined;
    });
    const { blockNumber } = await registry.forceRevokeWorker(t.client, {
      sudo: t.alice,
      worker: governed.key,
      reason: 'Governance: compromised platform',
    });
    const address = governed.enclave.publicIdentity.address;
    const revocation = await readyFor(
      'WorkerRevocation',
      (m) => 'worker' in m.item.message && m.item.message.worker === address,
    );
    expect(revocation.item.message).toEqual({ worker: address, revokeUpTo: approved.expiresAt, epoch: 1n });
    expect(revocation.signers).toEqual(gatekeeperAddresses());

    // The sibling revocations, pooled as the relayer pools them; and no second WorkerRevoked.
    const sibling = new WorkerRevocationCollector(t.client.genesisHash);
    let revokedEvents = 0;
    const ready = await waitFor('the sibling revocation signed by 2 gatekeepers', async () => {
      const head = (
        await t.api.rpc.chain.getHeader(await t.api.rpc.chain.getFinalizedHead())
      ).number.toNumber();
      revokedEvents = 0;
      for (let n = blockNumber; n <= head; n++) {
        for (const raw of (await finalizedBlockAt(t.api, n)).events) {
          const e = parsePhalaEvent(raw);
          if (e?.type === 'WorkerRevoked' && e.worker === governed.key) revokedEvents++;
          if (e?.type !== 'MessageReceived' || e.sender.kind !== 'gatekeeper') continue;
          if (Buffer.from(fromHex(e.destination)).toString() !== WORKER_REVOCATION_DESTINATION) continue;
          expect(typeof sibling.add(fromHex(e.sender.key), fromHex(e.payload))).toBe('string');
        }
      }
      return sibling.ready(2).find((r) => r.worker === governed.key);
    });
    expect(ready).toMatchObject({
      cluster: CLUSTER,
      registeredAt: (await registry.getWorker(t.client, governed.key))!.registeredAt,
      reason: 'Governance: compromised platform',
    });
    expect(ready.signers).toEqual([first, second].map((g) => toHex(g.enclave.secp256k1PublicKey)).sort());
    expect(revokedEvents).toBe(1);
    expect(await workerStatus(governed)).toEqual({
      kind: 'revoked',
      reason: 'Governance: compromised platform',
    });
  });
});

describe('restart and expiry', () => {
  it('a restarted gatekeeper keeps its sealed keys and resumes; an expired approval is revoked', async () => {
    await stop(first);
    await stop(second);
    // Work arrives while both are down: a registration (they catch up from their cursors).
    const late = await newWorker(t, engine);
    await register(t, late, CLUSTER);
    first = await start('first', { dataDir: first.dataDir, registrationTtlSeconds: 6 });
    second = await start('second', { dataDir: second.dataDir, registrationTtlSeconds: 6 });
    expect(first.enclave.createdIdentity).toBe(false);
    expect(first.enclave.epochs()).toEqual([0, 1]);
    expect(second.enclave.epochs()).toEqual([0, 1]);
    expect(first.gatekeeper.ready && second.gatekeeper.ready).toBe(true);
    const approved = await waitFor('approval after restart', async () => {
      const status = await workerStatus(late);
      return status?.kind === 'approved' ? status : undefined;
    });
    await waitFor('the keys of both epochs', async () => {
      await receiveKeys(t, late);
      return late.enclave.keys().length === 2;
    });
    // Time passes; the next block is past the expiry.
    const wait = Number(approved.expiresAt) * 1000 - Date.now() + 1_100;
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    await balances.transfer(t.client, { signer: t.bob, to: t.charlie.address, amount: 10n ** 12n });
    const reason = await waitFor('expiry revocation', async () => {
      const status = await workerStatus(late);
      return status?.kind === 'revoked' ? status.reason : undefined;
    });
    expect(reason).toBe(`RegistrationExpired: the approval ended at ${approved.expiresAt}`);
  });
});

describe('reconnect', () => {
  it('follows on after the node restarts: a registration made after the reconnect is judged', async () => {
    const port = t.node.port;
    await t.node.stop();
    // The node comes back on the same port with the same chain (its data directory).
    await new Promise((r) => setTimeout(r, 500));
    restarted = await startDevNode({ chain: 'phala', dataDir: nodeDir, rpcPort: port });
    await waitFor('the test client to reconnect', async () => t.api.isConnected);
    const w = await newWorker(t, engine);
    await register(t, w, CLUSTER);
    const status = await waitFor('a verdict after the reconnect', async () => {
      const s = await workerStatus(w);
      return s && s.kind !== 'pending' ? s : undefined;
    });
    expect(status.kind).toBe('approved');
    await waitFor('both gatekeepers past the registration', async () =>
      [first, second].every((g) => g.gatekeeper.status().cursor > w.from),
    );
  });
});

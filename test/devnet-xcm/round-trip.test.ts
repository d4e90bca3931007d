import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { blake2_256 } from '../../src/crypto/hash.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { responseTopicOf } from '../../src/devnet/xcm/pallets/phala-responder.js';
import { startRpcServer } from '../../src/devnet/substrate/rpc/server.js';
import type { RpcServer } from '../../src/devnet/substrate/rpc/server.js';
import { submit } from '../../src/phala/client.js';
import {
  contracts,
  parsePhalaEvent,
  registry,
  signPayload,
  submitSudo,
  workerRevocationPayload,
} from '../../src/phala/index.js';
import { sibling } from '../../src/xcm/location.js';
import { encodeLocation } from '../../src/xcm/encode.js';
import { siblingAccount } from '../../src/xcm/location.js';
import { PolkadotXcmEventSource } from '../../src/relayer/chains/xcm-source.js';
import { MemoryXcmTrackerStore, XcmTracker, type TrackedXcm } from '../../src/xcm/index.js';
import {
  type ApprovedWorker,
  type TestRelayDevnet,
  approveOnSibling,
  deployContract,
  eventIn,
  nextEvent,
  onboardWorker,
  startTestRelayDevnet,
  trustGatekeeperOnSibling,
} from './helpers.js';

/**
 * The XCM round trip on the relay devnet, all real: a user on the sibling parachain sends a
 * request by XCM Transact, the Phala chain records it with its XCM origin, a worker registered and
 * approved through the phala pallets signs the result, fulfill sends the response XCM back, and
 * the sibling checks the proof and stores the result; the tracker, fed by the three chains over
 * @polkadot/api, follows both messages from sent to processed.
 */

const CLUSTER = `0x${'c1'.repeat(32)}` as Hex;
const MEASUREMENT = `0x${'ee'.repeat(32)}` as Hex;
const FEE = 10n ** 12n;

let t: TestRelayDevnet;
let tracker: XcmTracker;
let store: MemoryXcmTrackerStore;
let worker: ApprovedWorker;
let gatekeeper: ReturnType<typeof generateKeyPair>;
let contractId: Hex;
const extraServers: RpcServer[] = [];

function sources() {
  return (['relay', 'phala', 'sibling'] as const).map(
    (name) =>
      new PolkadotXcmEventSource({
        chain: name,
        api: t[name].api,
        topology: t.devnet.topology,
        startAt: 0,
        retryDelayMs: 100,
      }),
  );
}

beforeAll(async () => {
  t = await startTestRelayDevnet();
  gatekeeper = generateKeyPair('secp256k1');
  worker = await onboardWorker(t, gatekeeper, { cluster: CLUSTER, measurement: MEASUREMENT });
  contractId = await deployContract(t, CLUSTER, '0x01');
  await trustGatekeeperOnSibling(t, gatekeeper);
  await approveOnSibling(t, worker);
  store = new MemoryXcmTrackerStore();
  tracker = new XcmTracker({ store, sources: sources() });
  await tracker.start();
});

afterAll(async () => {
  await tracker?.stop();
  await Promise.allSettled(extraServers.map((s) => s.close()));
  await t?.stop();
});

/** A request from Alice on the sibling chain; resolves with its query id and what the Phala chain made of it. */
async function request(p: { contract?: Hex; input?: string } = {}) {
  const submitted = nextEvent(t.phala, 'phalaContracts', 'RequestSubmitted');
  const deadline = (await contracts.deadlineIn(t.phala, 200)) as number;
  const sealedInput = u8aToHex(new TextEncoder().encode(p.input ?? 'ping'));
  const result = await submit(
    t.sibling,
    t.sibling.api.tx.confidentialClient!.request!(
      p.contract ?? contractId,
      CLUSTER,
      sealedInput,
      generateKeyPair('x25519').publicKey,
      deadline,
      FEE,
    ),
    t.alice.sibling,
  );
  const query = eventIn(result.events, 'confidentialClient', 'RequestSent').fields.query as Hex;
  const sent = eventIn(result.events, 'polkadotXcm', 'Sent');
  return { query, sealedInput, sent, submitted };
}

/** The worker's result for a request, submitted by Bob; returns the fulfill's events. */
async function fulfill(requestId: Hex, signer = worker, output = 'pong', stateCommit?: contracts.NewState) {
  const publicOutput = u8aToHex(new TextEncoder().encode(output));
  const sealedOutput = u8aToHex(blake2_256(new TextEncoder().encode(`sealed ${output}`)));
  const stateRoot = (
    stateCommit ? u8aToHex(blake2_256(new TextEncoder().encode(output))) : `0x${'00'.repeat(32)}`
  ) as Hex;
  const signature = contracts.signFulfillment(t.phala, {
    workerSecretKey: signer.key.secretKey,
    requestId,
    publicOutput,
    sealedOutput,
    stateRoot,
    stateCommit,
  });
  const result = await contracts.fulfill(t.phala, {
    signer: t.bob.phala,
    requestId,
    publicOutput,
    sealedOutput,
    stateRoot,
    stateCommit,
    signature,
  });
  return { result, publicOutput, sealedOutput };
}

function expectSteps(rec: TrackedXcm, origin: string, destination: string) {
  expect(rec.origin).toBe(origin);
  expect(rec.destination).toBe(destination);
  expect(rec.sent?.chain).toBe(origin);
  expect(rec.delivered?.chain).toBe(destination);
  expect(rec.processed?.chain).toBe(destination);
  expect(rec.sent!.at).toBeLessThanOrEqual(rec.delivered!.at);
  expect(rec.delivered!.at).toBeLessThanOrEqual(rec.processed!.at);
}

describe('relay devnet: XCM round trip sibling → Phala → sibling', () => {
  it('requests over XCM, fulfills on the Phala chain, and the sibling stores the checked result', async () => {
    const { query, sent, submitted } = await request();
    expect(sent.fields.messageId).toBe(query);

    // The Phala chain recorded the request with the user's XCM location as its origin.
    const requestEvent = parsePhalaEvent(await submitted);
    if (requestEvent?.type !== 'RequestSubmitted') throw new Error('no RequestSubmitted');
    expect(requestEvent.origin.kind).toBe('xcm');
    const alice = u8aToHex(t.alice.sibling.publicKey) as Hex;
    const recorded = requestEvent.origin.kind === 'xcm' ? requestEvent.origin.location : null;
    expect(encodeLocation({ v4: recorded }).hex).toBe(
      encodeLocation({ v4: siblingAccount(2000, alice) }).hex,
    );

    const answered = nextEvent(
      t.sibling,
      'confidentialClient',
      'ResultReceived',
      (e) => e.fields.query === query,
    );
    const { result, publicOutput, sealedOutput } = await fulfill(requestEvent.requestId);
    const responseSent = eventIn(result.events, 'phalaXcmResponder', 'ResponseSent');
    const responseId = u8aToHex(responseTopicOf(Buffer.from(requestEvent.requestId.slice(2), 'hex'))) as Hex;
    expect(responseSent.fields.messageId).toBe(responseId);
    expect(responseSent.fields.query).toBe(query);

    const received = await answered;
    expect(received.fields.requestId).toBe(requestEvent.requestId);
    expect(received.fields.worker).toBe(u8aToHex(worker.key.publicKey));
    const stored = (await t.sibling.api.query.confidentialClient!.results!(query)).toJSON() as Record<
      string,
      unknown
    >;
    expect(stored.publicOutput).toBe(publicOutput);
    expect(stored.sealedOutput).toBe(sealedOutput);
    expect(stored.requestId).toBe(requestEvent.requestId);

    // The tracker followed both messages across the three chains by id.
    const requestRec = await tracker.waitForFinal(query, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(requestRec.status).toBe('processed');
    expectSteps(requestRec, 'sibling', 'phala');
    expect(requestRec.processed?.from).toBe('Sibling(2000)');
    expect(BigInt(requestRec.processed!.weightUsed!.refTime)).toBeGreaterThan(0n);
    const responseRec = await tracker.waitForFinal(responseId, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(responseRec.status).toBe('processed');
    expectSteps(responseRec, 'phala', 'sibling');
    expect(responseRec.processed?.from).toBe('Sibling(2035)');
  });

  it('carries a stateful result (its state committed with it) to the sibling, which checks the v2 proof', async () => {
    // A contract of its own: its state does not move under the other tests' stateless results.
    const stateful = await deployContract(t, CLUSTER, '0x02');
    const { query, submitted } = await request({ contract: stateful });
    const requestEvent = parsePhalaEvent(await submitted);
    if (requestEvent?.type !== 'RequestSubmitted') throw new Error('no RequestSubmitted');
    const answered = nextEvent(
      t.sibling,
      'confidentialClient',
      'ResultReceived',
      (e) => e.fields.query === query,
    );
    const current = (await contracts.getContractState(t.phala, stateful))?.version ?? 0n;
    const { result } = await fulfill(requestEvent.requestId, worker, 'with state', {
      expectedVersion: current,
      state: '0x5eed',
    });
    expect(eventIn(result.events, 'phalaContracts', 'StateCommitted')).toBeTruthy();
    const received = await answered;
    expect(received.fields.requestId).toBe(requestEvent.requestId);
    expect((await contracts.getContractState(t.phala, stateful))?.version).toBe(current + 1n);
  });

  it('reports a request whose Transact fails on the Phala chain, with the call’s error', async () => {
    const { query } = await request({ contract: `0x${'de'.repeat(32)}` });
    const rec = await tracker.waitForFinal(query, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(rec.status).toBe('failed');
    expect(rec.processed?.chain).toBe('phala');
    expect(rec.processed?.error).toContain('ExpectationFalse');
    expect(rec.processed?.error).toContain('PhalaContracts.ContractNotFound');
  });

  it('reports a response whose callback refuses the proof on the sibling (worker not approved there)', async () => {
    // A second worker, approved on the Phala chain only: its result is valid there, not on the sibling.
    const gatekeeper2 = generateKeyPair('secp256k1');
    const unknown = await onboardWorker(t, gatekeeper2, {
      cluster: CLUSTER,
      measurement: MEASUREMENT,
      addMeasurement: false,
    });
    const { query, submitted } = await request({ input: 'second' });
    const requestEvent = parsePhalaEvent(await submitted);
    if (requestEvent?.type !== 'RequestSubmitted') throw new Error('no RequestSubmitted');
    const { result } = await fulfill(requestEvent.requestId, unknown, 'from an unknown worker');
    const responseId = eventIn(result.events, 'phalaXcmResponder', 'ResponseSent').fields.messageId as Hex;
    const rec = await tracker.waitForFinal(responseId, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(rec.status).toBe('failed');
    expect(rec.processed?.chain).toBe('sibling');
    expect(rec.processed?.error).toContain('ConfidentialClient.WorkerNotApproved');
    expect((await t.sibling.api.query.confidentialClient!.results!(query)).isEmpty).toBe(true);
    // The request itself was processed fine.
    expect((await tracker.waitForFinal(query, { timeoutMs: 20_000, pollIntervalMs: 100 })).status).toBe(
      'processed',
    );
  });

  it('keeps following after the connection to a chain drops, backfilling the blocks it missed', async () => {
    const node = t.devnet.sibling.node;
    await node.server.close();
    // While the sibling's RPC is down, a request leaves it (submitted on the chain directly).
    const before = node.chain.best.number;
    let sentIn = -1;
    const { query } = await (async () => {
      const tx = t.sibling.api.tx.confidentialClient!.request!(
        contractId,
        CLUSTER,
        '0x0102',
        generateKeyPair('x25519').publicKey,
        (await contracts.deadlineIn(t.phala, 200)) as number,
        FEE,
      );
      const nonce = (await import('../../src/devnet/substrate/pallets/system.js')).System.account(
        node.chain.env(),
        t.alice.sibling.publicKey,
      ).nonce;
      await tx.signAsync(t.alice.sibling, { nonce, era: 0 });
      node.chain.submit(tx.toU8a());
      const block = await waitFor(() => (node.chain.best.number > before ? node.chain.best : null));
      const events = node.chain.events(block);
      const sent = events.find(
        (e) => e.event.tag === 'ConfidentialClient' && e.event.value.tag === 'RequestSent',
      );
      sentIn = block.number;
      return { query: u8aToHex((sent!.event.value.value as { query: Uint8Array }).query) as Hex };
    })();
    // The RPC comes back on the same port; @polkadot/api reconnects and the source backfills.
    const server = await startRpcServer(node.chain, { port: node.port });
    extraServers.push(server);
    const rec = await tracker.waitForFinal(query, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(rec.status).toBe('processed');
    // The Phala chain's source saw it processed; the sibling's, once reconnected, backfills the
    // block it missed and the message gets its sent step.
    await vi.waitFor(
      async () => {
        const again = await tracker.get(query);
        expect(again?.sent?.chain).toBe('sibling');
        expect(again?.sent?.blockNumber).toBe(sentIn);
      },
      { timeout: 20_000, interval: 100 },
    );
  });

  it('trusts only gatekeeper-signed approvals and proofs for its own requests, even from the Phala chain', async () => {
    // An approval signed by a key the sibling was not told to trust.
    const stranger = generateKeyPair('secp256k1');
    const forgedApproval = await registry.signWorkerApproval(t.phala, {
      gatekeeperSecretKey: stranger.secretKey,
      worker: worker.key.publicKey,
      measurement: MEASUREMENT,
      expiresAt: worker.expiresAt,
    });
    await expect(approveOnSibling(t, { ...worker, approval: forgedApproval })).rejects.toThrow(
      /ConfidentialClient\.BadGatekeeperSignature/,
    );
    // A callback from anyone but the Phala chain's XCM origin.
    const { query, submitted } = await request({ input: 'forged' });
    const requestEvent = parsePhalaEvent(await submitted);
    if (requestEvent?.type !== 'RequestSubmitted') throw new Error('no RequestSubmitted');
    const signature = contracts.signFulfillment(t.phala, {
      workerSecretKey: worker.key.secretKey,
      requestId: requestEvent.requestId,
      publicOutput: '0x01',
      sealedOutput: '0x02',
      stateRoot: `0x${'00'.repeat(32)}`,
    });
    const proof = (nonce: bigint) => ({ nonce, stateRoot: `0x${'00'.repeat(32)}`, signature });
    const callback = (nonce: bigint) =>
      t.sibling.api.tx.confidentialClient!.callback!(
        query,
        requestEvent.requestId,
        '0x01',
        '0x02',
        proof(nonce),
      );
    await expect(submit(t.sibling, callback(requestEvent.nonce), t.bob.sibling)).rejects.toThrow(
      /ConfidentialClient\.NotFromPhala/,
    );
    // The Phala chain itself (root) answering with a nonce that is not this request's: the
    // sibling recomputes the request id and refuses.
    const forged = await submitSudo(
      t.phala,
      t.phala.api.tx.polkadotXcm!.send!(
        { v5: sibling(2000) },
        {
          v5: [
            { unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } },
            {
              transact: {
                originKind: 'Xcm',
                fallbackMaxWeight: null,
                call: { encoded: callback(requestEvent.nonce + 1n).method.toHex() },
              },
            },
          ],
        },
      ),
      t.alice.phala,
    );
    const forgedId = eventIn(forged.events, 'polkadotXcm', 'Sent').fields.messageId as Hex;
    const rec = await tracker.waitForFinal(forgedId, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(rec.status).toBe('failed');
    expect(rec.processed?.error).toContain('ConfidentialClient.RequestIdMismatch');
    expect((await t.sibling.api.query.confidentialClient!.results!(query)).isEmpty).toBe(true);
  });

  it('refuses results from a worker the gatekeepers revoked on the sibling', async () => {
    const revokedAt = worker.registeredAt;
    const reason = '0x636f6d70726f6d69736564';
    const signature = signPayload(
      workerRevocationPayload({
        genesisHash: t.phala.genesisHash,
        worker: worker.key.publicKey,
        registeredAt: revokedAt,
        reason: Buffer.from(reason.slice(2), 'hex'),
      }),
      gatekeeper.secretKey,
    );
    const revoked = await submit(
      t.sibling,
      t.sibling.api.tx.confidentialClient!.revokeWorker!(worker.key.publicKey, CLUSTER, reason, [signature]),
      t.bob.sibling,
    );
    expect(eventIn(revoked.events, 'confidentialClient', 'WorkerRevoked').fields.worker).toBe(
      u8aToHex(worker.key.publicKey),
    );
    const { submitted } = await request({ input: 'after revocation' });
    const requestEvent = parsePhalaEvent(await submitted);
    if (requestEvent?.type !== 'RequestSubmitted') throw new Error('no RequestSubmitted');
    // Still approved on the Phala chain, so fulfill succeeds there; the sibling refuses the proof.
    const { result } = await fulfill(requestEvent.requestId);
    const responseId = eventIn(result.events, 'phalaXcmResponder', 'ResponseSent').fields.messageId as Hex;
    const rec = await tracker.waitForFinal(responseId, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(rec.processed?.error).toContain('ConfidentialClient.WorkerNotApproved');
  });
});

async function waitFor<T>(fn: () => T | null, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

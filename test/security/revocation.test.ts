import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createPublicClient, http, toFunctionSelector } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { blake2_256 } from '../../src/crypto/hash.js';
import { ethereumAddress } from '../../src/crypto/keys.js';
import { substrateFulfillmentPayload } from '../../src/crypto/proofs.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { isWorkerAuthorized } from '../../src/evm/gateway/read.js';
import { encodeRegisterWorker } from '../../src/evm/gateway/registry.js';
import { EvmSignatureCollector } from '../../src/gatekeeper/evm/collector.js';
import { WORKER_REVOCATION_DESTINATION } from '../../src/gatekeeper/messages/worker-revocation-message.js';
import { decodeEvmSignatureMessage } from '../../src/gatekeeper/messages/evm-signature-message.js';
import * as registry from '../../src/phala/actions/registry.js';
import { submit } from '../../src/phala/client.js';
import { DispatchFailedError } from '../../src/phala/errors.js';
import { finalizedBlockAt } from '../../src/phala/follow.js';
import { devSigner } from '../../src/phala/signers.js';
import { parsePhalaEvent } from '../../src/phala/types.js';
import { DESTINATIONS } from '../../src/protocol/mq-destinations.js';
import { requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, resultJobIdOf } from '../../src/protocol/queue-names.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { getJourney } from '../../src/relayer/admin-client.js';
import { requestFromPhala, waitForPhalaResult } from '../../src/sdk/phala.js';
import { devnetWorkerIdentity } from '../helpers/devnet-worker-identity.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 13, item 4: a revocation on the Phala-style chain reaches every chain. Governance revokes
 * one of the devnet's two workers with `forceRevokeWorker`; within two Phala-style blocks the
 * gatekeeper has signed the revocation for the EVM gateway and the sibling, within 10 s the
 * relayer has carried both, and from then on a result that worker signs is refused by the relayer
 * (reason WorkerRevoked, counted) while the remaining worker answers.
 */
let devnet: Devnet;

// Stateless, so the answer does not depend on how state commits are carried (issue 13 item 2).
const ECHO = `
export function handle(input, ctx) {
  return { public: 'echo: ' + ctx.utf8.decode(input), sealed: '' };
}
`;

beforeAll(async () => {
  devnet = await startDevnet({
    redisUrl: REDIS_URL,
    redisPrefix: `{${uniquePrefix('revocation')}}`,
    examples: false,
    contracts: { echo: ECHO },
  });
}, 180_000);

afterAll(async () => {
  await devnet?.stop();
});

type WorkerView = { worker: { secp256k1: Hex; address: Hex }; measurement: Hex };

async function workerInfo(url: string): Promise<WorkerView> {
  return (await (await fetch(`${url}/info`)).json()) as WorkerView;
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('revocation reaches every chain (issue 13 item 4)', () => {
  it('forceRevokeWorker: gateway and sibling drop the worker within 10 s, its results are refused, the other worker answers', async () => {
    const [revoked, remaining] = await Promise.all(devnet.workers.map((w) => workerInfo(w.url)));
    const workerKey = revoked!.worker.secp256k1;
    const workerAddress = ethereumAddress(fromHex(workerKey));
    const evm = createPublicClient({ transport: http(devnet.chains.evm.rpcUrl) });
    const gateway = devnet.chains.evm.gateway;
    const onSibling = async () =>
      !(
        (await devnet.sibling.api.query.confidentialClient!.workers!(
          devnet.cluster,
          workerKey,
        )) as unknown as {
          isEmpty: boolean;
        }
      ).isEmpty;
    expect(await isWorkerAuthorized(evm, { gateway, worker: workerAddress, cluster: devnet.cluster })).toBe(
      true,
    );
    expect(await onSibling()).toBe(true);

    const revocation = await registry.forceRevokeWorker(devnet.phala, {
      sudo: await devSigner('Alice'),
      worker: workerKey,
      reason: 'Governance: compromised platform',
    });
    const finalAt = Date.now();

    await until(
      'the gateway to refuse the worker',
      10_000,
      async () =>
        !(await isWorkerAuthorized(evm, { gateway, worker: workerAddress, cluster: devnet.cluster })),
    );
    await until('the sibling to drop the worker', 10_000, async () => !(await onSibling()));
    expect(Date.now() - finalAt).toBeLessThan(10_000);

    // Both signed revocations were on the Phala-style chain within two blocks of the revocation.
    const signedIn = { evm: 0, sibling: 0 };
    const head = (await devnet.phala.api.rpc.chain.getHeader()).number.toNumber();
    for (let n = revocation.blockNumber + 1; n <= head && (!signedIn.evm || !signedIn.sibling); n++) {
      for (const raw of (await finalizedBlockAt(devnet.phala.api, n)).events) {
        const event = parsePhalaEvent(raw);
        if (event?.pallet !== 'PhalaMq' || event.type !== 'MessageReceived') continue;
        const destination = Buffer.from(fromHex(event.destination)).toString('utf8');
        if (destination === WORKER_REVOCATION_DESTINATION) signedIn.sibling ||= n;
        if (
          destination === DESTINATIONS.evmSignature &&
          decodeEvmSignatureMessage(fromHex(event.payload)).kind === 'WorkerRevocation'
        )
          signedIn.evm ||= n;
      }
    }
    expect(signedIn.evm).toBeGreaterThan(0);
    expect(signedIn.sibling).toBeGreaterThan(0);
    expect(Math.max(signedIn.evm, signedIn.sibling) - revocation.blockNumber).toBeLessThanOrEqual(2);
    // The gatekeeper did not revoke again on the Phala-style chain.
    const info = await registry.getWorker(devnet.phala, workerKey);
    expect(info?.status).toEqual({ kind: 'revoked', reason: 'Governance: compromised platform' });

    // The revoked registration cannot come back by replaying what once approved it.
    await expectReplaysRefused(devnet, evm, workerKey, revocation.blockNumber);

    // A request after the revocation: a result the revoked worker signs (its enclave's own key,
    // unsealed from its data directory as a compromised host could use it) is refused by the
    // relayer; the remaining worker's answer lands.
    const contractId = devnet.contracts.echo!.contractId;
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Dave', 30),
      contractId,
      input: 'after the revocation',
    });
    const origin = { kind: 'phala' as const, genesisHash: devnet.chains.phala.genesisHash };
    const jobId = requestJobId(origin, sent.requestId);
    const identity = await devnetWorkerIdentity(devnet, 0, revoked!.measurement);
    expect(toHex(identity.secp256k1PublicKey)).toBe(workerKey.toLowerCase());
    const publicOutput = toHex(utf8('hello, forged!'));
    const stateRoot = toHex(new Uint8Array(32));
    const signature = identity.signSubstrateDigest(
      blake2_256(
        substrateFulfillmentPayload({
          genesisHash: fromHex(devnet.chains.phala.genesisHash),
          requestId: fromHex(sent.requestId),
          publicOutput: fromHex(publicOutput),
          sealedOutput: new Uint8Array(0),
          stateRoot: fromHex(stateRoot),
        }),
      ),
    );
    const forged: ResultJob = {
      v: 1,
      jobId,
      origin,
      requestId: sent.requestId,
      contractId,
      cluster: devnet.cluster,
      worker: { address: workerAddress, publicKey: workerKey },
      status: 'ok',
      publicOutput,
      sealedOutput: '0x',
      stateRoot,
      proof: { kind: 'substrate', signature: toHex(signature) },
      gasUsed: 1,
      producedAt: Date.now(),
    };
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const results = new Queue(RESULT_QUEUE, { connection, prefix: devnet.config.redis.prefix });
    const admin = devnet.relayer.admin;
    try {
      await until('the request to be queued', 30_000, () => getJourney(admin, jobId));
      await results.add('result', forged, { jobId: resultJobIdOf(jobId, workerAddress) });

      const real = await waitForPhalaResult(devnet.phala, { requestId: sent.requestId, timeoutMs: 60_000 });
      expect(Buffer.from(fromHex(real.publicOutput)).toString()).toBe('echo: after the revocation');
      expect(real.worker.toLowerCase()).toBe(remaining!.worker.secp256k1.toLowerCase());

      const refusal = await until(
        'the relayer to refuse the revoked worker',
        30_000,
        async () =>
          (await getJourney(admin, jobId))?.journey.find(
            (e) => e.stage === 'result-rejected' && e.worker?.toLowerCase() === workerAddress.toLowerCase(),
          ) ?? null,
      );
      expect(refusal.detail).toMatch(/^WorkerRevoked: /);
      const metrics = await (await fetch(`${devnet.relayer.metricsUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /phala_bridge_security_refusals_total\{role="relayer",reason="WorkerRevoked"\} [1-9]/,
      );
    } finally {
      await results.close();
      connection.disconnect();
    }
  }, 180_000);
});

/**
 * Replays the revoked registration's own approvals, as a relayer holding them could: the
 * gatekeepers' EIP-712 WorkerRegistration on the gateway (refused: RegistrationSuperseded, as
 * revokeUpTo covers its expiry) and their approveWorker signatures on the sibling (refused:
 * ApprovalRevoked).
 */
async function expectReplaysRefused(
  d: Devnet,
  evm: ReturnType<typeof createPublicClient>,
  workerKey: Hex,
  revokedIn: number,
): Promise<void> {
  const address = ethereumAddress(fromHex(workerKey));
  const collector = new EvmSignatureCollector();
  const approvals: { measurement: Hex; expiresAt: bigint; signatures: Hex[] } = {
    measurement: '0x',
    expiresAt: 0n,
    signatures: [],
  };
  for (let n = 1; n < revokedIn; n++) {
    const block = await finalizedBlockAt(d.phala.api, n);
    for (const raw of block.events) {
      const event = parsePhalaEvent(raw);
      if (
        event?.pallet === 'PhalaMq' &&
        event.type === 'MessageReceived' &&
        event.sender.kind === 'gatekeeper'
      )
        if (Buffer.from(fromHex(event.destination)).toString('utf8') === DESTINATIONS.evmSignature)
          collector.add(fromHex(event.sender.key), fromHex(event.payload));
    }
    const signed = await d.phala.api.rpc.chain.getBlock(block.hash);
    for (const ext of signed.block.extrinsics) {
      if (ext.method.section !== 'phalaRegistry' || ext.method.method !== 'approveWorker') continue;
      const [worker, measurement, expiresAt, signature] = ext.method.args.map((a) => a.toHex());
      if (worker !== workerKey.toLowerCase()) continue;
      approvals.measurement = measurement as Hex;
      approvals.expiresAt = BigInt(expiresAt!);
      approvals.signatures.push(signature as Hex);
    }
  }
  const registration = collector
    .ready({ chainId: BigInt(d.chains.evm.chainId), gateway: d.chains.evm.gateway }, 1)
    .find((m) => m.item.kind === 'WorkerRegistration' && m.item.message.worker === address);
  if (registration?.item.kind !== 'WorkerRegistration') throw new Error('no signed registration found');
  await expect(
    evm.call({
      to: d.chains.evm.gateway,
      data: encodeRegisterWorker({
        registration: registration.item.message,
        signatures: registration.signatures,
      }),
    }),
  ).rejects.toThrow(toFunctionSelector('RegistrationSuperseded()'));

  expect(approvals.signatures.length).toBeGreaterThan(0);
  const info = await registry.getWorker(d.phala, workerKey);
  const replay = submit(
    d.sibling,
    d.sibling.api.tx.confidentialClient!.approveWorker!(
      workerKey,
      info!.x25519,
      d.cluster,
      approvals.measurement,
      approvals.expiresAt,
      info!.registeredAt,
      approvals.signatures,
    ),
    await devSigner('Bob'),
    { waitFor: 'inBlock' },
  );
  await expect(replay).rejects.toBeInstanceOf(DispatchFailedError);
  await expect(replay).rejects.toMatchObject({ error: 'ApprovalRevoked' });
}

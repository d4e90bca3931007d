import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Hex, fromHex, toHex, utf8 } from '../../../src/base/bytes.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { openEnvelope, sealEnvelope } from '../../../src/crypto/envelope.js';
import { outputContext, requestContext, stateContext } from '../../../src/crypto/envelope-context.js';
import { sealKeyHandover } from '../../../src/crypto/key-handover.js';
import { type KeyPair, generateKeyPair } from '../../../src/crypto/keys.js';
import { type EvmDevnet, registerContractOnGateway, startEvmDevnet } from '../../../src/devnet/evm/index.js';
import { decodeGatewayLog } from '../../../src/evm/gateway/events.js';
import { sendRequest } from '../../../src/evm/gateway/request.js';
import { contracts, mq, registry } from '../../../src/phala/index.js';
import { originKey, requestJobId } from '../../../src/protocol/origin.js';
import { RESULT_QUEUE, requestQueueName } from '../../../src/protocol/queue-names.js';
import { resultBatchOf } from '../../../src/protocol/result-batch-job.js';
import type { RequestJob } from '../../../src/protocol/request-job.js';
import type { ResultJob } from '../../../src/protocol/result-job.js';
import { computeCodeMeasurement } from '../../../src/pruntime/enclave/measurement.js';
import {
  KEY_HANDOVER_DESTINATION_BYTES,
  encodeKeyHandoverMessage,
} from '../../../src/pruntime/worker/index.js';
import { phalaPalletsWith } from '../../../src/devnet/substrate/chains/phala-pallets.js';
import { phalaChainSpec } from '../../../src/devnet/substrate/chains/phala.js';
import { foreignType, polkadotMetadataSource } from '../../../src/devnet/substrate/metadata/foreign.js';
import type { RequestOriginExtension } from '../../../src/devnet/substrate/pallets/phala/contracts.js';
import { DispatchFailure } from '../../../src/devnet/substrate/runtime/errors.js';
import { call, definePallet } from '../../../src/devnet/substrate/runtime/pallet.js';
import type { RuntimeRefs } from '../../../src/devnet/substrate/runtime/refs.js';
import { submitSudo } from '../../../src/phala/index.js';
import { type TestNode, startTestNode } from '../../devnet-substrate/helpers.js';
import { REDIS_URL, uniquePrefix } from '../../helpers/redis.js';
import { type Actor, addGatekeeper, chainSeconds, newActor, randomHash } from '../../phala/setup.js';

/**
 * What the worker tests share: a Phala dev node with a gatekeeper (added through sudo: the
 * gatekeeper service is built elsewhere, so the test signs its approvals and handovers with the
 * same pallet calls and wire formats), the measurement of this checkout on the allowlist, a
 * master key epoch, real Redis under a unique hash-tagged prefix, and a contract deployed in a
 * cluster with its key published.
 */

export const TEST_CONTRACT = `
export function handle(input, ctx) {
  const text = ctx.utf8.decode(input);
  if (text.startsWith('spin:')) {
    const n = Number(text.slice(5));
    let x = 0;
    for (let i = 0; i < n; i++) x = (x + i) % 7;
    return { public: 'spun ' + x, sealed: '' };
  }
  if (text === 'fail') throw new Error('asked to fail');
  const n = Number(ctx.state.get('count') ?? '0') + 1;
  ctx.state.set('count', String(n));
  const r = ctx.hex.encode(ctx.random(8));
  return { public: 'count ' + n + ' from ' + ctx.origin.kind, sealed: ctx.json.encode({ text, n, r, origin: ctx.origin }) };
}
export function query(input, ctx) {
  return { count: ctx.state.get('count'), asked: ctx.utf8.decode(input) };
}
`;

export const PLATFORM_CA_KEY = toHex(new Uint8Array(32).fill(9));
export const PLATFORM_SECRET = toHex(new Uint8Array(32).fill(7));

export type Deployed = { contractId: Hex; key: KeyPair; epoch: number; cluster: Hex };

export type WorkerFixture = Awaited<ReturnType<typeof startWorkerFixture>>;

/**
 * The Phala dev chain extended as the XCM layer extends it: `RequestOrigin::Xcm(Location)`
 * (index 1, XCM v4 `Location` from Polkadot's metadata), and a root-only `XcmTest.transact`
 * that dispatches a call with an XCM origin, which is what an XCM `Transact` does.
 */
async function xcmPhalaSpec() {
  const Location = foreignType(await polkadotMetadataSource(), 'staging_xcm::v4::location::Location');
  const xcm: RequestOriginExtension = {
    name: 'Xcm',
    index: 1,
    type: Location,
    fromDispatch: (origin) => (origin.kind === 'xcm' ? origin.location : undefined),
  };
  const transactPallet = (refs: RuntimeRefs) =>
    definePallet({
      name: 'XcmTest',
      crate: 'pallet_xcm_test',
      calls: {
        transact: call({
          args: { origin: Location, call: refs.call },
          weight: { refTime: 1_000_000n, proofSize: 0n },
          handler(ctx, a) {
            if (ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
            const outcome = ctx.dispatch({ kind: 'xcm', location: a.origin }, a.call);
            if (!outcome.ok) throw new DispatchFailure(outcome.error);
          },
        }),
      },
    });
  return phalaChainSpec({
    phalaPallets: phalaPalletsWith({ origins: [xcm] }),
    extraPallets: (refs) => [{ index: 31, pallet: transactPallet(refs) }],
  });
}

/**
 * `evm: false` leaves out the fixture's own EVM node (a caller with its own gateway sets the
 * workers' `trust.evm` to it).
 */
export async function startWorkerFixture(label: string, options: { xcm?: boolean; evm?: boolean } = {}) {
  const t: TestNode = await startTestNode(options.xcm ? { chain: await xcmPhalaSpec() } : {});
  const gatekeeper: Actor = await newActor(t);
  await addGatekeeper(t, gatekeeper);
  const measurement = toHex(computeCodeMeasurement().measurement);
  await registry.addMeasurement(t.client, { sudo: t.alice, measurement });
  const gk = gatekeeper.identity.signing.secretKey;
  const masterPublicKey = randomHash();
  await registry.rotateMasterKey(t.client, {
    signer: gatekeeper.signer,
    publicKey: masterPublicKey,
    epoch: 1n,
    signature: registry.signMasterKeyRotation(t.client, {
      gatekeeperSecretKey: gk,
      publicKey: masterPublicKey,
      epoch: 1n,
    }),
  });
  const genesisHash = toHex(t.client.genesisHash);
  // A real gateway on a real EVM node: workers answer only requests it holds (their existence is
  // proven with eth_getProof), so EVM-origin requests are made there, not spelled by the test.
  const evmNode: EvmDevnet | null = options.evm === false ? null : await startEvmDevnet();
  const onGateway = new Set<Hex>();
  const prefix = `{${uniquePrefix(label)}}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: redis, prefix });
      queues.set(name, q);
    }
    return q;
  };
  const tmp = mkdtempSync(path.join(os.tmpdir(), `pb-${label}-`));
  const codeHashes = new Map<string, Hex>();

  type WorkerOptions = {
    cluster: Hex;
    dataDir: string;
    funder?: boolean;
    lockDurationMs?: number;
    stalledIntervalMs?: number;
    concurrency?: number;
    shutdownGraceMs?: number;
    logLevel?: 'info' | 'warn' | 'error';
  };

  /** A configuration file's content for one worker (as `phala-bridge worker --config` reads it). */
  function rawConfig(p: WorkerOptions) {
    return {
      mode: 'development',
      chains: [{ kind: 'phala', name: 'phala', wsUrl: t.node.wsUrl }],
      redis: { url: REDIS_URL, prefix },
      queues: { backoffMs: [200, 500, 1000] },
      worker: {
        cluster: p.cluster,
        trust: {
          phala: {
            genesisHash: t.node.grandpa.genesisHash,
            setId: t.node.grandpa.setId,
            authorities: t.node.grandpa.authorities.map(([id, weight]) => ({ id, weight })),
          },
          evm: evmNode
            ? [{ chainId: evmNode.node.chainId, endpoints: [evmNode.node.rpcUrl], quorum: 1, depth: 0 }]
            : [],
        },
        dataDir: p.dataDir,
        concurrency: p.concurrency ?? 2,
        http: { host: '127.0.0.1', port: 0 },
        attestation: {
          provider: 'sim',
          platformCaKey: { value: PLATFORM_CA_KEY },
          platformSecret: { value: PLATFORM_SECRET },
        },
        ...(p.funder === false ? {} : { funder: { value: '//Alice' } }),
        lockDurationMs: p.lockDurationMs ?? 3_000,
        stalledIntervalMs: p.stalledIntervalMs ?? 1_000,
      },
      log: { level: p.logLevel ?? 'warn' },
      shutdownGraceMs: p.shutdownGraceMs ?? 10_000,
    };
  }

  function config(p: WorkerOptions): Config {
    return parseConfig(rawConfig(p), 'test config', {});
  }

  /** Uploads `code` (once; default the test contract) and instantiates it in `cluster` with a published key. */
  async function deploy(cluster: Hex, epoch = 1, code = TEST_CONTRACT): Promise<Deployed> {
    let codeHash = codeHashes.get(code);
    if (!codeHash) {
      const uploaded = await contracts.uploadCode(t.client, { signer: t.alice, code: toHex(utf8(code)) });
      codeHash = uploaded.event.codeHash;
      codeHashes.set(code, codeHash);
    }
    const { event } = await contracts.instantiate(t.client, {
      signer: t.alice,
      codeHash,
      cluster,
      salt: randomHash(),
    });
    const key = generateKeyPair('x25519');
    await registry.publishContractKey(t.client, {
      signer: gatekeeper.signer,
      contractId: event.contractId,
      publicKey: key.publicKey,
      epoch: BigInt(epoch),
      signature: registry.signContractKeyPublication(t.client, {
        gatekeeperSecretKey: gk,
        contractId: event.contractId,
        publicKey: key.publicKey,
        epoch: BigInt(epoch),
      }),
    });
    return { contractId: event.contractId, key, epoch, cluster };
  }

  /** The gatekeeper's approval of a registered worker, signed and submitted. */
  async function approve(worker: Hex, ttlSeconds = 3_600n): Promise<void> {
    const expiresAt = (await chainSeconds(t)) + ttlSeconds;
    const signature = await registry.signWorkerApproval(t.client, {
      gatekeeperSecretKey: gk,
      worker,
      measurement,
      expiresAt,
    });
    await registry.approveWorker(t.client, {
      signer: gatekeeper.signer,
      worker,
      measurement,
      expiresAt,
      signature,
    });
  }

  /** Hands contract keys to a worker as the gatekeepers do: a PhalaMq message to the handover destination. */
  async function handOver(
    worker: { secp256k1: Hex; x25519: Hex },
    entries: { contractId: Hex; key: KeyPair; epoch: number; publicKey?: Uint8Array }[],
  ): Promise<void> {
    const payload = encodeKeyHandoverMessage({
      worker: fromHex(worker.secp256k1),
      workerX25519: fromHex(worker.x25519),
      handovers: entries.map((e) => ({
        kind: 'contract' as const,
        id: fromHex(e.contractId),
        epoch: e.epoch,
        publicKey: e.publicKey ?? e.key.publicKey,
        envelope: sealKeyHandover(fromHex(worker.x25519), {
          kind: 'contract',
          id: fromHex(e.contractId),
          epoch: e.epoch,
          secretKey: e.key.secretKey,
        }),
      })),
    });
    await pushAsGatekeeper(payload);
  }

  async function pushAsGatekeeper(
    payload: Uint8Array,
    destination = KEY_HANDOVER_DESTINATION_BYTES,
  ): Promise<void> {
    const sender = { kind: 'gatekeeper' as const, key: fromHex(gatekeeper.key) };
    const sequence = await mq.nextSequence(t.client, sender);
    const signature = mq.signMessage(t.client, { secretKey: gk, sender, destination, sequence, payload });
    await mq.pushMessage(t.client, {
      signer: gatekeeper.signer,
      message: { sender, destination, sequence, payload, signature },
    });
  }

  /** A request sent on the Phala-style chain by Bob, as the relayer would queue it. */
  async function phalaRequest(d: Deployed, input: string, responseKey: KeyPair): Promise<RequestJob> {
    const requester = toHex(t.bob.publicKey);
    const origin = { kind: 'phala' as const, genesisHash };
    const sealedInput = sealEnvelope({
      recipientPublicKey: d.key.publicKey,
      purpose: 'request',
      context: requestContext(
        originKey(origin),
        fromHex(requester),
        fromHex(d.contractId),
        responseKey.publicKey,
      ),
      plaintext: utf8(input),
    });
    const deadline = await contracts.deadlineIn(t.client, 1_000);
    // Final, as the relayer sees requests: workers find them only in finalized blocks.
    const sent = await contracts.request(t.client, {
      signer: t.bob,
      contractId: d.contractId,
      sealedInput,
      responseKey: responseKey.publicKey,
      deadline,
      waitFor: 'finalized',
    });
    return {
      v: 1,
      origin,
      requestId: sent.event.requestId,
      contractId: d.contractId,
      cluster: d.cluster,
      requester,
      nonce: sent.event.nonce.toString(),
      sealedInput: toHex(sealedInput),
      responseKey: toHex(responseKey.publicKey),
      deadline: Math.floor(Date.now() / 1000) + 3_600,
      observed: { chain: 'phala', blockNumber: sent.blockNumber, blockHash: sent.blockHash, at: Date.now() },
    };
  }

  /**
   * A request from a sibling parachain's account (an XCM origin), dispatched on chain as an XCM
   * `Transact` would; the job carries the SCALE location as the requester, as the relayer does.
   */
  async function xcmRequest(d: Deployed, input: string, responseKey: KeyPair): Promise<RequestJob> {
    const location = {
      parents: 1,
      interior: { X2: [{ Parachain: 2000 }, { AccountId32: { network: null, id: `0x${'22'.repeat(32)}` } }] },
    };
    const api = t.api;
    const entry = api.runtimeMetadata.asLatest.lookup.types.find(
      (x) => x.type.path.join('::') === 'staging_xcm::v4::location::Location',
    )!;
    const typeDef = api.registry.lookup.getTypeDef(entry.id);
    const encoded = api.registry.createType(typeDef.lookupName ?? typeDef.type, location).toU8a();
    const origin = { kind: 'xcm' as const, paraId: 2000, location: toHex(encoded) };
    const sealedInput = sealEnvelope({
      recipientPublicKey: d.key.publicKey,
      purpose: 'request',
      context: requestContext(originKey(origin), encoded, fromHex(d.contractId), responseKey.publicKey),
      plaintext: utf8(input),
    });
    const deadline = await contracts.deadlineIn(t.client, 1_000);
    const inner = api.tx.phalaContracts!.request!(
      d.contractId,
      toHex(sealedInput),
      toHex(responseKey.publicKey),
      deadline,
    );
    const sent = await submitSudo(t.client, api.tx.xcmTest!.transact!(location, inner), t.alice);
    const submitted = sent.events.find((e) => e.name === 'RequestSubmitted')!;
    return {
      v: 1,
      origin,
      requestId: submitted.fields.requestId as Hex,
      contractId: d.contractId,
      cluster: d.cluster,
      requester: toHex(encoded),
      nonce: String(submitted.fields.nonce),
      sealedInput: toHex(sealedInput),
      responseKey: toHex(responseKey.publicKey),
      deadline: Math.floor(Date.now() / 1000) + 3_600,
      observed: { chain: 'phala', blockNumber: sent.blockNumber, blockHash: sent.blockHash, at: Date.now() },
    };
  }

  /**
   * An EVM-origin request made on the gateway by the node's first account (a direct caller: its
   * own end user), turned into the job the relayer's watcher would queue from its event.
   */
  async function evmRequest(d: Deployed, input: string, responseKey: KeyPair): Promise<RequestJob> {
    if (!evmNode) throw new Error('this fixture was started without its EVM node');
    const evm = evmNode;
    const { publicClient, walletClient } = evm.clients;
    if (!onGateway.has(d.contractId)) {
      await registerContractOnGateway(evm.clients, {
        gateway: evm.gateway,
        registration: {
          contractId: d.contractId,
          cluster: d.cluster,
          publicKey: toHex(d.key.publicKey),
          epoch: 0n,
        },
        gatekeeperKeys: evm.gatekeepers.map((g) => g.secretKey),
      });
      onGateway.add(d.contractId);
    }
    const origin = { kind: 'evm' as const, chainId: evm.node.chainId, gateway: evm.gateway };
    const requester = walletClient.account.address;
    const sealedInput = toHex(
      sealEnvelope({
        recipientPublicKey: d.key.publicKey,
        purpose: 'request',
        context: requestContext(
          originKey(origin),
          fromHex(requester),
          fromHex(d.contractId),
          responseKey.publicKey,
        ),
        plaintext: utf8(input),
      }),
    );
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3_600);
    const hash = await sendRequest(walletClient, {
      gateway: evm.gateway,
      contractId: d.contractId,
      sealedInput,
      responseKey: toHex(responseKey.publicKey),
      callbackGasLimit: 100_000,
      deadline,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    const sent = receipt.logs
      .map((log) => decodeGatewayLog(log, origin.chainId))
      .find((e) => e?.kind === 'RequestSent');
    if (sent?.kind !== 'RequestSent') throw new Error('the gateway logged no RequestSent');
    return {
      v: 1,
      origin,
      requestId: sent.requestId,
      contractId: d.contractId,
      cluster: d.cluster,
      requester,
      endUser: sent.endUser,
      nonce: sent.nonce.toString(),
      sealedInput,
      responseKey: toHex(responseKey.publicKey),
      deadline: Number(deadline),
      callbackGasLimit: 100_000,
      observed: {
        chain: 'evm',
        blockNumber: Number(receipt.blockNumber),
        blockHash: receipt.blockHash,
        txHash: hash,
        at: Date.now(),
      },
    };
  }

  /** Queues a request as the relayer does (job id = the request's job id). */
  async function enqueue(request: RequestJob, jobId = requestJobId(request.origin, request.requestId)) {
    return queue(requestQueueName(request.cluster)).add('request', request, {
      jobId,
      attempts: 1_000,
      backoff: { type: 'schedule' },
    });
  }

  /** Waits until `fn` gives a value (polling). */
  async function waitFor<T>(
    fn: () => Promise<T | null | undefined | false>,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Every result on the results queue for a request job id (results travel in worker batches). */
  async function resultsFor(jobId: string): Promise<{ id: string; data: ResultJob }[]> {
    const jobs = await queue(RESULT_QUEUE).getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
    return jobs.flatMap((j) => {
      const batch = j ? resultBatchOf(j.data) : undefined;
      if (!batch?.success) return [];
      return batch.data.results.filter((r) => r.jobId === jobId).map((data) => ({ id: j!.id!, data }));
    });
  }

  function openOutput(result: ResultJob, responseKey: KeyPair): string {
    return Buffer.from(
      openEnvelope({
        recipientSecretKey: responseKey.secretKey,
        purpose: 'output',
        context: outputContext(fromHex(result.requestId)),
        envelope: fromHex(result.sealedOutput),
      }),
    ).toString('utf8');
  }

  function openState(d: Deployed, sealed: Hex, version: bigint): Uint8Array {
    return openEnvelope({
      recipientSecretKey: d.key.secretKey,
      purpose: 'state',
      context: stateContext(fromHex(d.contractId), version),
      envelope: fromHex(sealed),
    });
  }

  async function close(): Promise<void> {
    await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
    // Only this run's keys, by prefix (never FLUSHDB: other sessions share the server).
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 }))
      keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys).catch(() => {});
    await redis.quit().catch(() => {});
    await evmNode?.stop().catch(() => {});
    await t.stop();
  }

  return {
    t,
    gatekeeper,
    measurement,
    genesisHash,
    evm: evmNode,
    prefix,
    redis,
    queue,
    tmp,
    dataDir: (name: string) => path.join(tmp, name),
    rawConfig,
    config,
    deploy,
    approve,
    handOver,
    pushAsGatekeeper,
    phalaRequest,
    xcmRequest,
    evmRequest,
    enqueue,
    waitFor,
    resultsFor,
    openOutput,
    openState,
    close,
  };
}

export { randomHash };

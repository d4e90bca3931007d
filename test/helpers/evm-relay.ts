import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { type Address, type Hex, parseEventLogs } from 'viem';
import { fromHex, toHex } from '../../src/base/bytes.js';
import { parseConfig } from '../../src/config/load.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { fulfillmentLeaf, fulfillmentOf } from '../../src/crypto/proofs.js';
import {
  type EvmDevnet,
  deployTestConsumer,
  registerContractOnGateway,
  registerWorkerOnGateway,
  startEvmDevnet,
} from '../../src/devnet/evm/index.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/index.js';
import { getGatekeeperSet } from '../../src/evm/gateway/read.js';
import { Enclave, SimPlatform } from '../../src/pruntime/enclave/index.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { resultJobOf } from '../../src/pruntime/worker/request-processor.js';
import { originKey, requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, requestQueueName, resultJobIdOf } from '../../src/protocol/queue-names.js';
import { type ResultBatchJob, resultBatchJobId } from '../../src/protocol/result-batch-job.js';
import { endUserOf, requestJobSchema } from '../../src/protocol/request-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { buildChainAdapters } from '../../src/relayer/chains/build.js';
import { RelayerDaemon } from '../../src/relayer/daemon.js';
import { sealInput } from '../../src/sdk/seal.js';
import { REDIS_URL, uniquePrefix } from './redis.js';

/**
 * An EVM flow for relayer tests: a Hardhat node with the gateway, a test consumer, a worker
 * enclave registered through gatekeeper signatures, and a contract whose key the worker holds.
 * `startTestWorker` consumes the cluster's queue in-process with the real enclave and engine; it
 * stands in for the worker service only where a test needs to control a worker directly.
 */
export const ECHO_CONTRACT = `
export function handle(input, ctx) {
  const text = ctx.utf8.decode(input);
  return { public: text.toUpperCase(), sealed: 'secret:' + text };
}`;

export type EvmRelayFixture = Awaited<ReturnType<typeof startEvmRelayFixture>>;

export type EvmRelayFixtureOptions = {
  redisUrl?: string;
  /**
   * A contract deployed elsewhere (on a Phala-style chain a worker service reads) to register on
   * the gateway instead of a fresh random one; the fixture's in-process enclave gets its key.
   */
  contract?: { contractId: Hex; key: { publicKey: Uint8Array; secretKey: Uint8Array } };
  /** Key prefix (default a fresh braced one): a second fixture on the same prefix shares the relayer. */
  prefix?: string;
  /** The workers' cluster (default 0x11…11): a second fixture on the same prefix needs its own queue. */
  cluster?: Hex;
  /** The Hardhat node's chain id (default 31337): two fixtures in one relayer need two ids. */
  chainId?: number;
  /** A Redis Cluster's nodes (`redis.clusterNodes`), used instead of `redisUrl`. */
  redisCluster?: { nodes: { host: string; port: number }[] };
};

export async function startEvmRelayFixture(options: EvmRelayFixtureOptions = {}) {
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const devnet: EvmDevnet = await startEvmDevnet({
    node: options.chainId !== undefined ? { chainId: options.chainId } : {},
  });
  const engine = await ContractEngine.start({ threads: 1 });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pb-relay-'));
  const measurement = new Uint8Array(32).fill(0x4d);
  const platform = new SimPlatform({
    platformSecret: new Uint8Array(32).fill(7),
    platformCaKey: new Uint8Array(32).fill(9),
    measurement,
  });
  const enclave = await Enclave.open({ dataDir: path.join(dataDir, 'worker'), platform, engine });
  const cluster = options.cluster ?? toHex(new Uint8Array(32).fill(0x11));
  const contractId = options.contract?.contractId ?? toHex(generateKeyPair('x25519').publicKey);
  const contractKey = options.contract?.key ?? generateKeyPair('x25519');
  await enclave.receiveKeyHandover({
    envelope: sealKeyHandover(fromHex(enclave.publicIdentity.x25519), {
      kind: 'contract',
      id: fromHex(contractId),
      epoch: 1,
      secretKey: contractKey.secretKey,
    }),
    epoch: 1,
    expectedPublicKey: contractKey.publicKey,
  });
  const { epoch } = await getGatekeeperSet(devnet.clients.publicClient, { gateway: devnet.gateway });
  const gatekeeperKeys = devnet.gatekeepers.map((g) => g.secretKey);
  /** Registers a worker of the cluster on the gateway, signed by the gateway's gatekeepers. */
  async function registerWorker(worker: Address, workerMeasurement: Hex = toHex(measurement)) {
    await registerWorkerOnGateway(devnet.clients, {
      gateway: devnet.gateway,
      registration: {
        worker,
        measurement: workerMeasurement,
        cluster,
        expiresAt: BigInt(Math.floor(Date.now() / 1000) + 86_400),
        epoch,
      },
      gatekeeperKeys,
    });
  }
  await registerWorker(enclave.publicIdentity.address);
  await registerContractOnGateway(devnet.clients, {
    gateway: devnet.gateway,
    registration: { contractId, cluster, publicKey: toHex(contractKey.publicKey), epoch },
    gatekeeperKeys,
  });
  const consumerAddress = (await deployTestConsumer(devnet.clients, devnet.gateway)).address;
  const prefix = options.prefix ?? `{${uniquePrefix('relay')}}`;
  const origin = { kind: 'evm' as const, chainId: devnet.node.chainId, gateway: devnet.gateway };
  const responseKey = generateKeyPair('x25519');
  const relayerAccount = devnet.node.accounts[1]!;
  const clusterNodes = options.redisCluster?.nodes;
  const redis: Redis | Cluster = clusterNodes
    ? new Cluster(clusterNodes, { redisOptions: { maxRetriesPerRequest: null } })
    : new Redis(redisUrl, { maxRetriesPerRequest: null });

  type ConfigOverrides = {
    batch?: { maxSize: number; maxDelayMs: number };
    checkpointFile?: string;
    rpcUrl?: string;
  };

  /** The relayer's configuration as a file would hold it. */
  function rawConfig(overrides: ConfigOverrides = {}) {
    return {
      mode: 'development',
      chains: [
        {
          kind: 'evm',
          name: 'hardhat',
          chainId: devnet.node.chainId,
          rpcUrl: overrides.rpcUrl ?? devnet.node.rpcUrl,
          gateway: devnet.gateway,
          confirmations: 0,
          pollIntervalMs: 100,
          startBlock: Number(devnet.gatewayBlock),
          signer: { value: relayerAccount.privateKey },
          batch: overrides.batch ?? { maxSize: 8, maxDelayMs: 100 },
          replaceAfterMs: 3_000,
        },
      ],
      redis: clusterNodes ? { clusterNodes, prefix } : { url: redisUrl, prefix },
      // A relayer killed in a fault scenario hands its jobs on within ~7 s instead of ~45 s (the
      // defaults); 5 s still outlasts the event-loop stalls of a CI machine running two suites.
      queues: { backoffMs: [200, 500, 1000], lockDurationMs: 5_000, stalledIntervalMs: 2_000 },
      metrics: { port: 0 },
      admin: { port: 0 },
      log: { level: 'warn', pretty: false },
      shutdownGraceMs: 5_000,
      checkpointFile: overrides.checkpointFile ?? path.join(dataDir, 'checkpoints.json'),
    };
  }

  function config(overrides: ConfigOverrides = {}) {
    return parseConfig(rawConfig(overrides), 'test', {});
  }

  function startRelayer(overrides: Parameters<typeof config>[0] = {}) {
    const cfg = config(overrides);
    const daemon = new RelayerDaemon({
      config: cfg,
      logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      adapters: (context) => buildChainAdapters(cfg, context),
    });
    return daemon;
  }

  /** Sends `text` as a request from the test consumer; returns the request id. */
  async function request(text: string, deadlineSeconds = 3600): Promise<Hex> {
    const sealedInput = sealInput({
      contractPublicKey: contractKey.publicKey,
      contractId,
      origin,
      requester: consumerAddress.toLowerCase() as Hex,
      // The consumer asks for the account that calls it (ConfidentialConsumer passes msg.sender).
      endUser: devnet.clients.walletClient.account.address.toLowerCase() as Hex,
      responseKey: toHex(responseKey.publicKey),
      input: text,
    });
    const deadline = BigInt(Math.floor(Date.now() / 1000) + deadlineSeconds);
    const args = [contractId, sealedInput, toHex(responseKey.publicKey), 200_000, deadline] as const;
    const { request: tx } = await devnet.clients.publicClient.simulateContract({
      address: consumerAddress,
      abi: testConsumerAbi,
      functionName: 'send',
      args,
      account: devnet.clients.walletClient.account,
    });
    const hash = await devnet.clients.walletClient.writeContract(tx);
    // The id holds the block number it is mined in (the gateway's nonce), so a simulation's
    // return value names another request: the id is read from the mined `RequestSent`.
    const [requestId] = await requestIdsOf([hash]);
    return requestId!;
  }

  /**
   * Sends a request without waiting for it to be mined (for a node that mines on demand); returns
   * the transaction hash. The request id is known once mined: `requestIdsOf`.
   */
  async function sendRequest(text: string, deadlineSeconds = 3600): Promise<Hex> {
    const sealedInput = sealInput({
      contractPublicKey: contractKey.publicKey,
      contractId,
      origin,
      requester: consumerAddress.toLowerCase() as Hex,
      endUser: devnet.clients.walletClient.account.address.toLowerCase() as Hex,
      responseKey: toHex(responseKey.publicKey),
      input: text,
    });
    const deadline = BigInt(Math.floor(Date.now() / 1000) + deadlineSeconds);
    return devnet.clients.walletClient.writeContract({
      address: consumerAddress,
      abi: testConsumerAbi,
      functionName: 'send',
      args: [contractId, sealedInput, toHex(responseKey.publicKey), 200_000, deadline],
      account: devnet.clients.walletClient.account,
      chain: devnet.clients.walletClient.chain,
      // Estimated against a block without the earlier unmined requests: a fixed limit instead.
      gas: 1_000_000n,
    });
  }

  /** The request ids of mined request transactions (their gateway `RequestSent` events), in order. */
  async function requestIdsOf(hashes: Hex[]): Promise<Hex[]> {
    const ids: Hex[] = [];
    for (const hash of hashes) {
      const receipt = await devnet.clients.publicClient.waitForTransactionReceipt({ hash });
      const gatewayLogs = receipt.logs.filter(
        (l) => l.address.toLowerCase() === devnet.gateway.toLowerCase(),
      );
      const [sent] = parseEventLogs({
        abi: phalaBridgeGatewayAbi,
        logs: gatewayLogs,
        eventName: 'RequestSent',
      });
      if (!sent) throw new Error(`transaction ${hash} sent no request`);
      ids.push(sent.args.requestId);
    }
    return ids;
  }

  /** Hardhat mining control: `false` leaves transactions in the pool until `mine` or automine again. */
  async function setAutomine(on: boolean): Promise<void> {
    await devnet.clients.publicClient.request({ method: 'evm_setAutomine' as never, params: [on] as never });
  }

  /** Mines one block with what the pool holds. */
  async function mine(): Promise<void> {
    await devnet.clients.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
  }

  /** Moves the chain's clock: the next block is at least `seconds` later than it would be. */
  async function increaseTime(seconds: number): Promise<void> {
    await devnet.clients.publicClient.request({
      method: 'evm_increaseTime' as never,
      params: [seconds] as never,
    });
  }

  /** The transactions waiting in the node's pool (Hardhat's `pending` block). */
  async function pendingTransactions() {
    const block = await devnet.clients.publicClient.getBlock({
      blockTag: 'pending',
      includeTransactions: true,
    });
    return block.transactions;
  }

  /**
   * An in-process worker on the cluster's queue, running requests in the real enclave. With
   * `batch`, results made within the window are also signed as one FulfillmentBatch.
   */
  function startTestWorker(
    options: { concurrency?: number; batch?: { size: number; windowMs: number } } = {},
  ) {
    const results = new Queue(RESULT_QUEUE, { connection: redis, prefix });
    const target = { kind: 'evm' as const, chainId: devnet.node.chainId, verifyingContract: devnet.gateway };
    type Pending = { result: ResultJob; bullId: string; done: (e?: unknown) => void };
    let pending: Pending[] = [];
    let timer: NodeJS.Timeout | undefined;
    // As the worker service does: an earlier, finished answer under the same id (the request came
    // back after a reorg or a refusal) is replaced, or BullMQ would ignore the new one.
    const publish = async (data: ResultJob | ResultBatchJob, jobId: string) => {
      const existing = await results.getJob(jobId);
      if (existing && ((await existing.isCompleted()) || (await existing.isFailed())))
        await existing.remove();
      await results.add('result', data, { jobId });
    };
    const flush = async () => {
      clearTimeout(timer);
      timer = undefined;
      const group = pending;
      pending = [];
      if (group.length === 0) return;
      try {
        if (group.length > 1) {
          // One job per worker batch, as the worker service publishes it (result-batch-job.ts).
          const leaves = group.map(({ result: r }) =>
            toHex(
              fulfillmentLeaf(
                fulfillmentOf(r.requestId, fromHex(r.publicOutput), fromHex(r.sealedOutput), r.stateRoot),
              ),
            ),
          );
          const signed = enclave.signBatch({ target, leaves });
          const batch: ResultBatchJob = {
            v: 2,
            worker: group[0]!.result.worker,
            results: group.map((p) => p.result),
            batch: { root: signed.root, signature: signed.signature },
          };
          await publish(batch, resultBatchJobId(batch));
        } else {
          await publish(group[0]!.result, group[0]!.bullId);
        }
        for (const p of group) p.done();
      } catch (error) {
        for (const p of group) p.done(error);
      }
    };
    const worker = new Worker(
      requestQueueName(cluster),
      async (job) => {
        const request = requestJobSchema.parse(job.data);
        const executed = await enclave.execute({
          contractId: request.contractId,
          code: ECHO_CONTRACT,
          originKey: originKey(request.origin),
          origin: { kind: 'evm', chainId: devnet.node.chainId, endUser: endUserOf(request) },
          requester: fromHex(request.requester),
          requestId: request.requestId,
          sealedInput: fromHex(request.sealedInput),
          responseKey: fromHex(request.responseKey),
          state: null,
          target,
        });
        const id = requestJobId(request.origin, request.requestId);
        const result = resultJobOf(request, id, executed, enclave.publicIdentity, Date.now());
        const bullId = resultJobIdOf(id, enclave.publicIdentity.address);
        await new Promise<void>((resolve, reject) => {
          pending.push({ result, bullId, done: (e) => (e ? reject(e) : resolve()) });
          const size = options.batch?.size ?? 1;
          if (pending.length >= size) void flush();
          else timer ??= setTimeout(() => void flush(), options.batch?.windowMs ?? 0);
        });
      },
      { connection: redis.duplicate(), prefix, concurrency: options.concurrency ?? 4 },
    );
    return {
      worker,
      close: async () => {
        await worker.close();
        await flush();
        await results.close();
      },
    };
  }

  async function received(): Promise<bigint> {
    return devnet.clients.publicClient.readContract({
      address: consumerAddress,
      abi: testConsumerAbi,
      functionName: 'received',
    });
  }

  async function close() {
    // A Redis Cluster is its owner's to throw away; on a single Redis this run's keys go.
    if (!clusterNodes) {
      const keys = await redis.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    }
    redis.disconnect();
    await engine.close();
    await devnet.stop();
  }

  return {
    devnet,
    enclave,
    cluster,
    contractId,
    contractKey,
    consumerAddress,
    prefix,
    origin,
    responseKey,
    redis,
    redisUrl,
    rawConfig,
    config,
    relayerAccount,
    registerWorker,
    startRelayer,
    request,
    sendRequest,
    requestIdsOf,
    setAutomine,
    mine,
    increaseTime,
    pendingTransactions,
    startTestWorker,
    received,
    close,
    dataDir,
  };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  label = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export type { Address };

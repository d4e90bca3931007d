import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type Hex, fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { parseConfig } from '../../src/config/load.js';
import { sealEnvelope } from '../../src/crypto/envelope.js';
import { requestContext } from '../../src/crypto/envelope-context.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { generateIdentity, generateKeyPair } from '../../src/crypto/keys.js';
import { startDevNode } from '../../src/devnet/substrate/node.js';
import { createLogger } from '../../src/log/logger.js';
import {
  balances,
  contracts,
  createPhalaClient,
  devSigner,
  ecdsaSigner,
  mq,
  registry,
} from '../../src/phala/index.js';
import { requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, requestQueueName } from '../../src/protocol/queue-names.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import { computeCodeMeasurement } from '../../src/pruntime/enclave/measurement.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import {
  KEY_HANDOVER_DESTINATION_BYTES,
  encodeKeyHandoverMessage,
  engineThreadsFor,
  startWorker,
} from '../../src/pruntime/worker/index.js';
import { type EvmDevnet, registerContractOnGateway, startEvmDevnet } from '../../src/devnet/evm/index.js';
import { decodeGatewayLog } from '../../src/evm/gateway/events.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import type { BenchReport } from '../index.js';

export const name = 'pruntime-worker';

/**
 * One worker service end to end through Redis: requests added to its cluster's queue → signed
 * results on the results queue (request checks, chain reads of code and state, enclave run,
 * sealing, signing, result job). A Phala dev node and a gatekeeper stand-in (sudo-registered key)
 * set it up. The requests are EVM-origin, made beforehand on a real gateway (Hardhat): the worker
 * checks each on its origin chain (storage proof of its commitment at a verified header, and the
 * contract and state through its Phala-style light client) before it runs it; the table reports
 * that check's cost per request.
 */
const CONTRACT = 'export function handle(input, ctx) { return { public: input, sealed: "ok" }; }';
const REDIS_URL = process.env.PHALA_BRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function run(): Promise<BenchReport> {
  const node = await startDevNode({ chain: 'phala', logger: { info() {}, warn() {}, error() {} } });
  const client = await createPhalaClient({ url: node.wsUrl });
  const alice = await devSigner('Alice', 30);
  const gk = generateIdentity();
  const gkSigner = await ecdsaSigner(gk.signing.secretKey, 30);
  await balances.transfer(client, { signer: alice, to: gkSigner.address, amount: 10n ** 15n });
  await registry.addGatekeeper(client, {
    sudo: alice,
    gatekeeper: gk.signing.publicKey,
    x25519: gk.encryption.publicKey,
    account: gkSigner.addressRaw,
  });
  const measurement = computeCodeMeasurement().measurement;
  await registry.addMeasurement(client, { sudo: alice, measurement });
  const master = toHex(generateKeyPair('x25519').publicKey);
  await registry.rotateMasterKey(client, {
    signer: gkSigner,
    publicKey: master,
    epoch: 1n,
    signature: registry.signMasterKeyRotation(client, {
      gatekeeperSecretKey: gk.signing.secretKey,
      publicKey: master,
      epoch: 1n,
    }),
  });
  const cluster = toHex(generateKeyPair('x25519').publicKey);
  const code = await contracts.uploadCode(client, { signer: alice, code: toHex(utf8(CONTRACT)) });
  const { event } = await contracts.instantiate(client, {
    signer: alice,
    codeHash: code.event.codeHash,
    cluster,
    salt: '0x01',
  });
  const contractId = event.contractId;
  const key = generateKeyPair('x25519');
  await registry.publishContractKey(client, {
    signer: gkSigner,
    contractId,
    publicKey: key.publicKey,
    epoch: 1n,
    signature: registry.signContractKeyPublication(client, {
      gatekeeperSecretKey: gk.signing.secretKey,
      contractId,
      publicKey: key.publicKey,
      epoch: 1n,
    }),
  });

  // The requests are real ones on a real gateway: workers answer only what the chain holds.
  const evmDev = await startEvmDevnet();
  await registerContractOnGateway(evmDev.clients, {
    gateway: evmDev.gateway,
    registration: { contractId, cluster, publicKey: toHex(key.publicKey), epoch: 0n },
    gatekeeperKeys: evmDev.gatekeepers.map((g) => g.secretKey),
  });

  const prefix = `{bench-worker-${Date.now().toString(36)}}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-worker-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  // The threads a worker at concurrency 4 starts for itself (its cores plus the fair-share spare).
  const engine = await ContractEngine.start({
    threads: engineThreadsFor(4, Math.min(2, os.availableParallelism())),
  });
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, number> = {};
  const queue = new Queue(requestQueueName(cluster), { connection: redis, prefix });
  const events = new QueueEvents(RESULT_QUEUE, { connection: redis.duplicate(), prefix });
  try {
    for (const concurrency of [1, 4]) {
      const worker = await startWorker({
        config: parseConfig(
          {
            mode: 'development',
            chains: [{ kind: 'phala', name: 'phala', wsUrl: node.wsUrl }],
            redis: { url: REDIS_URL, prefix },
            worker: {
              cluster,
              trust: {
                phala: {
                  genesisHash: node.grandpa.genesisHash,
                  setId: node.grandpa.setId,
                  authorities: node.grandpa.authorities.map(([id, weight]) => ({ id, weight })),
                },
                evm: [{ chainId: evmDev.node.chainId, endpoints: [evmDev.node.rpcUrl], quorum: 1, depth: 0 }],
              },
              dataDir,
              concurrency,
              attestation: {
                provider: 'sim',
                platformCaKey: { value: toHex(new Uint8Array(32).fill(9)) },
                platformSecret: { value: toHex(new Uint8Array(32).fill(7)) },
              },
              funder: { value: '//Alice' },
            },
          },
          'bench',
          {},
        ),
        logger: createLogger({ level: 'error' }),
        engine,
        http: false,
      });
      try {
        const me = worker.enclave.publicIdentity;
        await worker.waitUntil((w) => w.registration.kind !== 'unregistered', 30_000, 'registration');
        if (!worker.serving) {
          const now = (await client.api.query.timestamp!.now!()) as unknown as { toString(): string };
          const expiresAt = BigInt(Math.floor(Number(now.toString()) / 1000) + 3_600);
          await registry.approveWorker(client, {
            signer: gkSigner,
            worker: me.secp256k1,
            measurement,
            expiresAt,
            signature: await registry.signWorkerApproval(client, {
              gatekeeperSecretKey: gk.signing.secretKey,
              worker: me.secp256k1,
              measurement,
              expiresAt,
            }),
          });
        }
        if (!worker.enclave.hasContractKey(contractId)) {
          const payload = encodeKeyHandoverMessage({
            worker: fromHex(me.secp256k1),
            workerX25519: fromHex(me.x25519),
            handovers: [
              {
                kind: 'contract',
                id: fromHex(contractId),
                epoch: 1,
                publicKey: key.publicKey,
                envelope: sealKeyHandover(fromHex(me.x25519), {
                  kind: 'contract',
                  id: fromHex(contractId),
                  epoch: 1,
                  secretKey: key.secretKey,
                }),
              },
            ],
          });
          const sender = { kind: 'gatekeeper' as const, key: gk.signing.publicKey };
          const sequence = await mq.nextSequence(client, sender);
          const destination = KEY_HANDOVER_DESTINATION_BYTES;
          await mq.pushMessage(client, {
            signer: gkSigner,
            message: {
              sender,
              destination,
              sequence,
              payload,
              signature: mq.signMessage(client, {
                secretKey: gk.signing.secretKey,
                sender,
                destination,
                sequence,
                payload,
              }),
            },
          });
        }
        await worker.whenServing(30_000);
        await worker.whenHasContractKey(contractId, 30_000);

        const count = 200;
        const jobs = await gatewayRequests(evmDev, { contractId, cluster, key: key.publicKey, count });
        const addedAt = new Map<string, number>();
        const latencies: number[] = [];
        const done = new Promise<void>((resolve) => {
          events.on('added', ({ jobId }) => {
            const requestJob = jobId.slice(0, jobId.lastIndexOf('-'));
            const at = addedAt.get(requestJob);
            if (at === undefined) return;
            latencies.push(performance.now() - at);
            addedAt.delete(requestJob);
            if (latencies.length === count) resolve();
          });
        });
        await events.waitUntilReady();
        const started = performance.now();
        for (const job of jobs) {
          const id = requestJobId(job.origin, job.requestId);
          addedAt.set(id, performance.now());
          await queue.add('request', job, { jobId: id });
        }
        await done;
        const seconds = (performance.now() - started) / 1000;
        events.removeAllListeners('added');
        const rate = Math.round(count / seconds);
        rows.push({
          concurrency,
          requests: count,
          'requests/s': rate,
          'p50 ms': Math.round(percentile(latencies, 50)),
          'p99 ms': Math.round(percentile(latencies, 99)),
        });
        const v = worker.verification;
        const checkMicros = Math.round(v.totalMicros / Math.max(1, v.checks));
        const reads = (v.phalaSyncs + v.phalaReadProofs + v.evmRpcRequests) / Math.max(1, v.checks);
        rows[rows.length - 1]!['existence check µs'] = checkMicros;
        rows[rows.length - 1]!['RPC reads/request'] = Math.round(reads * 100) / 100;
        figures[`existenceCheckMicrosConcurrency${concurrency}`] = checkMicros;
        figures[`existenceCheckRpcReadsPerRequestConcurrency${concurrency}`] = Math.round(reads * 100) / 100;
        figures[`requestsPerSecondConcurrency${concurrency}`] = rate;
        figures[`p99MsConcurrency${concurrency}`] = Math.round(percentile(latencies, 99));
      } finally {
        await worker.stop({ graceMs: 5_000 });
      }
    }
  } finally {
    await events.close();
    await queue.close();
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 }))
      keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await engine.close();
    await client.api.disconnect();
    await node.stop();
    await evmDev.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { table: rows, figures };
}

/** `count` requests made on the gateway from the node's first account, as the jobs the relayer would queue. */
async function gatewayRequests(
  dev: EvmDevnet,
  p: { contractId: Hex; cluster: Hex; key: Uint8Array; count: number },
): Promise<RequestJob[]> {
  const { publicClient, walletClient } = dev.clients;
  const origin = { kind: 'evm' as const, chainId: dev.node.chainId, gateway: dev.gateway };
  const requester = walletClient.account.address;
  const responseKey = generateKeyPair('x25519');
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 3_600);
  const sealed = new Map<Hex, Hex>();
  const hashes: Hex[] = [];
  for (let i = 0; i < p.count; i++) {
    const sealedInput = toHex(
      sealEnvelope({
        recipientPublicKey: p.key,
        purpose: 'request',
        context: requestContext(
          `evm-${origin.chainId}`,
          fromHex(requester),
          fromHex(p.contractId),
          responseKey.publicKey,
        ),
        plaintext: utf8(`request ${i}`),
      }),
    );
    const data = encodeRequest({
      contractId: p.contractId,
      sealedInput,
      responseKey: toHex(responseKey.publicKey),
      callbackGasLimit: 0,
      deadline,
    });
    const hash = await walletClient.sendTransaction({ to: dev.gateway, data, gas: 500_000n });
    sealed.set(hash, sealedInput);
    hashes.push(hash);
  }
  const jobs: RequestJob[] = [];
  for (const hash of hashes) {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    const sent = receipt.logs
      .map((log) => decodeGatewayLog(log, origin.chainId))
      .find((e) => e?.kind === 'RequestSent');
    if (sent?.kind !== 'RequestSent') throw new Error(`no RequestSent in ${hash}`);
    jobs.push({
      v: 1,
      origin,
      requestId: sent.requestId,
      contractId: p.contractId,
      cluster: p.cluster,
      requester,
      endUser: sent.endUser,
      nonce: sent.nonce.toString(),
      sealedInput: sealed.get(hash)!,
      responseKey: toHex(responseKey.publicKey),
      deadline: Number(deadline),
      callbackGasLimit: 0,
      observed: {
        chain: 'evm',
        blockNumber: Number(receipt.blockNumber),
        blockHash: receipt.blockHash,
        at: Date.now(),
      },
    });
  }
  return jobs;
}

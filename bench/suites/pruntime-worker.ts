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
  startWorker,
} from '../../src/pruntime/worker/index.js';
import { computeRequestIdFromInput } from '../../src/evm/request-id.js';
import type { BenchReport } from '../index.js';

export const name = 'pruntime-worker';

/**
 * One worker service end to end through Redis: requests added to its cluster's queue → signed
 * results on the results queue (request checks, chain reads of code and state, enclave run,
 * sealing, signing, result job). A Phala dev node and a gatekeeper stand-in (sudo-registered key)
 * set it up; the requests are EVM-origin, so no chain transaction is needed per request.
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

  const prefix = `{bench-worker-${Date.now().toString(36)}}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-worker-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const engine = await ContractEngine.start({ threads: Math.min(2, os.availableParallelism()) });
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
        const responseKey = generateKeyPair('x25519');
        const origin = {
          kind: 'evm' as const,
          chainId: 31337,
          gateway: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as Hex,
        };
        const requester = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' as Hex;
        const jobs: RequestJob[] = [];
        for (let i = 0; i < count; i++) {
          const sealedInput = toHex(
            sealEnvelope({
              recipientPublicKey: key.publicKey,
              purpose: 'request',
              context: requestContext(
                'evm-31337',
                fromHex(requester),
                fromHex(contractId),
                responseKey.publicKey,
              ),
              plaintext: utf8(`request ${i}`),
            }),
          );
          const nonce = BigInt(concurrency * 1_000_000 + i);
          jobs.push({
            v: 1,
            origin,
            requestId: computeRequestIdFromInput({
              ...origin,
              nonce,
              requester,
              endUser: requester,
              contractId,
              responseKey: toHex(responseKey.publicKey),
              sealedInput,
            }),
            contractId,
            cluster,
            requester,
            nonce: nonce.toString(),
            sealedInput,
            responseKey: toHex(responseKey.publicKey),
            deadline: Math.floor(Date.now() / 1000) + 3_600,
            observed: { chain: 'bench', blockNumber: 1, blockHash: toHex(new Uint8Array(32)), at: 0 },
          });
        }
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
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { table: rows, figures };
}

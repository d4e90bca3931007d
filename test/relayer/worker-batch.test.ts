import { decodeFunctionData, getAbiItem, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/base/bytes.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { getFulfillmentOutputs } from '../../src/evm/gateway/outputs.js';
import { requestJobId } from '../../src/protocol/origin.js';
import type { ResultBatchJob } from '../../src/protocol/result-batch-job.js';
import type { WorkerService } from '../../src/pruntime/worker/index.js';
import type { RelayerDaemon } from '../../src/relayer/daemon.js';
import { openOutput } from '../../src/sdk/seal.js';
import { waitFor } from '../helpers/evm-relay.js';
import { type WorkerEvmRelayFixture, startWorkerEvmRelayFixture } from '../helpers/worker-evm-relay.js';

/**
 * Worker-side batching through the real worker service (Phala dev node, Hardhat gateway, real
 * Redis, relayer daemon): results the worker has ready together for the gateway are signed as one
 * FulfillmentBatch and reach the chain in one `fulfillBatch`, each request fulfilled once; a lone
 * request is not held back.
 */

let f: WorkerEvmRelayFixture;
let daemon: RelayerDaemon;
let worker: WorkerService;

beforeAll(async () => {
  f = await startWorkerEvmRelayFixture('worker-batch');
  daemon = f.startRelayer({ batch: { maxSize: 8, maxDelayMs: 300 } });
  await daemon.start();
}, 120_000);

afterAll(async () => {
  await worker?.stop({ graceMs: 2_000 });
  await daemon?.stop();
  await f?.close();
});

async function fulfilledLogs(fromBlock: bigint) {
  const client = f.devnet.clients.publicClient;
  const logs = await client.getLogs({
    address: f.devnet.gateway,
    event: getAbiItem({ abi: phalaBridgeGatewayAbi, name: 'RequestFulfilled' }),
    fromBlock,
    toBlock: 'latest',
  });
  return parseEventLogs({ abi: phalaBridgeGatewayAbi, logs, eventName: 'RequestFulfilled' });
}

describe('worker service batching (real worker service, real relayer, real gateway)', () => {
  it('sends results ready together as one fulfillBatch, each request fulfilled exactly once', async () => {
    const client = f.devnet.clients.publicClient;
    const from = await client.getBlockNumber();
    // Queued while no worker serves: the worker takes them all at once when it starts.
    const texts = Array.from({ length: 6 }, (_, i) => `together ${i}`);
    const ids: `0x${string}`[] = [];
    for (const text of texts) ids.push(await f.request(text));
    await waitFor(
      async () => (await daemon.queues.requests(f.cluster).getWaitingCount()) === 6,
      30_000,
      'six queued requests',
    );
    worker = await f.startWorkerService({
      name: 'w1',
      concurrency: 8,
      batch: { maxSize: 8, maxDelayMs: 200 },
    });
    await waitFor(async () => (await f.received()) === 6n, 60_000, 'all callbacks');

    const logs = await fulfilledLogs(from);
    const counts = new Map<string, number>();
    for (const log of logs) counts.set(log.args.requestId, (counts.get(log.args.requestId) ?? 0) + 1);
    for (const id of ids) expect(counts.get(id)).toBe(1);
    const txs = new Set(logs.map((l) => l.transactionHash));
    expect(txs.size).toBe(1);
    const hash = [...txs][0]!;
    expect((await client.getTransactionReceipt({ hash })).status).toBe('success');
    const tx = await client.getTransaction({ hash });
    const call = decodeFunctionData({ abi: phalaBridgeGatewayAbi, data: tx.input });
    expect(call.functionName).toBe('fulfillBatch');
    // The stage is recorded once the transaction is sent, which can be after it is mined (automine).
    const submitted = await waitFor(
      async () =>
        (await daemon.journeys.entries(requestJobId(f.origin, ids[0]!))).find((e) => e.stage === 'submitted'),
      10_000,
      'the submitted stage',
    );
    expect(submitted.detail).toBe('1 batch(es), 6 items');

    for (const [i, requestId] of ids.entries()) {
      const outputs = await getFulfillmentOutputs(client, { gateway: f.devnet.gateway, requestId });
      expect(Buffer.from(outputs!.publicOutput.slice(2), 'hex').toString()).toBe(texts[i]!.toUpperCase());
      const sealed = openOutput({
        sealedOutput: outputs!.sealedOutput,
        responseSecretKey: toHex(f.responseKey.secretKey),
        requestId,
      });
      expect(Buffer.from(sealed).toString()).toBe(`secret:${texts[i]}`);
    }
  });

  it('answers a lone request alone, without holding it back', async () => {
    const from = (await f.devnet.clients.publicClient.getBlockNumber()) + 1n;
    const before = await f.received();
    const requestId = await f.request('alone');
    const started = Date.now();
    await waitFor(async () => (await f.received()) === before + 1n, 30_000, 'the lone callback');
    expect(Date.now() - started).toBeLessThan(10_000);
    const logs = await fulfilledLogs(from);
    expect(logs.map((l) => l.args.requestId)).toEqual([requestId]);
    const journey = await daemon.journeys.entries(requestJobId(f.origin, requestId));
    expect(journey.find((e) => e.stage === 'submitted')).toBeDefined();
    // It went as one job of its own: a lone EVM result is signed as a batch of one (so it may share
    // a transaction with other workers' batches), published without waiting for company.
    const jobs = await daemon.queues.results.getJobs(['completed', 'active', 'waiting']);
    const mine = jobs.filter((j) =>
      Boolean(j && (j.data as ResultBatchJob).results?.some((r) => r.requestId === requestId)),
    );
    expect(mine).toHaveLength(1);
    expect((mine[0]!.data as ResultBatchJob).results).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFulfillmentOutputs } from '../../src/evm/gateway/outputs.js';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { requestJobId } from '../../src/protocol/origin.js';
import type { RelayerDaemon } from '../../src/relayer/daemon.js';
import { openOutput } from '../../src/sdk/seal.js';
import { toHex } from '../../src/base/bytes.js';
import { type EvmRelayFixture, startEvmRelayFixture, waitFor } from '../helpers/evm-relay.js';

let f: EvmRelayFixture;
let daemon: RelayerDaemon;
let worker: ReturnType<EvmRelayFixture['startTestWorker']>;

beforeAll(async () => {
  f = await startEvmRelayFixture();
  daemon = f.startRelayer();
  await daemon.start();
  worker = f.startTestWorker();
});

afterAll(async () => {
  await worker?.close();
  await daemon?.stop();
  await f?.close();
});

describe('relayer, EVM origin (real Hardhat node, real Redis, real enclave)', () => {
  it('takes requests from the gateway to a worker and back, each fulfilled once, with its journey', async () => {
    const texts = Array.from({ length: 6 }, (_, i) => `hello ${i}`);
    const ids: `0x${string}`[] = [];
    for (const text of texts) ids.push(await f.request(text));
    await waitFor(async () => (await f.received()) === BigInt(texts.length), 60_000, 'all callbacks');
    for (const [i, requestId] of ids.entries()) {
      expect(
        await isRequestPending(f.devnet.clients.publicClient, { gateway: f.devnet.gateway, requestId }),
      ).toBe(false);
      const outputs = await getFulfillmentOutputs(f.devnet.clients.publicClient, {
        gateway: f.devnet.gateway,
        requestId,
      });
      expect(Buffer.from(outputs!.publicOutput.slice(2), 'hex').toString()).toBe(texts[i]!.toUpperCase());
      const sealed = openOutput({
        sealedOutput: outputs!.sealedOutput,
        responseSecretKey: toHex(f.responseKey.secretKey),
        requestId,
      });
      expect(Buffer.from(sealed).toString()).toBe(`secret:${texts[i]}`);
      const jobId = requestJobId(f.origin, requestId);
      const journey = await waitFor(
        async () => {
          const entries = await daemon.journeys.entries(jobId);
          return entries.some((e) => e.stage === 'confirmed') ? entries : null;
        },
        20_000,
        'confirmed journey',
      );
      const stages = journey.map((e) => e.stage);
      // 'dispatched' too for the first request, whose queue is new (daemon.ts reads its events from that job on).
      for (const stage of ['observed', 'queued', 'dispatched', 'result', 'submitted', 'confirmed'])
        expect(stages).toContain(stage);
      expect(stages.indexOf('observed')).toBeLessThan(stages.indexOf('confirmed'));
      expect(journey.find((e) => e.stage === 'confirmed')!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    }
    expect(await f.received()).toBe(BigInt(texts.length));
  });

  it('serves the admin API and metrics', async () => {
    const list = (await (await fetch(`${daemon.urls.admin}/jobs?state=confirmed`)).json()) as {
      jobId: string;
    }[];
    expect(list.length).toBeGreaterThanOrEqual(6);
    const one = (await (await fetch(`${daemon.urls.admin}/jobs/${list[0]!.jobId}`)).json()) as {
      journey: unknown[];
      queues: unknown[];
    };
    expect(one.journey.length).toBeGreaterThanOrEqual(5);
    expect((await fetch(`${daemon.urls.admin}/jobs/nope`)).status).toBe(404);
    const metrics = await (await fetch(`${daemon.urls.metrics}/metrics`)).text();
    expect(metrics).toMatch(/phala_bridge_requests_completed_total\{origin="evm",outcome="fulfilled"\} 6/);
    expect(metrics).toContain('phala_bridge_queue_depth');
    const ready = await fetch(`${daemon.urls.metrics}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('sends a worker-signed batch as one transaction', async () => {
    await worker.close();
    worker = f.startTestWorker({ concurrency: 8, batch: { size: 8, windowMs: 3_000 } });
    const before = await f.received();
    const ids: `0x${string}`[] = [];
    for (let i = 0; i < 8; i++) ids.push(await f.request(`batched ${i}`));
    await waitFor(async () => (await f.received()) === before + 8n, 60_000, 'batched callbacks');
    const txs = new Set<string>();
    for (const requestId of ids) {
      const journey = await waitFor(
        async () => {
          const entries = await daemon.journeys.entries(requestJobId(f.origin, requestId));
          return entries.some((e) => e.stage === 'confirmed') ? entries : null;
        },
        20_000,
        'confirmed journey',
      );
      txs.add(journey.find((e) => e.stage === 'confirmed')!.txHash!);
      expect(journey.find((e) => e.stage === 'submitted')!.detail).toBe('1 batch(es), 8 items');
    }
    expect(txs.size).toBe(1);
    const receipt = await f.devnet.clients.publicClient.getTransactionReceipt({
      hash: [...txs][0] as `0x${string}`,
    });
    expect(receipt.status).toBe('success');
    expect(receipt.gasUsed / 8n).toBeLessThan(40_000n);
  });
});

import { encodeFunctionData, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { encodeFulfillBatch } from '../../src/evm/gateway/fulfill.js';
import { signFulfillmentBatch } from '../../src/evm/sign.js';
import { gatewayLogs } from '../../src/evm/submitter/submit-fulfillment.js';
import type { FulfillmentInput } from '../../src/evm/types.js';
import { type GatewayFixture, TestMode, gatewayErrorOf, gatewayFixture } from './fixture.js';

// Issue 13, item 5: the order of a batch's callbacks is the worker's, not the relayer's.
describe('fulfillBatch order', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await gatewayFixture();
    await f.setMode(TestMode.Store);
  }, 60_000);
  afterAll(() => f?.stop());

  const domain = () => f.dev.domain;
  const batchOf = async (n: number): Promise<FulfillmentInput[]> => {
    const items: FulfillmentInput[] = [];
    for (let i = 0; i < n; i++) items.push(f.outputs(await f.request()));
    return items;
  };

  const itemArg = (item: FulfillmentInput, index: number) => ({ ...item, index });
  const stillPending = async (items: FulfillmentInput[]) => {
    for (const item of items) {
      const commitment = await f.clients.publicClient.readContract({
        address: f.dev.gateway,
        abi: phalaBridgeGatewayAbi,
        functionName: 'commitmentOf',
        args: [item.request.requestId],
      });
      expect(commitment).not.toBe(`0x${'0'.repeat(64)}`);
    }
  };

  it('refuses signed items moved with their indices (MalformedBatch), whole, before any callback', async () => {
    const items = await batchOf(3);
    const { signature } = signFulfillmentBatch(domain(), items, f.worker.secretKey);
    // The relayer swaps the first two items, each keeping the index it was signed at.
    const moved = [itemArg(items[1]!, 1), itemArg(items[0]!, 0), itemArg(items[2]!, 2)];
    const { publicClient, walletClient } = f.clients;
    const data = encodeFunctionData({
      abi: phalaBridgeGatewayAbi,
      functionName: 'fulfillBatch',
      args: [moved, signature],
    });
    const call = publicClient.call({ account: walletClient.account, to: f.dev.gateway, data });
    expect(await gatewayErrorOf(call)).toBe('MalformedBatch');
    await stillPending(items);
  });

  it('delivers nothing of signed items moved and renumbered (the leaves, so the signer, change)', async () => {
    const items = await batchOf(3);
    const { signature } = signFulfillmentBatch(domain(), items, f.worker.secretKey);
    const reordered = [items[1]!, items[0]!, items[2]!];
    const receipt = await f.send(
      f.dev.gateway,
      encodeFulfillBatch({ items: reordered, signature }),
      5_000_000n,
    );
    const logs = gatewayLogs(receipt, f.dev.gateway);
    expect(parseEventLogs({ abi: phalaBridgeGatewayAbi, logs, eventName: 'RequestFulfilled' })).toEqual([]);
    const skipped = parseEventLogs({ abi: phalaBridgeGatewayAbi, logs, eventName: 'FulfillmentSkipped' });
    expect(skipped.map((e) => e.args.reason)).toEqual([5, 5, 5]); // WorkerNotAuthorized
    await stillPending(items);
  });

  it('delivers the honest order, callbacks in signed order', async () => {
    const items = await batchOf(4);
    const { signature } = signFulfillmentBatch(domain(), items, f.worker.secretKey);
    const receipt = await f.send(f.dev.gateway, encodeFulfillBatch({ items, signature }), 5_000_000n);
    const fulfilled = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: gatewayLogs(receipt, f.dev.gateway),
      eventName: 'RequestFulfilled',
    });
    expect(fulfilled.map((e) => e.args.requestId)).toEqual(items.map((i) => i.request.requestId));
    expect(fulfilled.every((e) => e.args.result === 0)).toBe(true);
  });

  it('reports fulfillBatch gas for 1/2/4/8 items', async () => {
    await f.setMode(TestMode.Noop);
    const gas: Record<number, bigint> = {};
    for (const n of [1, 2, 4, 8]) {
      const items = await batchOf(n);
      const { signature } = signFulfillmentBatch(domain(), items, f.worker.secretKey);
      const receipt = await f.send(f.dev.gateway, encodeFulfillBatch({ items, signature }), 8_000_000n);
      gas[n] = receipt.gasUsed;
    }
    console.log('fulfillBatch gasUsed (Noop callbacks):', gas);
    expect(gas[8]! < gas[1]! * 8n).toBe(true);
  }, 60_000);
});

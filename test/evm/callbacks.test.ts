import { type Hex, decodeErrorResult, encodeFunctionData, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerContractOnGateway } from '../../src/devnet/evm/deploy.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/TestConsumer.js';
import { decodeGatewayLog } from '../../src/evm/gateway/events.js';
import { encodeFulfill, encodeFulfillBatch } from '../../src/evm/gateway/fulfill.js';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { signFulfillment, signFulfillmentBatch } from '../../src/evm/sign.js';
import { gatewayLogs } from '../../src/evm/submitter/submit-fulfillment.js';
import { type FulfillResult, type FulfillmentInput, fulfillResultName } from '../../src/evm/types.js';
import { type GatewayFixture, TestMode, gatewayErrorOf, gatewayFixture, rand32 } from './fixture.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await gatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

async function fulfill(input: FulfillmentInput, gas?: bigint) {
  const signature = signFulfillment(f.dev.domain, input, f.worker.secretKey);
  return f.send(f.dev.gateway, encodeFulfill({ fulfillment: input, signature }), gas);
}

function events(receipt: Awaited<ReturnType<GatewayFixture['send']>>) {
  return parseEventLogs({ abi: phalaBridgeGatewayAbi, logs: gatewayLogs(receipt, f.dev.gateway) });
}

const received = () =>
  f.clients.publicClient.readContract({
    address: f.consumer,
    abi: testConsumerAbi,
    functionName: 'received',
  });

describe('callbacks never undo a fulfillment', () => {
  it('gives the callback exactly the gas the requester asked for', async () => {
    await f.setMode(TestMode.Store);
    const limit = 120_000;
    const input = f.outputs(await f.request({ callbackGasLimit: limit }));
    await fulfill(input, 1_000_000n);
    const gasAtEntry = await f.clients.publicClient.readContract({
      address: f.consumer,
      abi: testConsumerAbi,
      functionName: 'gasAtEntry',
    });
    // What is left at the callback's first line: the limit less dispatch and ABI decoding.
    expect(gasAtEntry).toBeLessThan(BigInt(limit));
    expect(gasAtEntry).toBeGreaterThan(BigInt(limit - 1_500));
  });

  it('reverts (leaving the request pending) when the relayer gives too little gas for the callback', async () => {
    await f.setMode(TestMode.Store);
    const input = f.outputs(await f.request({ callbackGasLimit: 500_000 }));
    const signature = signFulfillment(f.dev.domain, input, f.worker.secretKey);
    const call = f.clients.publicClient.call({
      account: f.clients.walletClient.account,
      to: f.dev.gateway,
      data: encodeFulfill({ fulfillment: input, signature }),
      gas: 400_000n,
    });
    expect(await gatewayErrorOf(call)).toBe('InsufficientGasForCallback');
    expect(
      await isRequestPending(f.clients.publicClient, {
        gateway: f.dev.gateway,
        requestId: input.request.requestId,
      }),
    ).toBe(true);
  });

  it('records a reverting callback as CallbackFailed with its revert reason', async () => {
    await f.setMode(TestMode.Revert);
    const input = f.outputs(await f.request());
    const receipt = await fulfill(input);
    const logs = events(receipt);
    const failed = logs.find((e) => e.eventName === 'CallbackFailed');
    const fulfilled = logs.find((e) => e.eventName === 'RequestFulfilled');
    expect(fulfilled?.args).toMatchObject({ requestId: input.request.requestId, result: 1 });
    const reason = decodeErrorResult({
      abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }],
      data: (failed!.args as { returnData: Hex }).returnData,
    });
    expect(reason.args).toEqual(['consumer says no']);
    expect(
      gatewayLogs(receipt, f.dev.gateway).map((l) => decodeGatewayLog(l, f.dev.node.chainId)?.kind),
    ).toEqual(['CallbackFailed', 'RequestFulfilled']);
    expect(
      await isRequestPending(f.clients.publicClient, {
        gateway: f.dev.gateway,
        requestId: input.request.requestId,
      }),
    ).toBe(false);
  });

  it('survives a callback that loops until its gas runs out', async () => {
    await f.setMode(TestMode.Loop);
    const limit = 300_000;
    const input = f.outputs(await f.request({ callbackGasLimit: limit }));
    const receipt = await fulfill(input, 2_000_000n);
    expect(events(receipt).find((e) => e.eventName === 'RequestFulfilled')?.args).toMatchObject({
      result: 1,
    });
    // The loop burnt its own limit, not the transaction's.
    expect(receipt.gasUsed).toBeGreaterThan(BigInt(limit));
    expect(receipt.gasUsed).toBeLessThan(BigInt(limit + 80_000));
  });

  it('does not pay for a callback that returns huge data', async () => {
    await f.setMode(TestMode.ReturnBomb);
    const input = f.outputs(await f.request());
    const receipt = await fulfill(input);
    expect(events(receipt).find((e) => e.eventName === 'RequestFulfilled')?.args).toMatchObject({
      result: 0,
    });
    expect(receipt.gasUsed).toBeLessThan(200_000n);
  });

  it('caps the revert data of a callback that reverts with huge data', async () => {
    await f.setMode(TestMode.RevertBomb);
    const input = f.outputs(await f.request());
    const receipt = await fulfill(input);
    const failed = events(receipt).find((e) => e.eventName === 'CallbackFailed');
    expect(((failed!.args as { returnData: Hex }).returnData.length - 2) / 2).toBe(256);
    expect(receipt.gasUsed).toBeLessThan(200_000n);
  });

  it('has already consumed the request when the callback runs (re-entry finds nothing)', async () => {
    await f.setMode(TestMode.Reenter);
    const input = f.outputs(await f.request());
    await fulfill(input);
    const reentryFailed = await f.clients.publicClient.readContract({
      address: f.consumer,
      abi: testConsumerAbi,
      functionName: 'reentryFailed',
    });
    expect(reentryFailed).toBe(true);
  });
});

describe('fulfillBatch', () => {
  async function sendBatch(items: FulfillmentInput[], signer = f.worker.secretKey) {
    const { signature } = signFulfillmentBatch(f.dev.domain, items, signer);
    const data = encodeFulfillBatch({ items, signature });
    const simulated = await f.clients.publicClient.simulateContract({
      account: f.clients.walletClient.account,
      address: f.dev.gateway,
      abi: phalaBridgeGatewayAbi,
      functionName: 'fulfillBatch',
      args: [items.map((i, index) => ({ ...i, request: { ...i.request }, index })), signature],
    });
    const receipt = await f.send(f.dev.gateway, data, 5_000_000n);
    return { receipt, simulated: simulated.result.map((c) => fulfillResultName(c)) };
  }

  it('lands the good items and skips each bad one with its own result code', async () => {
    await f.setMode(TestMode.Store);
    const receivedBefore = await received();
    // A second contract in a cluster our worker does not serve.
    const foreignContract = rand32();
    await registerContractOnGateway(f.clients, {
      gateway: f.dev.gateway,
      registration: { contractId: foreignContract, cluster: rand32(), publicKey: rand32(), epoch: 0n },
      gatekeeperKeys: f.gatekeeperKeys,
    });
    const good1 = f.outputs(await f.request());
    const answered = f.outputs(await f.request());
    await fulfill(answered);
    const mismatch = f.outputs({ ...(await f.request()), callbackGasLimit: 1 });
    const expiring = f.outputs(await f.request({ deadline: (await f.now()) + 30n }));
    const foreign = f.outputs(await f.request({ contractId: foreignContract }));
    const good2 = f.outputs(await f.request());
    await f.increaseTime(60);
    const items = [good1, answered, mismatch, expiring, foreign, good2, good1];
    const { receipt, simulated } = await sendBatch(items);
    const expected: FulfillResult[] = [
      'Delivered',
      'NotPending',
      'CommitmentMismatch',
      'Expired',
      'WorkerNotAuthorized',
      'Delivered',
      'NotPending',
    ];
    expect(simulated).toEqual(expected);
    const logs = events(receipt);
    const byRequest = logs
      .filter((e) => e.eventName === 'RequestFulfilled' || e.eventName === 'FulfillmentSkipped')
      .map((e) => {
        const a = e.args as { requestId: Hex; result?: number; reason?: number };
        return [a.requestId, fulfillResultName(a.result ?? a.reason ?? -1)] as const;
      });
    expect(byRequest).toEqual(items.map((item, i) => [item.request.requestId, expected[i]]));
    // The watcher's decoder reads the same events, each with its own id.
    const decoded = gatewayLogs(receipt, f.dev.gateway).map((l) => decodeGatewayLog(l, f.dev.node.chainId)!);
    expect(
      decoded.map((e) =>
        e.kind === 'RequestFulfilled' ? e.result : e.kind === 'FulfillmentSkipped' ? e.reason : e.kind,
      ),
    ).toEqual(expected);
    expect(new Set(decoded.map((e) => e.id)).size).toBe(decoded.length);
    expect(await received()).toBe(receivedBefore + 3n); // `answered` earlier, good1 and good2 now
    for (const [item, pending] of [
      [good1, false],
      [good2, false],
      [mismatch, true],
      [expiring, true],
      [foreign, true],
    ] as const) {
      expect(
        await isRequestPending(f.clients.publicClient, {
          gateway: f.dev.gateway,
          requestId: item.request.requestId,
        }),
      ).toBe(pending);
    }
  });

  it('records a failing callback inside a batch and delivers the rest', async () => {
    const a = f.outputs(await f.request());
    const b = f.outputs(await f.request());
    await f.setMode(TestMode.Revert);
    const { simulated } = await sendBatch([a, b]);
    expect(simulated).toEqual(['CallbackFailed', 'CallbackFailed']);
    await f.setMode(TestMode.Store);
  });

  it('skips every item when the signature does not cover the items sent', async () => {
    await f.setMode(TestMode.Store);
    const a = f.outputs(await f.request());
    const b = f.outputs(await f.request());
    const { signature } = signFulfillmentBatch(f.dev.domain, [a, b], f.worker.secretKey);
    const tampered = [a, { ...b, publicOutput: '0x01' as Hex }];
    const result = await f.clients.publicClient.simulateContract({
      account: f.clients.walletClient.account,
      address: f.dev.gateway,
      abi: phalaBridgeGatewayAbi,
      functionName: 'fulfillBatch',
      args: [tampered.map((item, index) => ({ ...item, index })), signature],
    });
    expect(result.result.map((c) => fulfillResultName(c))).toEqual([
      'WorkerNotAuthorized',
      'WorkerNotAuthorized',
    ]);
    // Dropping an item changes the root and the count.
    const subset = await f.clients.publicClient.simulateContract({
      account: f.clients.walletClient.account,
      address: f.dev.gateway,
      abi: phalaBridgeGatewayAbi,
      functionName: 'fulfillBatch',
      args: [[{ ...a, index: 0 }], signature],
    });
    expect(subset.result.map((c) => fulfillResultName(c))).toEqual(['WorkerNotAuthorized']);
  });

  it('refuses an empty batch and a batch whose offsets leave the calldata', async () => {
    const a = f.outputs(await f.request());
    const { signature } = signFulfillmentBatch(f.dev.domain, [a], f.worker.secretKey);
    const call = (data: Hex) =>
      f.clients.publicClient.call({ account: f.clients.walletClient.account, to: f.dev.gateway, data });
    const empty = encodeFunctionData({
      abi: phalaBridgeGatewayAbi,
      functionName: 'fulfillBatch',
      args: [[], signature],
    });
    expect(await gatewayErrorOf(call(empty))).toBe('EmptyBatch');
    const data = encodeFulfillBatch({ items: [a], signature });
    // Layout: selector, items offset, signature offset, items length, items[0] offset, ...
    const words = data.slice(10).match(/.{64}/g)!;
    words[3] = 'ff'.padStart(64, 'f');
    expect(await gatewayErrorOf(call(`0x${data.slice(2, 10)}${words.join('')}`))).toBe('MalformedBatch');
  });
});

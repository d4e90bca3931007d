import { Redis } from 'ioredis';
import { type Hex, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGatewayError } from '../../src/evm/gateway/decode-error.js';
import { encodeFulfill, encodeFulfillBatch, encodeFulfillBatches } from '../../src/evm/gateway/fulfill.js';
import { fulfillmentGasBound } from '../../src/evm/gateway/fulfillment-gas.js';
import { fulfillmentOutcomes } from '../../src/evm/gateway/fulfillment-outcomes.js';
import { signFulfillment } from '../../src/evm/sign.js';
import { EvmSubmitter } from '../../src/evm/submitter/submitter.js';
import type { FulfillmentInput } from '../../src/evm/types.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import {
  type GatewayFixture,
  TestMode,
  type Worker,
  fourWorkers,
  gatewayFixture,
  makeWorker,
  signedBatch,
  randBytes,
} from './fixture.js';

// Issue 15: the relayer prices a fulfillment from its shape and proves the price with one
// eth_call, instead of the node's binary search (eth_estimateGas). The bound must always be
// enough (a transaction sent with it lands, callbacks given all their gas), and not far above
// what the node itself estimates.
describe('fulfillmentGasBound on a real gateway (Hardhat)', () => {
  let f: GatewayFixture;
  let workers: Worker[];
  let redis: Redis;
  let submitter: EvmSubmitter;
  const prefix = uniquePrefix('fulfillment-gas');

  beforeAll(async () => {
    f = await gatewayFixture();
    workers = await fourWorkers(f);
    redis = new Redis(REDIS_URL);
    submitter = new EvmSubmitter({
      client: f.clients.publicClient,
      chainId: f.dev.node.chainId,
      account: privateKeyToAccount(f.dev.node.accounts[5]!.privateKey),
      redis,
      keyPrefix: prefix,
      fees: { maxFeePerGasCap: parseGwei('100') },
      pollIntervalMs: 20,
    });
  }, 120_000);
  afterAll(async () => {
    await f?.stop();
    await redis?.quit();
  });

  const items = async (
    n: number,
    opts: { callbackGasLimit?: number; outputBytes?: number } = {},
  ): Promise<FulfillmentInput[]> => {
    const out: FulfillmentInput[] = [];
    for (let i = 0; i < n; i++) {
      const request = await f.request({ callbackGasLimit: opts.callbackGasLimit ?? 200_000 });
      const base = f.outputs(request);
      out.push(
        opts.outputBytes
          ? { ...base, publicOutput: randBytes(opts.outputBytes), sealedOutput: randBytes(opts.outputBytes) }
          : base,
      );
    }
    return out;
  };
  const signed = (batch: FulfillmentInput[], w: Worker) => signedBatch(f, batch, w);
  const estimate = (data: Hex) =>
    f.clients.publicClient.estimateGas({ account: f.clients.walletClient.account, to: f.dev.gateway, data });

  /**
   * Bound vs the node's estimate, then the transaction sent with exactly the bound. `ratio` leaves
   * out the callbacks' own gas, which the bound counts in full whatever the callbacks use.
   */
  const check = async (batches: FulfillmentInput[][], data: Hex, expected: string) => {
    const bound = fulfillmentGasBound({ batches: batches.map((b) => ({ items: b })), data });
    const node = await estimate(data);
    expect(bound).toBeGreaterThanOrEqual(node);
    const receipt = await f.send(f.dev.gateway, data, bound);
    const outcomes = fulfillmentOutcomes(receipt, f.dev.gateway);
    expect([...outcomes.values()]).toEqual(Array(batches.flat().length).fill(expected));
    const callbacks = batches
      .flat()
      .reduce((sum, i) => sum + (BigInt(i.request.callbackGasLimit) * 64n) / 63n, 0n);
    return { bound, node, ratio: Number(bound - callbacks) / Number(node) };
  };

  it('one signed answer (fulfill), its callback storing: enough, and beyond the callback’s gas within 2× the estimate', async () => {
    await f.setMode(TestMode.Store);
    const [item] = await items(1);
    const data = encodeFulfill({
      fulfillment: item!,
      signature: signFulfillment(f.dev.domain, item!, f.worker.secretKey),
    });
    const { ratio } = await check([[item!]], data, 'Delivered');
    expect(ratio).toBeLessThan(2);
  });

  it('a batch of 32 with storing callbacks: enough, and beyond the callbacks’ gas within 2× the estimate', async () => {
    await f.setMode(TestMode.Store);
    const batch = await items(32);
    const { ratio } = await check([batch], encodeFulfillBatch(signed(batch, f.worker)), 'Delivered');
    expect(ratio).toBeLessThan(2);
  });

  /**
   * Callbacks burning all their gas (Loop mode): CallbackFailed proves each was given its whole
   * `callbackGasLimit` (the gateway reverts the whole call rather than give less). The node's
   * estimate is left out: its binary search re-runs every loop, seconds on Hardhat.
   */
  const burning = async (batches: FulfillmentInput[][], data: Hex) => {
    const bound = fulfillmentGasBound({ batches: batches.map((b) => ({ items: b })), data });
    const receipt = await f.send(f.dev.gateway, data, bound);
    const outcomes = fulfillmentOutcomes(receipt, f.dev.gateway);
    expect([...outcomes.values()]).toEqual(Array(batches.flat().length).fill('CallbackFailed'));
    return Number(bound) / Number(receipt.gasUsed);
  };

  it('four workers’ batches of four, callbacks burning all their gas: each gets it all, the bound within 1.5× the gas used', async () => {
    await f.setMode(TestMode.Loop);
    const batches = [await items(4), await items(4), await items(4), await items(4)];
    const data = encodeFulfillBatches({ batches: batches.map((b, w) => signed(b, workers[w]!)) });
    expect(await burning(batches, data)).toBeLessThan(1.5);
  }, 60_000);

  it('callbacks at the gateway’s cap (2.5M gas each) burning it all', async () => {
    await f.setMode(TestMode.Loop);
    const batch = await items(3, { callbackGasLimit: 2_500_000 });
    expect(await burning([batch], encodeFulfillBatch(signed(batch, f.worker)))).toBeLessThan(1.5);
  }, 60_000);

  it('large outputs (2 × 12 KiB an item) and no callback gas', async () => {
    await f.setMode(TestMode.Noop);
    const batch = await items(4, { callbackGasLimit: 0, outputBytes: 12_288 });
    const { ratio } = await check([batch], encodeFulfillBatch(signed(batch, f.worker)), 'CallbackFailed');
    expect(ratio).toBeLessThan(2);
  });

  it('EvmSubmitter.gasWithin: the bound when one call at it goes through (or unsimulated), the estimate when it is too low or above the block limit, the revert otherwise', async () => {
    await f.setMode(TestMode.Store);
    const batch = await items(4);
    const data = encodeFulfillBatch(signed(batch, f.worker));
    const bound = fulfillmentGasBound({ batches: [{ items: batch }], data });
    expect(await submitter.gasWithin({ to: f.dev.gateway, data }, bound)).toBe(bound);
    // Too low: the node's estimate (× the submitter's 1.25) instead.
    const low = await submitter.gasWithin({ to: f.dev.gateway, data }, 60_000n);
    expect(low).toBeGreaterThan(60_000n);
    expect(low).toBe(((await estimate(data)) * 1250n) / 1000n);
    // A call the gateway refuses outright: one answer signed by a worker it does not know.
    const stranger = makeWorker();
    const refused = encodeFulfill({
      fulfillment: batch[0]!,
      signature: signFulfillment(f.dev.domain, batch[0]!, stranger.secretKey),
    });
    const error = await submitter
      .gasWithin({ to: f.dev.gateway, data: refused }, bound)
      .catch((e: unknown) => e);
    expect(decodeGatewayError(error)?.name).toBe('WorkerNotAuthorized');
    // Not simulated: the bound as it is, even one too low (the caller's word).
    expect(await submitter.gasWithin({ to: f.dev.gateway, data }, 60_000n, { simulate: false })).toBe(
      60_000n,
    );
    // Above the block's gas limit a node would refuse the transaction: the estimate instead.
    const { gasLimit } = await f.clients.publicClient.getBlock();
    expect(await submitter.gasWithin({ to: f.dev.gateway, data }, gasLimit + 1n)).toBe(low);
    expect(await submitter.gasWithin({ to: f.dev.gateway, data }, gasLimit + 1n, { simulate: false })).toBe(
      low,
    );
  });
});

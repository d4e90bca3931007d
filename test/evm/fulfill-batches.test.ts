import {
  type Address,
  type Hex,
  type Log,
  encodeAbiParameters,
  encodeEventTopics,
  encodeFunctionData,
  parseEventLogs,
  zeroAddress,
} from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/base/errors.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/TestConsumer.js';
import { type WorkerBatchInput, encodeFulfill, encodeFulfillBatches } from '../../src/evm/gateway/fulfill.js';
import { fulfillmentOutcomes } from '../../src/evm/gateway/fulfillment-outcomes.js';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { signFulfillment } from '../../src/evm/sign.js';
import type { FulfillmentInput } from '../../src/evm/types.js';
import {
  type GatewayFixture,
  TestMode,
  type Worker,
  gatewayErrorOf,
  fourWorkers,
  gatewayFixture,
  makeWorker,
  signedBatch,
  rand32,
  randBytes,
} from './fixture.js';

// Issue 15: several workers' signed batches in one transaction, each checked against its own signer.
describe('fulfillBatches', () => {
  let f: GatewayFixture;
  /** Four workers registered for the fixture's cluster (the fixture's own first). */
  let workers: Worker[];
  beforeAll(async () => {
    f = await gatewayFixture();
    await f.setMode(TestMode.Store);
    workers = await fourWorkers(f);
  }, 120_000);
  afterAll(() => f?.stop());

  const requests = async (n: number): Promise<FulfillmentInput[]> => {
    const items: FulfillmentInput[] = [];
    for (let i = 0; i < n; i++) items.push(f.outputs(await f.request()));
    return items;
  };
  const signed = (items: FulfillmentInput[], worker: Worker) => signedBatch(f, items, worker);
  const received = () =>
    f.clients.publicClient.readContract({
      address: f.consumer,
      abi: testConsumerAbi,
      functionName: 'received',
    });
  const pending = (item: FulfillmentInput) =>
    isRequestPending(f.clients.publicClient, { gateway: f.dev.gateway, requestId: item.request.requestId });
  /** Sends the batches and returns the outcome per request id and the gateway's events. */
  const land = async (batches: WorkerBatchInput[]) => {
    const receipt = await f.send(f.dev.gateway, encodeFulfillBatches({ batches }), 15_000_000n);
    const events = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: ['RequestFulfilled', 'FulfillmentSkipped'],
    });
    return { receipt, outcomes: fulfillmentOutcomes(receipt, f.dev.gateway), events };
  };
  const outcomeOf = (outcomes: Map<Hex, string>, items: FulfillmentInput[]) =>
    items.map((item) => outcomes.get(item.request.requestId));

  it('delivers two workers’ batches in one transaction, each item as its own worker’s', async () => {
    const [a, b] = [await requests(2), await requests(3)];
    const before = await received();
    const { outcomes, events } = await land([signed(a, workers[0]!), signed(b, workers[1]!)]);
    expect(outcomeOf(outcomes, [...a, ...b])).toEqual(Array(5).fill('Delivered'));
    expect(await received()).toBe(before + 5n);
    // Each RequestFulfilled names the worker that signed its batch, in batch then item order.
    expect(events.map((e) => [e.eventName, e.args.requestId, e.args.worker])).toEqual([
      ...a.map((i) => ['RequestFulfilled', i.request.requestId, workers[0]!.address]),
      ...b.map((i) => ['RequestFulfilled', i.request.requestId, workers[1]!.address]),
    ]);
    for (const item of [...a, ...b]) expect(await pending(item)).toBe(false);
  });

  it('delivers four workers’ batches of four items (16 requests) in one transaction', async () => {
    const batches: FulfillmentInput[][] = [];
    for (let w = 0; w < 4; w++) batches.push(await requests(4));
    const before = await received();
    const { outcomes } = await land(batches.map((items, w) => signed(items, workers[w]!)));
    expect(outcomes.size).toBe(16);
    expect(outcomeOf(outcomes, batches.flat())).toEqual(Array(16).fill('Delivered'));
    expect(await received()).toBe(before + 16n);
  });

  it('skips only the items of a batch with a bad signature (WorkerNotAuthorized); the other batches land', async () => {
    const [good1, garbage, wrongItems, good2] = [
      await requests(2),
      await requests(2),
      await requests(2),
      await requests(1),
    ];
    // 65 bytes that recover no signer (v is neither 27 nor 28), and a real worker's signature over other items.
    const unrecoverable = `${randBytes(64)}05` as Hex;
    const otherItems = signed(await requests(2), workers[1]!).signature;
    const batches = [
      signed(good1, workers[0]!),
      { items: garbage, signature: unrecoverable },
      { items: wrongItems, signature: otherItems },
      signed(good2, workers[2]!),
    ];
    // Simulated first: the results come back per batch, per item (codes: 0 Delivered, 5 WorkerNotAuthorized).
    const { result } = await f.clients.publicClient.simulateContract({
      account: f.clients.walletClient.account,
      address: f.dev.gateway,
      abi: phalaBridgeGatewayAbi,
      functionName: 'fulfillBatches',
      args: [
        batches.map((b) => ({
          items: b.items.map((item, index) => ({ ...item, index })),
          signature: b.signature,
        })),
      ],
    });
    expect(result).toEqual([[0, 0], [5, 5], [5, 5], [0]]);
    const before = await received();
    const { outcomes, events } = await land(batches);
    expect(outcomeOf(outcomes, [...good1, ...good2])).toEqual(Array(3).fill('Delivered'));
    expect(outcomeOf(outcomes, [...garbage, ...wrongItems])).toEqual(Array(4).fill('WorkerNotAuthorized'));
    expect(await received()).toBe(before + 3n);
    // No signer recovered: the skip names the zero address.
    const skipped = events.filter((e) => e.eventName === 'FulfillmentSkipped');
    expect(skipped.slice(0, 2).map((e) => e.args.worker)).toEqual([zeroAddress, zeroAddress]);
    expect(skipped.slice(2).map((e) => e.args.worker)).not.toContain(workers[1]!.address);
    for (const item of [...garbage, ...wrongItems]) expect(await pending(item)).toBe(true);
  });

  it('skips the items of a worker not authorized for their cluster; the others land', async () => {
    const stranger = makeWorker();
    const otherCluster = makeWorker();
    await f.registerWorker(otherCluster, { cluster: rand32() });
    const [good, unregistered, elsewhere] = [await requests(2), await requests(2), await requests(1)];
    const { outcomes, events } = await land([
      signed(unregistered, stranger),
      signed(good, workers[3]!),
      signed(elsewhere, otherCluster),
    ]);
    expect(outcomeOf(outcomes, good)).toEqual(['Delivered', 'Delivered']);
    expect(outcomeOf(outcomes, [...unregistered, ...elsewhere])).toEqual(
      Array(3).fill('WorkerNotAuthorized'),
    );
    const skippedBy = events.filter((e) => e.eventName === 'FulfillmentSkipped').map((e) => e.args.worker);
    expect(skippedBy).toEqual([stranger.address, stranger.address, otherCluster.address]);
    for (const item of [...unregistered, ...elsewhere]) expect(await pending(item)).toBe(true);
  });

  it('delivers a request carried by two batches once (the later copy NotPending, the first code kept)', async () => {
    const [shared] = await requests(1);
    const [a, b] = [await requests(1), await requests(1)];
    const before = await received();
    const { outcomes, events } = await land([
      signed([a[0]!, shared!], workers[0]!),
      signed([shared!, b[0]!], workers[1]!),
    ]);
    expect(outcomeOf(outcomes, [a[0]!, shared!, b[0]!])).toEqual(['Delivered', 'Delivered', 'Delivered']);
    expect(await received()).toBe(before + 3n);
    const ofShared = events.filter((e) => e.args.requestId === shared!.request.requestId);
    expect(ofShared.map((e) => e.eventName)).toEqual(['RequestFulfilled', 'FulfillmentSkipped']);
    expect(ofShared[1]!.eventName === 'FulfillmentSkipped' && ofShared[1]!.args.reason).toBe(2); // NotPending
  });

  it('skips items already fulfilled (NotPending) and delivers the rest', async () => {
    const items = await requests(3);
    const done = items[1]!;
    await f.send(
      f.dev.gateway,
      encodeFulfill({
        fulfillment: done,
        signature: signFulfillment(f.dev.domain, done, workers[2]!.secretKey),
      }),
    );
    const more = await requests(2);
    const before = await received();
    const { outcomes } = await land([signed(items, workers[0]!), signed(more, workers[1]!)]);
    expect(outcomeOf(outcomes, items)).toEqual(['Delivered', 'NotPending', 'Delivered']);
    expect(outcomeOf(outcomes, more)).toEqual(['Delivered', 'Delivered']);
    expect(await received()).toBe(before + 4n);
  });

  it('refuses an empty call or an empty batch, in the encoder and on chain (EmptyBatch)', async () => {
    expect(() => encodeFulfillBatches({ batches: [] })).toThrow(InvalidInputError);
    expect(() => encodeFulfillBatches({ batches: [{ items: [], signature: randBytes(65) }] })).toThrow(
      InvalidInputError,
    );
    const [item] = await requests(1);
    const call = (batches: readonly WorkerBatchInput[]) =>
      f.clients.publicClient.call({
        account: f.clients.walletClient.account,
        to: f.dev.gateway,
        data: encodeFunctionData({
          abi: phalaBridgeGatewayAbi,
          functionName: 'fulfillBatches',
          args: [
            batches.map((b) => ({
              items: b.items.map((i, index) => ({ ...i, index })),
              signature: b.signature,
            })),
          ],
        }),
      });
    expect(await gatewayErrorOf(call([]))).toBe('EmptyBatch');
    expect(
      await gatewayErrorOf(call([signed([item!], workers[0]!), { items: [], signature: randBytes(65) }])),
    ).toBe('EmptyBatch');
    expect(await pending(item!)).toBe(true);
  });
});

describe('fulfillmentOutcomes', () => {
  const gateway: Address = '0x00000000000000000000000000000000000000aa';
  const consumer: Address = '0x00000000000000000000000000000000000000bb';
  const worker: Address = '0x00000000000000000000000000000000000000cc';
  const log = (
    address: Address,
    eventName: 'RequestFulfilled' | 'FulfillmentSkipped',
    requestId: Hex,
    code: number,
  ): Log<bigint, number, false> => ({
    address,
    topics: encodeEventTopics({ abi: phalaBridgeGatewayAbi, eventName, args: { requestId, worker } }) as [
      Hex,
      ...Hex[],
    ],
    data: encodeAbiParameters([{ type: 'uint8' }], [code]),
    blockHash: rand32(),
    blockNumber: 1n,
    logIndex: 0,
    transactionHash: rand32(),
    transactionIndex: 0,
    removed: false,
  });

  it('reads only the gateway’s own logs, first code per request id', () => {
    const [x, y] = [rand32(), rand32()];
    const outcomes = fulfillmentOutcomes(
      {
        logs: [
          // A callback's look-alike of a delivery, from the consumer's address: ignored.
          log(consumer, 'RequestFulfilled', y, 0),
          log(gateway, 'RequestFulfilled', x, 1),
          log(gateway, 'FulfillmentSkipped', x, 2),
          log(gateway, 'FulfillmentSkipped', y, 5),
        ],
      },
      gateway,
    );
    expect([...outcomes]).toEqual([
      [x, 'CallbackFailed'],
      [y, 'WorkerNotAuthorized'],
    ]);
  });
});

import { Redis } from 'ioredis';
import { type Hex, createPublicClient, http, parseEventLogs, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devnetClients } from '../../src/devnet/evm/clients.js';
import { registerContractOnGateway, registerWorkerOnGateway } from '../../src/devnet/evm/deploy.js';
import { type EvmDevnet, startEvmDevnet } from '../../src/devnet/evm/setup.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { GatewayRejectedError, SubmitterError } from '../../src/evm/errors.js';
import { encodeFulfill } from '../../src/evm/gateway/fulfill.js';
import { fulfillmentGasBound } from '../../src/evm/gateway/fulfillment-gas.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import { signFulfillment } from '../../src/evm/sign.js';
import { submitFulfillment, submitFulfillmentBatch } from '../../src/evm/submitter/submit-fulfillment.js';
import {
  EvmSubmitter,
  type EvmSubmitterOptions,
  type SubmitterEvent,
} from '../../src/evm/submitter/submitter.js';
import type { FulfillmentInput } from '../../src/evm/types.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import {
  type GatewayFixture,
  TestMode,
  gatewayFixture,
  makeWorker,
  rand32,
  randBytes,
  signedBatch,
} from './fixture.js';

let f: GatewayFixture;
let redis: Redis;
const prefix = uniquePrefix('evm-submitter');

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  f = await gatewayFixture();
});
afterAll(async () => {
  await f?.stop();
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

/** The node's account `index` as a submitter; `events` collects what it reports. */
function submitter(
  dev: EvmDevnet,
  index: number,
  over: Partial<EvmSubmitterOptions> = {},
  events: SubmitterEvent[] = [],
): EvmSubmitter {
  return new EvmSubmitter({
    client: dev.clients.publicClient,
    chainId: dev.node.chainId,
    account: privateKeyToAccount(dev.node.accounts[index]!.privateKey),
    redis,
    keyPrefix: prefix,
    fees: { maxFeePerGasCap: parseGwei('100') },
    pollIntervalMs: 20,
    onEvent: (e) => events.push(e),
    ...over,
  });
}

const transfer = (to: Hex) => ({ to: to as `0x${string}`, data: '0x' as Hex, value: 1n, gas: 21_000n });

describe('EvmSubmitter', () => {
  it('sends with EIP-1559 fees under the cap and keeps the next nonce in Redis', async () => {
    const s = submitter(f.dev, 3);
    const before = await f.clients.publicClient.getTransactionCount({ address: s.address });
    const { receipt, nonce } = await s.submit(transfer(f.dev.node.accounts[9]!.address));
    expect(receipt.status).toBe('success');
    expect(nonce).toBe(before);
    const tx = await f.clients.publicClient.getTransaction({ hash: receipt.transactionHash });
    expect(tx.type).toBe('eip1559');
    expect(tx.maxFeePerGas).toBeLessThanOrEqual(parseGwei('100'));
    expect(await s.nonces.peek()).toBe(before + 1);
  });

  it('shares one fee quote among the transactions sent within feeQuoteMs (0: a quote each)', async () => {
    const quotes = { n: 0 };
    const client = createPublicClient({
      transport: http(f.dev.node.rpcUrl, {
        onFetchRequest: async (request) => {
          const body = (await request.clone().json()) as { method?: string } | { method?: string }[];
          for (const b of [body].flat()) if (b.method === 'eth_maxPriorityFeePerGas') quotes.n++;
        },
      }),
    });
    const to = f.dev.node.accounts[9]!.address;
    const shared = submitter(f.dev, 5, { client });
    await Promise.all(Array.from({ length: 4 }, () => shared.submit(transfer(to))));
    expect(quotes.n).toBe(1);
    quotes.n = 0;
    const each = submitter(f.dev, 5, { client, feeQuoteMs: 0 });
    await Promise.all(Array.from({ length: 4 }, () => each.submit(transfer(to))));
    expect(quotes.n).toBe(4);
  });

  it('recovers when an outside transaction takes its nonce: no "nonce too low" loop, no gap', async () => {
    const events: SubmitterEvent[] = [];
    const s = submitter(f.dev, 4, {}, events);
    await s.submit(transfer(f.dev.node.accounts[9]!.address));
    const stored = (await s.nonces.peek())!;
    // Someone else signs with the same key and uses the stored nonce.
    const outside = devnetClients(f.dev.node, f.dev.node.accounts[4]!.privateKey);
    const hash = await outside.walletClient.sendTransaction({
      to: f.dev.node.accounts[9]!.address,
      value: 2n,
      nonce: stored,
    });
    await outside.publicClient.waitForTransactionReceipt({ hash });
    const { receipt, nonce } = await s.submit(transfer(f.dev.node.accounts[9]!.address));
    expect(receipt.status).toBe('success');
    expect(nonce).toBe(stored + 1);
    expect(events.filter((e) => e.kind === 'nonce-reconciled')).toHaveLength(1);
    expect(await s.nonces.peek()).toBe(stored + 2);
  });

  it('leaves no gap when the node refuses a transaction', async () => {
    const s = submitter(f.dev, 5);
    await s.submit(transfer(f.dev.node.accounts[9]!.address));
    const next = (await s.nonces.peek())!;
    // Too little gas for calldata: the node refuses it, the nonce is not used.
    await expect(s.send({ to: f.dev.gateway, data: randBytes(64), gas: 21_000n })).rejects.toThrow(
      SubmitterError,
    );
    const { nonce } = await s.submit(transfer(f.dev.node.accounts[9]!.address));
    expect(nonce).toBe(next);
  });

  it('heals a stored nonce that ran ahead of the chain (a transaction the node dropped)', async () => {
    const events: SubmitterEvent[] = [];
    const s = submitter(f.dev, 8, {}, events);
    const chainNext = await f.clients.publicClient.getTransactionCount({
      address: s.address,
      blockTag: 'pending',
    });
    // Three "sent" transactions that never reached the chain.
    for (let i = 0; i < 3; i++) await s.nonces.withNextNonce(async () => undefined);
    expect(await s.nonces.peek()).toBe(chainNext + 3);
    const { nonce, receipt } = await s.submit(transfer(f.dev.node.accounts[9]!.address));
    expect(receipt.status).toBe('success');
    expect(nonce).toBe(chainNext);
    expect(events.some((e) => e.kind === 'nonce-reconciled')).toBe(true);
  });

  it('gives two submitters of one key (two processes) distinct, gapless nonces through the Redis lock', async () => {
    const a = submitter(f.dev, 6);
    const b = submitter(f.dev, 6);
    const start = await f.clients.publicClient.getTransactionCount({ address: a.address });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).submit(transfer(f.dev.node.accounts[9]!.address))),
    );
    const nonces = results.map((r) => r.nonce).sort((x, y) => x - y);
    expect(nonces).toEqual(Array.from({ length: 12 }, (_, i) => start + i));
    expect(results.every((r) => r.receipt.status === 'success')).toBe(true);
  });

  it('refuses to send when the fee cap is below the base fee', async () => {
    const s = submitter(f.dev, 7, { fees: { maxFeePerGasCap: 1n } });
    await expect(s.send(transfer(f.dev.node.accounts[9]!.address))).rejects.toThrow(/fee cap is below/);
  });
});

describe('submitFulfillment', () => {
  it('delivers, and treats a request answered by someone else as done', async () => {
    await f.setMode(TestMode.Store);
    const s = submitter(f.dev, 3);
    const input = f.outputs(await f.request());
    const signature = signFulfillment(f.dev.domain, input, f.worker.secretKey);
    const first = await submitFulfillment(s, f.clients.publicClient, {
      gateway: f.dev.gateway,
      fulfillment: input,
      signature,
    });
    expect(first).toMatchObject({ status: 'fulfilled', result: 'Delivered', worker: f.worker.address });
    // Priced as the relayer prices it: the bound from the call's shape, proven by one eth_call.
    const sent = await f.clients.publicClient.getTransaction({
      hash: (first as { receipt: { transactionHash: Hex } }).receipt.transactionHash,
    });
    expect(sent.gas).toBe(fulfillmentGasBound({ batches: [{ items: [input] }], data: sent.input }));
    const again = await submitFulfillment(s, f.clients.publicClient, {
      gateway: f.dev.gateway,
      fulfillment: input,
      signature,
    });
    expect(again).toEqual({ status: 'already-fulfilled', receipt: null });
  });

  it('throws GatewayRejectedError naming the reason for a result it can never land', async () => {
    const s = submitter(f.dev, 3);
    const input = f.outputs(await f.request());
    const signature = signFulfillment(f.dev.domain, input, makeWorker().secretKey);
    const error = await submitFulfillment(s, f.clients.publicClient, {
      gateway: f.dev.gateway,
      fulfillment: input,
      signature,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayRejectedError);
    expect((error as GatewayRejectedError).errorName).toBe('WorkerNotAuthorized');
  });
});

describe('submitFulfillmentBatch', () => {
  it("delivers a signed batch at its gas bound; an item answered meanwhile is the gateway's NotPending", async () => {
    await f.setMode(TestMode.Store);
    const s = submitter(f.dev, 3);
    const items = [f.outputs(await f.request()), f.outputs(await f.request()), f.outputs(await f.request())];
    const { signature } = signedBatch(f, items, f.worker);
    // The second is answered alone first.
    await submitFulfillment(s, f.clients.publicClient, {
      gateway: f.dev.gateway,
      fulfillment: items[1]!,
      signature: signFulfillment(f.dev.domain, items[1]!, f.worker.secretKey),
    });
    const { receipt, results } = await submitFulfillmentBatch(s, f.clients.publicClient, {
      gateway: f.dev.gateway,
      items,
      signature,
    });
    expect(receipt?.status).toBe('success');
    expect(items.map((i) => results.get(i.request.requestId))).toEqual([
      'Delivered',
      'NotPending',
      'Delivered',
    ]);
    const sent = await f.clients.publicClient.getTransaction({ hash: receipt!.transactionHash });
    expect(sent.gas).toBe(fulfillmentGasBound({ batches: [{ items }], data: sent.input }));
    // Nothing left pending: nothing is sent.
    const again = await submitFulfillmentBatch(s, f.clients.publicClient, {
      gateway: f.dev.gateway,
      items,
      signature,
    });
    expect(again.receipt).toBeNull();
    expect([...again.results.values()]).toEqual(['NotPending', 'NotPending', 'NotPending']);
  });
});

describe('on a node that mines only when told (automine off)', () => {
  let dev: EvmDevnet;
  const mine = () => dev.clients.publicClient.request({ method: 'evm_mine' as never, params: [] as never });

  beforeAll(async () => {
    dev = await startEvmDevnet({ node: { automine: false } });
  });
  afterAll(async () => {
    await dev?.stop();
  });

  async function until(check: () => boolean): Promise<void> {
    const end = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('replaces a stuck transaction with a capped fee bump and returns the replacement’s receipt', async () => {
    const events: SubmitterEvent[] = [];
    const s = submitter(dev, 1, { stuckAfterMs: 150, maxReplacements: 2 }, events);
    const pending = s.submit(transfer(dev.node.accounts[9]!.address));
    await until(() => events.some((e) => e.kind === 'replaced'));
    await mine();
    const { receipt, hashes, replacements } = await pending;
    expect(replacements).toBeGreaterThanOrEqual(1);
    expect(hashes.length).toBe(replacements + 1);
    expect(receipt.transactionHash).toBe(hashes.at(-1));
    const sent = events.find((e) => e.kind === 'sent')!;
    const replaced = events.find((e) => e.kind === 'replaced')!;
    if (sent.kind !== 'sent' || replaced.kind !== 'replaced') throw new Error('unexpected events');
    expect(replaced.fees.maxPriorityFeePerGas * 100n).toBeGreaterThanOrEqual(
      sent.fees.maxPriorityFeePerGas * 110n,
    );
    expect(replaced.fees.maxFeePerGas * 100n).toBeGreaterThanOrEqual(sent.fees.maxFeePerGas * 110n);
  });

  it('does not replace above the fee cap; it waits', async () => {
    const events: SubmitterEvent[] = [];
    const block = await dev.clients.publicClient.getBlock();
    const cap = (block.baseFeePerGas ?? 0n) * 2n + parseGwei('1');
    const s = submitter(
      dev,
      2,
      { stuckAfterMs: 100, fees: { maxFeePerGasCap: cap, maxPriorityFeePerGas: parseGwei('1') } },
      events,
    );
    const pending = s.submit(transfer(dev.node.accounts[9]!.address));
    await until(() => events.some((e) => e.kind === 'sent'));
    await new Promise((r) => setTimeout(r, 400));
    await mine();
    const { replacements, receipt } = await pending;
    expect(replacements).toBe(0);
    expect(receipt.status).toBe('success');
    expect(events.some((e) => e.kind === 'replaced')).toBe(false);
  });

  it('counts a fulfillment that lost the race to another relayer as done', async () => {
    const gatekeeperKeys = dev.gatekeepers.map((g) => g.secretKey);
    const contractId = rand32();
    const cluster = rand32();
    const worker = makeWorker();
    const automine = (on: boolean) =>
      dev.clients.publicClient.request({ method: 'evm_setAutomine' as never, params: [on] as never });
    await automine(true);
    await registerContractOnGateway(dev.clients, {
      gateway: dev.gateway,
      registration: { contractId, cluster, publicKey: rand32(), epoch: 0n },
      gatekeeperKeys,
    });
    const now = (await dev.clients.publicClient.getBlock()).timestamp;
    await registerWorkerOnGateway(dev.clients, {
      gateway: dev.gateway,
      registration: {
        worker: worker.address,
        measurement: rand32(),
        cluster,
        expiresAt: now + 86_400n,
        epoch: 0n,
      },
      gatekeeperKeys,
    });
    const requester = dev.clientsFor(8);
    const sealedInput = randBytes(32);
    const responseKey = rand32();
    const deadline = now + 3_600n;
    const requestHash = await requester.walletClient.sendTransaction({
      to: dev.gateway,
      data: encodeRequest({ contractId, sealedInput, responseKey, callbackGasLimit: 0, deadline }),
      gas: 200_000n,
    });
    const requested = await dev.clients.publicClient.waitForTransactionReceipt({ hash: requestHash });
    await automine(false);
    // The request's id names the block it was mined in (its nonce): read it from the event.
    const [sentEvent] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: requested.logs,
      eventName: 'RequestSent',
    });
    const requestId = sentEvent!.args.requestId;
    const input: FulfillmentInput = {
      request: {
        requestId,
        contractId,
        requester: requester.walletClient.account.address,
        callbackGasLimit: 0,
        deadline,
      },
      publicOutput: randBytes(32),
      sealedOutput: randBytes(64),
      stateRoot: rand32(),
    };
    const signature = signFulfillment(dev.domain, input, worker.secretKey);
    // Another relayer's fulfillment is already in the pool, ahead of ours (higher tip).
    const rival = dev.clientsFor(7);
    await rival.walletClient.sendTransaction({
      to: dev.gateway,
      data: encodeFulfill({ fulfillment: input, signature }),
      gas: 300_000n,
      maxPriorityFeePerGas: parseGwei('5'),
      maxFeePerGas: parseGwei('50'),
    });
    const events: SubmitterEvent[] = [];
    const s = submitter(
      dev,
      3,
      { fees: { maxFeePerGasCap: parseGwei('50'), maxPriorityFeePerGas: parseGwei('1') } },
      events,
    );
    const ours = submitFulfillment(s, dev.clients.publicClient, {
      gateway: dev.gateway,
      fulfillment: input,
      signature,
      gas: 300_000n,
    });
    await until(() => events.some((e) => e.kind === 'sent'));
    await mine();
    const result = await ours;
    expect(result.status).toBe('already-fulfilled');
    expect(result.receipt?.status).toBe('reverted');
  });
});

import { type Hex, createPublicClient, custom, http, parseTransaction } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../src/base/checkpoint.js';
import { devnetChain } from '../../src/devnet/evm/clients.js';
import { GatewayLogDecodeError } from '../../src/evm/errors.js';
import { type GatewayLogEvent, decodeGatewayLog } from '../../src/evm/gateway/events.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import {
  GatewayWatcher,
  type GatewayWatcherOptions,
  type ReorgNotice,
} from '../../src/evm/watcher/watcher.js';
import { type GatewayFixture, gatewayFixture, rand32, randBytes } from './fixture.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await gatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

const rpc = <T>(method: string, params: unknown[] = []) =>
  f.clients.publicClient.request({ method: method as never, params: params as never }) as Promise<T>;

function watcher(over: Partial<GatewayWatcherOptions> & { seen: GatewayLogEvent[] }) {
  const { seen, ...rest } = over;
  return new GatewayWatcher({
    client: f.clients.publicClient,
    chainId: f.dev.node.chainId,
    gateway: f.dev.gateway,
    checkpoints: new MemoryCheckpointStore(),
    startBlock: f.dev.gatewayBlock,
    onEvents: (events) => {
      seen.push(...events);
    },
    ...rest,
  });
}

/** A request from the deployer EOA; returns its raw signed transaction too (to re-send after a reorg). */
async function eoaRequest(): Promise<{ requestId: Hex; raw: Hex }> {
  const deadline = (await f.now()) + 3_600n;
  const data = encodeRequest({
    contractId: f.contractId,
    sealedInput: randBytes(48),
    responseKey: rand32(),
    callbackGasLimit: 0,
    deadline,
  });
  const request = await f.clients.walletClient.prepareTransactionRequest({
    to: f.dev.gateway,
    data,
    gas: 200_000n,
  });
  const raw = await f.clients.walletClient.signTransaction(request);
  const hash = await f.clients.publicClient.sendRawTransaction({ serializedTransaction: raw });
  const receipt = await f.clients.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  const log = receipt.logs.find((l) => l.address.toLowerCase() === f.dev.gateway.toLowerCase());
  return { requestId: log!.topics[1]!, raw };
}

const sentIds = (events: GatewayLogEvent[]) =>
  events.filter((e) => e.kind === 'RequestSent').map((e) => (e as { requestId: Hex }).requestId);

describe('GatewayWatcher', () => {
  it('hands over every gateway event once, with deterministic ids, and resumes from its checkpoint', async () => {
    const seen: GatewayLogEvent[] = [];
    const checkpoints = new MemoryCheckpointStore();
    const w = watcher({ seen, checkpoints });
    await w.poll();
    // The fixture registered a contract and a worker: the watcher decodes those too.
    expect(seen.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['ContractRegistered', 'WorkerRegistered']),
    );
    const registered = seen.find((e) => e.kind === 'ContractRegistered')!;
    expect(registered.id).toBe(
      `evm:${f.dev.node.chainId}:${f.dev.gateway.toLowerCase()}:ContractRegistered:${f.contractId}:0`,
    );
    const a = await f.request();
    const b = await eoaRequest();
    const result = await w.poll();
    expect(result.emitted).toBe(2);
    expect(sentIds(seen)).toEqual([a.requestId, b.requestId]);
    const sent = seen.find((e) => e.kind === 'RequestSent')!;
    expect(sent.id).toBe(
      `evm:${f.dev.node.chainId}:${f.dev.gateway.toLowerCase()}:RequestSent:${a.requestId}`,
    );
    expect(sent).toMatchObject({
      requester: f.consumer,
      contractId: f.contractId,
      callbackGasLimit: a.callbackGasLimit,
      deadline: a.deadline,
    });
    expect((await w.poll()).emitted).toBe(0);
    // A new watcher on the same checkpoint store starts where the first stopped.
    const later: GatewayLogEvent[] = [];
    const restarted = watcher({ seen: later, checkpoints });
    const c = await f.request();
    await restarted.poll();
    expect(sentIds(later)).toEqual([c.requestId]);
  });

  it('finds every request across a reorg (evm_snapshot / evm_revert) exactly once', async () => {
    const seen: GatewayLogEvent[] = [];
    const reorgs: ReorgNotice[] = [];
    const w = watcher({ seen, onReorg: (n) => reorgs.push(n), reorgDepth: 1_000n });
    await w.poll();
    seen.length = 0;
    const snapshot = await rpc<Hex>('evm_snapshot');
    const kept = await eoaRequest(); // will be mined again, identically, after the revert
    const lost = await eoaRequest(); // will be gone
    await w.poll();
    expect(sentIds(seen)).toEqual([kept.requestId, lost.requestId]);

    expect(await rpc<boolean>('evm_revert', [snapshot])).toBe(true);
    // The same signed transaction lands again (same nonce, same request id), then new ones.
    await f.clients.publicClient.sendRawTransaction({ serializedTransaction: kept.raw });
    const replayed = parseTransaction(kept.raw);
    expect(replayed.nonce).toBeDefined();
    const fresh1 = await f.request();
    const fresh2 = await eoaRequest();
    const fresh3 = await f.request();
    const result = await w.poll();
    expect(result.reorg).not.toBeNull();
    expect(reorgs).toHaveLength(1);
    // Every request of the canonical chain, each exactly once; the lost one was seen before the
    // reorg and is not repeated (the relayer's on-chain check drops it).
    expect(sentIds(seen)).toEqual([
      kept.requestId,
      lost.requestId,
      fresh1.requestId,
      fresh2.requestId,
      fresh3.requestId,
    ]);
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rewinds a fixed depth when no remembered block matches (after a restart)', async () => {
    const checkpoints = new MemoryCheckpointStore();
    const first: GatewayLogEvent[] = [];
    await watcher({ seen: first, checkpoints }).poll();
    const snapshot = await rpc<Hex>('evm_snapshot');
    const gone = await f.request();
    await watcher({ seen: first, checkpoints }).poll();
    expect(sentIds(first)).toContain(gone.requestId);
    await rpc('evm_revert', [snapshot]);
    const fresh = await f.request();
    await rpc('evm_mine');
    // A new process: only the (now stale) checkpoint is known.
    const second: GatewayLogEvent[] = [];
    const reorgs: ReorgNotice[] = [];
    const result = await watcher({
      seen: second,
      checkpoints,
      reorgDepth: 5n,
      onReorg: (n) => reorgs.push(n),
    }).poll();
    expect(reorgs).toHaveLength(1);
    expect(result.reorg?.resumeAfter).toBe((result.reorg?.checkpoint.blockNumber ?? 0n) - 5n);
    expect(sentIds(second)).toContain(fresh.requestId);
    expect(sentIds(second)).not.toContain(gone.requestId);
  });

  it('waits for the configured confirmations', async () => {
    const seen: GatewayLogEvent[] = [];
    const w = watcher({ seen, finality: { confirmations: 2 } });
    await rpc('evm_mine');
    await rpc('evm_mine');
    await w.poll();
    seen.length = 0;
    const r = await f.request();
    await w.poll();
    expect(sentIds(seen)).toEqual([]);
    await rpc('evm_mine');
    await w.poll();
    expect(sentIds(seen)).toEqual([]);
    await rpc('evm_mine');
    await w.poll();
    expect(sentIds(seen)).toEqual([r.requestId]);
  });

  it('reads up to the node’s finalized block when asked to', async () => {
    const seen: GatewayLogEvent[] = [];
    const w = watcher({ seen, finality: 'finalized' });
    const finalized = await w.safeHead();
    const latest = await f.clients.publicClient.getBlockNumber({ cacheTime: 0 });
    expect(finalized).toBeLessThanOrEqual(latest);
    const result = await w.poll();
    expect(result.range?.to).toBe(finalized);
  });

  it('shrinks its getLogs range when the provider refuses a large one (provider limit simulated: Hardhat has none)', async () => {
    for (let i = 0; i < 12; i++) await f.request();
    const inner = http(f.dev.node.rpcUrl)({ chain: devnetChain(f.dev.node.rpcUrl, f.dev.node.chainId) });
    let refused = 0;
    const limited = createPublicClient({
      chain: devnetChain(f.dev.node.rpcUrl, f.dev.node.chainId),
      transport: custom(
        {
          async request({ method, params }) {
            if (method === 'eth_getLogs') {
              const [filter] = params as [{ fromBlock: Hex; toBlock: Hex }];
              if (BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n > 4n) {
                refused++;
                throw Object.assign(new Error('query exceeds max block range 4'), { code: -32005 });
              }
            }
            return inner.request({ method, params } as never);
          },
        },
        { retryCount: 0 },
      ),
    });
    const seen: GatewayLogEvent[] = [];
    const reference: GatewayLogEvent[] = [];
    const w = watcher({ seen, client: limited, maxBlockRange: 64n });
    await w.poll();
    await watcher({ seen: reference }).poll();
    expect(refused).toBeGreaterThan(0);
    expect(w.blockRange).toBeLessThanOrEqual(4n);
    expect(seen.map((e) => e.id)).toEqual(reference.map((e) => e.id));
  });

  it('reads a range again when the handler fails, and keeps running after RPC errors', async () => {
    let fail = false;
    const seen: GatewayLogEvent[] = [];
    const errors: unknown[] = [];
    const w = watcher({
      seen,
      onError: (e) => errors.push(e),
      onEvents: (events) => {
        if (fail) {
          fail = false;
          throw new Error('queue unavailable');
        }
        seen.push(...events);
      },
    });
    await w.poll(); // catch up
    const r = await f.request();
    fail = true;
    await expect(w.poll()).rejects.toThrow('queue unavailable');
    await w.poll();
    expect(sentIds(seen)).toContain(r.requestId);

    w.start(20);
    const r2 = await f.request();
    await waitFor(() => sentIds(seen).includes(r2.requestId));
    await w.stop();
    expect(errors).toEqual([]);
  });
});

describe('decodeGatewayLog', () => {
  it('rejects a malformed gateway log with one clear error and ignores foreign events', async () => {
    const r = await f.request();
    const logs = await f.clients.publicClient.getLogs({ address: f.dev.gateway, fromBlock: 0n });
    const sent = logs.find((l) => l.topics[1] === r.requestId)!;
    expect(decodeGatewayLog(sent, f.dev.node.chainId)?.kind).toBe('RequestSent');
    expect(() => decodeGatewayLog({ ...sent, data: '0x1234' }, f.dev.node.chainId)).toThrow(
      GatewayLogDecodeError,
    );
    expect(decodeGatewayLog({ ...sent, topics: [rand32()] }, f.dev.node.chainId)).toBeNull();
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

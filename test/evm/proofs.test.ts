import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Address, type Hex, numberToHex } from 'viem';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEvmNode } from '../../src/devnet/evm/node.js';
import { getCommitment } from '../../src/evm/gateway/read.js';
import {
  AccountMismatchError,
  ChainIdMismatchError,
  EMPTY_TRIE_ROOT,
  EvmHeaderQuorum,
  EvmProofError,
  EvmStateVerifier,
  EvmVerifierConfigError,
  HeaderHashMismatchError,
  IncompleteProofError,
  MalformedHeaderError,
  MalformedProofError,
  ProofRootMismatchError,
  QuorumNotReachedError,
  computeHeaderHash,
  evmProofErrorReason,
  evmVerifierConfigSchema,
  headerFields,
  mappingSlot,
  parseEvmBlock,
  verifyHeaderHash,
  verifyProofAnswer,
} from '../../src/evm/proofs/index.js';
import { type GatewayFixture, gatewayFixture, rand32 } from './fixture.js';

type Json = Record<string, unknown>;
type Rewrite = (method: string, params: unknown[], result: unknown) => unknown;

/**
 * A JSON-RPC endpoint in front of the real node that can lie: `rewrite` changes answers by method,
 * `hang` never answers, and `calls` counts requests by method.
 */
type Proxy = {
  url: string;
  rewrite: Rewrite | undefined;
  hang: boolean;
  calls: Map<string, number>;
  close(): Promise<void>;
};

async function startProxy(target: string): Promise<Proxy> {
  const proxy: Proxy = {
    url: '',
    rewrite: undefined,
    hang: false,
    calls: new Map(),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const call = JSON.parse(body) as { method: string; params?: unknown[] };
      proxy.calls.set(call.method, (proxy.calls.get(call.method) ?? 0) + 1);
      if (proxy.hang) return;
      const upstream = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const answer = (await upstream.json()) as Json;
      if (proxy.rewrite && 'result' in answer) {
        answer.result = proxy.rewrite(call.method, call.params ?? [], structuredClone(answer.result));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** A self-consistent false header: another state root, and the hash of that header. */
function forgeHeader(result: unknown, seed: Hex): unknown {
  const block = { ...(result as Json), stateRoot: seed };
  return { ...block, hash: computeHeaderHash(parseEvmBlock(block)) };
}

async function refusal(promise: Promise<unknown>): Promise<EvmProofError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EvmProofError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

let fx: GatewayFixture;
let proxies: Proxy[];
const rpc = async (method: string, params: unknown[]): Promise<unknown> =>
  fx.clients.publicClient.request({ method: method as never, params: params as never });
const mine = () => rpc('evm_mine', []);

/** The gateway's `_commitments` mapping slot, found by where a known commitment is stored. */
async function commitmentsSlot(requestId: Hex, commitment: Hex): Promise<bigint> {
  for (let i = 0n; i < 32n; i++) {
    const stored = await fx.clients.publicClient.getStorageAt({
      address: fx.dev.gateway,
      slot: mappingSlot(requestId, i),
    });
    if (stored === commitment) return i;
  }
  throw new Error('commitment slot not found');
}

function verifier(
  urls: string[],
  extra: Partial<{
    quorum: number;
    depth: number;
    development: boolean;
    timeoutMs: number;
    maxAgeMs: number;
  }> = {},
) {
  return new EvmStateVerifier({
    chainId: fx.dev.node.chainId,
    endpoints: urls,
    quorum: 2,
    depth: 1,
    ...extra,
  });
}

beforeAll(async () => {
  fx = await gatewayFixture();
  proxies = await Promise.all([0, 1, 2].map(() => startProxy(fx.dev.node.rpcUrl)));
});

afterEach(() => {
  for (const p of proxies) {
    p.rewrite = undefined;
    p.hang = false;
    p.calls.clear();
  }
});

afterAll(async () => {
  await Promise.all((proxies ?? []).map((p) => p.close()));
  await fx?.stop();
});

describe('header hash recomputation', () => {
  it('recomputes the hash of every real block of the Hardhat node (prague: 21 fields)', async () => {
    const head = await fx.clients.publicClient.getBlockNumber();
    expect(head).toBeGreaterThan(3n);
    for (let n = 0n; n <= head; n++) {
      const header = parseEvmBlock(await rpc('eth_getBlockByNumber', [numberToHex(n), false]));
      expect(headerFields(header)).toHaveLength(21);
      expect(computeHeaderHash(header)).toBe(header.hash);
      verifyHeaderHash(header);
    }
  });

  it('recomputes block hashes of real nodes of earlier forks (berlin 15, london 16, shanghai 17, cancun 20 fields)', async () => {
    const forks = [
      ['berlin', 15],
      ['london', 16],
      ['shanghai', 17],
      ['cancun', 20],
    ] as const;
    const started = await Promise.allSettled(
      forks.map(([hardfork]) => startEvmNode({ hardfork, accounts: 2 })),
    );
    const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      for (const [i, node] of nodes.entries()) {
        const call = async (method: string, params: unknown[]) => {
          const res = await fetch(node.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
          });
          return ((await res.json()) as { result: unknown }).result;
        };
        const [from, to] = node.accounts;
        await call('eth_sendTransaction', [{ from: from?.address, to: to?.address, value: '0x1' }]);
        for (const n of ['0x0', '0x1']) {
          const header = parseEvmBlock(await call('eth_getBlockByNumber', [n, false]));
          expect(headerFields(header)).toHaveLength(forks[i]?.[1] as number);
          expect(computeHeaderHash(header)).toBe(header.hash);
        }
      }
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }, 180_000); // four node starts on a busy machine

  it('refuses a header with any one field changed, and fork fields out of order', async () => {
    const raw = (await rpc('eth_getBlockByNumber', ['latest', false])) as Json;
    for (const [field, value] of [
      ['stateRoot', rand32()],
      ['timestamp', '0x1'],
      ['extraData', '0xdeadbeef'],
      ['requestsHash', rand32()],
    ] as const) {
      const header = parseEvmBlock({ ...raw, [field]: value });
      const error = (() => {
        try {
          verifyHeaderHash(header);
        } catch (e) {
          return e;
        }
      })();
      expect(error, field).toBeInstanceOf(HeaderHashMismatchError);
      expect((error as HeaderHashMismatchError).reason).toBe('HeaderHashMismatch');
    }
    // A Prague field on a header without Cancun's is no real header.
    const { blobGasUsed: _, ...noCancun } = raw;
    expect(() => headerFields(parseEvmBlock(noCancun))).toThrow(MalformedHeaderError);
    expect(() => parseEvmBlock({ ...raw, hash: null })).toThrow(MalformedHeaderError);
  });
});

describe('k-of-n header quorum', () => {
  it('verifies a block `depth` below the head that all three endpoints agree on', async () => {
    await mine();
    const v = verifier(
      proxies.map((p) => p.url),
      { depth: 2 },
    );
    const head = BigInt((await rpc('eth_blockNumber', [])) as Hex);
    const header = await v.header();
    const real = await fx.clients.publicClient.getBlock({ blockNumber: head - 2n });
    expect(header).toEqual({
      chainId: fx.dev.node.chainId,
      number: head - 2n,
      hash: real.hash,
      stateRoot: real.stateRoot,
      timestamp: real.timestamp,
    });
    // Within maxAgeMs later reads reuse it; the chain id was asked once per endpoint.
    await v.header();
    expect(v.stats.quorumRounds).toBe(1);
    expect(v.stats.latestReuses).toBe(1);
    await v.quorum.round();
    for (const p of proxies) expect(p.calls.get('eth_chainId')).toBe(1);
    // The second round chose the same block: no headers fetched again.
    expect(v.stats.headerCacheHits).toBe(1);
    for (const p of proxies) expect(p.calls.get('eth_getBlockByNumber')).toBe(1);
  });

  it('a kept header older than the block a caller names is not reused: one fresh round, shared; a false hint costs that round only', async () => {
    await mine();
    const v = verifier(
      proxies.map((p) => p.url),
      { depth: 0, maxAgeMs: 60_000 },
    );
    const first = await v.header();
    await mine();
    await mine();
    // Within maxAgeMs and no hint: the kept header.
    expect((await v.quorum.latest()).number).toBe(first.number);
    expect(v.stats.quorumRounds).toBe(1);
    // A block past it (where a request was seen): three callers at once share one new round.
    const fresh = await Promise.all([1, 2, 3].map(() => v.quorum.latest(first.number + 2n)));
    expect(fresh.map((h) => h.number)).toEqual([first.number + 2n, first.number + 2n, first.number + 2n]);
    expect(v.stats.quorumRounds).toBe(2);
    // The new header now serves hints at or below it.
    expect((await v.quorum.latest(first.number + 1n)).number).toBe(first.number + 2n);
    expect(v.stats.quorumRounds).toBe(2);
    // A block that does not exist yet: asked once, and the newest agreed header is all it gets.
    expect((await v.quorum.latest(first.number + 1_000n)).number).toBe(first.number + 2n);
    expect(v.stats.quorumRounds).toBe(3);
    // The same through readSlots: the proof is read at the fresh header.
    await mine();
    const read = await v.readSlots(fx.dev.gateway, [numberToHex(0n, { size: 32 })], first.number + 3n);
    expect(read.header.number).toBe(first.number + 3n);
  });

  it('2-of-3 verifies with one endpoint lying about the block (forged header or bare hash)', async () => {
    const lies: Rewrite[] = [
      (m, _p, r) => (m === 'eth_getBlockByNumber' ? forgeHeader(r, rand32()) : r),
      (m, _p, r) => (m === 'eth_getBlockByNumber' ? { ...(r as Json), hash: rand32() } : r),
    ];
    for (const [i, lie] of lies.entries()) {
      await mine();
      const v = verifier(proxies.map((p) => p.url));
      (proxies[i] as Proxy).rewrite = lie;
      const header = await v.header();
      const real = await fx.clients.publicClient.getBlock({ blockNumber: header.number });
      expect(header.hash).toBe(real.hash);
      expect(header.stateRoot).toBe(real.stateRoot);
      (proxies[i] as Proxy).rewrite = undefined;
    }
  });

  it('2-of-3 is refused with two liars (QuorumNotReached, listing the answers)', async () => {
    await mine();
    const v = verifier(proxies.map((p) => p.url));
    (proxies[0] as Proxy).rewrite = (m, _p, r) =>
      m === 'eth_getBlockByNumber' ? forgeHeader(r, rand32()) : r;
    (proxies[1] as Proxy).rewrite = (m, _p, r) =>
      m === 'eth_getBlockByNumber' ? forgeHeader(r, rand32()) : r;
    const error = await refusal(v.header());
    expect(error).toBeInstanceOf(QuorumNotReachedError);
    expect(error.reason).toBe('QuorumNotReached');
    const answers = (error as QuorumNotReachedError).answers;
    expect(answers).toHaveLength(3);
    expect(new Set(answers.map((a) => a.hash)).size).toBe(3);
    expect(answers.every((a) => a.endpoint.startsWith('#') && a.endpoint.includes('127.0.0.1'))).toBe(true);
  });

  it('refuses a hash k endpoints report when their headers do not hash to it (HeaderHashMismatch)', async () => {
    const v = verifier(proxies.map((p) => p.url));
    // Two endpoints back the real hash with a header whose state root was changed.
    const swap: Rewrite = (m, _p, r) =>
      m === 'eth_getBlockByNumber' ? { ...(r as Json), stateRoot: rand32() } : r;
    (proxies[0] as Proxy).rewrite = swap;
    (proxies[1] as Proxy).rewrite = swap;
    const error = await refusal(v.header());
    expect(error).toBeInstanceOf(HeaderHashMismatchError);
    expect(error.reason).toBe('HeaderHashMismatch');
  });

  it('counts an endpoint that does not answer in time as not agreeing', async () => {
    const v = verifier(
      proxies.map((p) => p.url),
      { timeoutMs: 300 },
    );
    (proxies[2] as Proxy).hang = true;
    const started = Date.now();
    const header = await v.header();
    expect(header.hash).toBe((await fx.clients.publicClient.getBlock({ blockNumber: header.number })).hash);
    expect(Date.now() - started).toBeLessThan(5_000);
    (proxies[1] as Proxy).hang = true;
    const error = await refusal(v.quorum.round());
    expect(error.reason).toBe('QuorumNotReached');
    expect((error as QuorumNotReachedError).blockNumber).toBeNull();
  });

  it('refuses endpoints of another chain (ChainIdMismatch) once too few are left', async () => {
    const v = verifier(proxies.map((p) => p.url));
    const otherChain: Rewrite = (m, _p, r) => (m === 'eth_chainId' ? '0x1' : r);
    (proxies[0] as Proxy).rewrite = otherChain;
    await v.header(); // two of the right chain still make 2 of 3
    const w = verifier(proxies.map((p) => p.url));
    (proxies[1] as Proxy).rewrite = otherChain;
    const error = await refusal(w.header());
    expect(error).toBeInstanceOf(ChainIdMismatchError);
    expect(error.reason).toBe('ChainIdMismatch');
    expect((error as ChainIdMismatchError).mismatched.map((m) => m.chainId)).toEqual([1, 1]);
  });

  it('allows one endpoint or a quorum of one only in development', () => {
    const url = (proxies[0] as Proxy).url;
    for (const config of [
      { endpoints: [url], quorum: 1 },
      { endpoints: [url, url], quorum: 1 },
      { endpoints: [url, url], quorum: 3 },
    ]) {
      expect(() => verifier(config.endpoints, { quorum: config.quorum })).toThrow(EvmVerifierConfigError);
      expect(evmVerifierConfigSchema.safeParse({ chainId: 1, depth: 0, ...config }).success).toBe(false);
    }
    expect(() => new EvmHeaderQuorum({ chainId: 1, endpoints: [url], quorum: 1, depth: 0 })).toThrow(
      EvmVerifierConfigError,
    );
    const dev = verifier([url], { quorum: 1, development: true });
    expect(dev.quorum.quorum).toBe(1);
    let thrown: unknown;
    try {
      verifier([url], { quorum: 1 });
    } catch (error) {
      thrown = error;
    }
    expect(evmProofErrorReason(thrown)).toBe('InvalidConfig');
    expect(evmProofErrorReason(new Error('x'))).toBeUndefined();
  });
});

describe('storage proofs', () => {
  let requestId: Hex;
  let commitment: Hex;
  let slotIndex: bigint;
  let gateway: Address;

  beforeAll(async () => {
    gateway = fx.dev.gateway;
    requestId = (await fx.request()).requestId;
    commitment = await getCommitment(fx.clients.publicClient, { gateway, requestId });
    expect(BigInt(commitment)).not.toBe(0n);
    slotIndex = await commitmentsSlot(requestId, commitment);
    await mine(); // depth 1
  });

  it("proves a real request's commitment in the gateway's storage, and an absent slot as zero", async () => {
    const v = verifier(proxies.map((p) => p.url));
    const present = mappingSlot(requestId, slotIndex);
    const absent = mappingSlot(rand32(), slotIndex);
    const { header, values } = await v.readSlots(gateway, [present, absent]);
    expect(values.get(present)).toBe(commitment);
    expect(values.get(absent)).toBe(`0x${'00'.repeat(32)}`);
    expect(header.number).toBe(BigInt((await rpc('eth_blockNumber', [])) as Hex) - 1n);
    // An account that never existed proves every slot zero.
    const nobody = await v.readSlots(rand32().slice(0, 42) as Address, [present]);
    expect(nobody.values.get(present)).toBe(`0x${'00'.repeat(32)}`);
  });

  it('refuses a proof checked against another block, truncated, malformed, or for another account', async () => {
    const slot = mappingSlot(requestId, slotIndex);
    const head = BigInt((await rpc('eth_blockNumber', [])) as Hex);
    const answer = (await rpc('eth_getProof', [gateway, [slot], numberToHex(head)])) as Json;
    const at = async (n: bigint) => (await fx.clients.publicClient.getBlock({ blockNumber: n })).stateRoot;
    const stateRoot = await at(head);
    const check = (a: unknown, root: Hex = stateRoot) =>
      refusal(verifyProofAnswer({ stateRoot: root, address: gateway, slots: [slot], answer: a }));

    const ok = await verifyProofAnswer({ stateRoot, address: gateway, slots: [slot], answer });
    expect(ok.values.get(slot)).toBe(commitment);
    expect(ok.account?.storageRoot).not.toBe(EMPTY_TRIE_ROOT);

    // The request's block changed the state: the proof of `head` is no proof for the block before.
    expect(await check(answer, await at(head - 2n))).toBeInstanceOf(ProofRootMismatchError);
    const accountProof = answer.accountProof as Hex[];
    const [storage] = answer.storageProof as { key: Hex; value: Hex; proof: Hex[] }[];
    const withStorageProof = (proof: Hex[]) => ({ ...answer, storageProof: [{ ...storage, proof }] });

    const truncated = await check(withStorageProof(storage!.proof.slice(0, -1)));
    expect(truncated).toBeInstanceOf(IncompleteProofError);
    expect(truncated.reason).toBe('IncompleteProof');
    expect((await check({ ...answer, accountProof: accountProof.slice(0, -1) })).reason).toBe(
      'IncompleteProof',
    );
    expect((await check({ ...answer, storageProof: [] })).reason).toBe('IncompleteProof');

    const garbled = [...accountProof];
    garbled[1] = '0x01';
    expect(await check({ ...answer, accountProof: garbled })).toBeInstanceOf(MalformedProofError);
    expect((await check({ ...answer, accountProof: 'nope' })).reason).toBe('MalformedProof');

    expect(await check({ ...answer, address: fx.consumer })).toBeInstanceOf(AccountMismatchError);
    expect((await check({ ...answer, balance: '0x1' })).reason).toBe('AccountMismatch');
    // A proof from another storage root (the consumer's) for the gateway's slot.
    const other = (await rpc('eth_getProof', [fx.consumer, [slot], numberToHex(head)])) as Json;
    const [otherStorage] = other.storageProof as { proof: Hex[] }[];
    expect((await check(withStorageProof(otherStorage!.proof))).reason).toBe('ProofRootMismatch');
  });

  it('reads through a lying endpoint: its proof is refused and another endpoint is asked', async () => {
    const v = verifier(proxies.map((p) => p.url));
    const slot = mappingSlot(requestId, slotIndex);
    for (const p of proxies.slice(0, 2)) {
      p.rewrite = (m, _p, r) => {
        if (m !== 'eth_getProof') return r;
        const a = r as Json;
        const [s] = a.storageProof as Json[];
        // Claims the slot is empty, with the proof cut short.
        return { ...a, storageProof: [{ ...s, value: '0x0', proof: (s!.proof as Hex[]).slice(0, 1) }] };
      };
    }
    const { values } = await v.readSlots(gateway, [slot]);
    expect(values.get(slot)).toBe(commitment);
    expect(v.stats.proofRefusals).toBe(2);
    expect(v.stats.proofReads).toBe(3);
    // All three lying: the refusal itself comes out.
    (proxies[2] as Proxy).rewrite = (proxies[0] as Proxy).rewrite;
    expect((await refusal(v.readSlots(gateway, [slot]))).reason).toBe('IncompleteProof');
  });

  it('batches reads arriving together into one quorum round and one eth_getProof', async () => {
    const v = verifier(proxies.map((p) => p.url));
    const slots = Array.from({ length: 50 }, (_, i) =>
      i === 0 ? mappingSlot(requestId, slotIndex) : rand32(),
    );
    const results = await Promise.all(slots.map((s) => v.readSlots(gateway, [s])));
    expect(results[0]?.values.get(slots[0] as Hex)).toBe(commitment);
    expect(new Set(results.map((r) => r.header.hash)).size).toBe(1);
    const { quorumRounds, proofReads, rpcRequests, reads } = v.stats;
    expect({ reads, quorumRounds, proofReads }).toEqual({ reads: 50, quorumRounds: 1, proofReads: 1 });
    // 3 chain ids + 3 heads + 3 headers + 1 proof for 50 reads.
    expect(rpcRequests + proofReads).toBe(10);
    // The same reads one after another share the header (maxAgeMs) but not the proof read.
    const w = verifier(proxies.map((p) => p.url));
    for (const s of slots) await w.readSlots(gateway, [s]);
    const sequential = w.stats.rpcRequests + w.stats.proofReads;
    expect(w.stats.proofReads).toBe(50);
    console.log(
      `50 slot reads: ${(rpcRequests + proofReads) / 50} RPC requests per read when concurrent (batched), ${sequential / 50} one after another`,
    );
  });
});

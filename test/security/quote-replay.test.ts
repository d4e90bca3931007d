import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import { InvalidInputError } from '../../src/base/errors.js';
import { decodeAttestationBundle, encodeAttestationBundle } from '../../src/crypto/attestation-bundle.js';
import { QUOTE_FRESHNESS_BLOCKS } from '../../src/crypto/report-data.js';
import { parseSimQuote } from '../../src/crypto/sim-quote.js';
import { judgeCandidate } from '../../src/gatekeeper/approvals/judge.js';
import { parseAttestationPolicy } from '../../src/gatekeeper/attestation/index.js';
import * as registry from '../../src/phala/actions/registry.js';
import { DispatchFailedError } from '../../src/phala/errors.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { registerOnChain } from '../../src/pruntime/worker/registration.js';
import { type TestNode, httpRpc, startTestNode } from '../devnet-substrate/helpers.js';
import {
  CA_PUBLIC,
  type TestGatekeeper,
  type TestWorker,
  WORKER_MEASUREMENT,
  newWorker,
  register,
  removeTempDirs,
  startGatekeeper,
  waitFor,
} from '../gatekeeper/helpers.js';

/**
 * Issue 14, quote freshness (docs/attestation.md#quote-freshness), on a real dev node with a real
 * gatekeeper service (the TEE is the sim platform: no SGX hardware here). A worker registers the
 * way the worker service does (registerOnChain: the finalized head's hash in its report data, the
 * block named in a v2 attestation bundle) and is approved. Its quote, replayed once the named block
 * is more than QUOTE_FRESHNESS_BLOCKS old, is refused by the registry pallet (StaleAttestation);
 * relabelled to name a recent block, the pallet takes it and the gatekeeper rejects it
 * (QuoteFreshnessMismatch), as it does a quote naming a block the chain does not have.
 */
const CLUSTER = toHex(new Uint8Array(32).fill(0xc4));

let t: TestNode;
let engine: ContractEngine;
let gatekeeper: TestGatekeeper;

beforeAll(async () => {
  [t, engine] = await Promise.all([startTestNode({ dev: true }), ContractEngine.start()]);
  gatekeeper = await startGatekeeper(t, 'replay-gk');
  await registry.addMeasurement(t.client, { sudo: t.alice, measurement: WORKER_MEASUREMENT });
}, 120_000);

afterAll(async () => {
  await gatekeeper?.stop();
  await engine?.close();
  await t?.stop();
  removeTempDirs();
});

async function status(w: TestWorker) {
  return (await registry.getWorker(t.client, w.key))?.status;
}

async function verdict(w: TestWorker, registeredAt: number): Promise<{ kind: string; reason?: string }> {
  return waitFor('a verdict', async () => {
    const info = await registry.getWorker(t.client, w.key);
    if (!info || info.registeredAt !== registeredAt) return undefined;
    const s = info.status;
    if (s.kind === 'approved') return { kind: 'approved' };
    if (s.kind === 'rejected') return { kind: 'rejected', reason: s.reason };
    return undefined;
  });
}

async function finalizedHead(): Promise<{ number: number; hash: Uint8Array }> {
  const hash = await t.api.rpc.chain.getFinalizedHead();
  const header = await t.api.rpc.chain.getHeader(hash);
  return { number: header.number.toNumber(), hash: hash.toU8a() };
}

async function newBlocks(count: number): Promise<void> {
  const { json } = await httpRpc(t.node.httpUrl, {
    jsonrpc: '2.0',
    id: 1,
    method: 'dev_newBlock',
    params: [{ count }],
  });
  expect((json as { error?: unknown }).error).toBeUndefined();
}

describe('quote freshness: an old quote cannot be registered again', () => {
  let worker: TestWorker;
  let old: Uint8Array;

  it('a registration made the worker service way (finalized head in the report data) is approved', async () => {
    worker = await newWorker(t, engine);
    const head = await finalizedHead();
    const { registeredAt, attestation } = await registerOnChain({
      client: t.client,
      account: worker.signer,
      x25519: worker.x25519,
      cluster: CLUSTER,
      quote: (freshness) => worker.enclave.quote(freshness),
    });
    const bundle = decodeAttestationBundle(attestation);
    expect(bundle.freshnessBlock).toBeGreaterThanOrEqual(head.number);
    expect(bundle.freshnessBlock).toBeLessThan(registeredAt);
    const reportData = parseSimQuote(bundle.quote)!.reportData;
    const named = await t.api.rpc.chain.getBlockHash(bundle.freshnessBlock!);
    expect(toHex(reportData.subarray(32))).toBe(named.toHex());
    expect(await verdict(worker, registeredAt)).toEqual({ kind: 'approved' });
    expect((await status(worker))?.kind).toBe('approved');
    old = attestation;
  });

  it(`replayed as it was after ${QUOTE_FRESHNESS_BLOCKS} more blocks: the registry refuses it (StaleAttestation)`, async () => {
    await newBlocks(QUOTE_FRESHNESS_BLOCKS + 1);
    const error = await register(t, worker, CLUSTER, old).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DispatchFailedError);
    expect((error as DispatchFailedError).error).toBe('StaleAttestation');
    // The approval it would have replaced stands.
    expect((await status(worker))?.kind).toBe('approved');
  });

  it('relabelled to name a recent block: the pallet takes it, the gatekeeper rejects it (QuoteFreshnessMismatch)', async () => {
    const { quote } = decodeAttestationBundle(old);
    const recent = await finalizedHead();
    const relabelled = encodeAttestationBundle(quote, undefined, recent.number);
    const { blockNumber } = await register(t, worker, CLUSTER, relabelled);
    const v = await verdict(worker, blockNumber);
    expect(v.kind).toBe('rejected');
    expect(v.reason).toMatch(/^QuoteFreshnessMismatch: /);
  });

  it('a fresh quote after the refusals is approved again', async () => {
    const { registeredAt } = await registerOnChain({
      client: t.client,
      account: worker.signer,
      x25519: worker.x25519,
      cluster: CLUSTER,
      quote: (freshness) => worker.enclave.quote(freshness),
    });
    expect(await verdict(worker, registeredAt)).toEqual({ kind: 'approved' });
  });

  it('a quote naming a block not before its registration is refused by the registry', async () => {
    const best = (await t.api.rpc.chain.getHeader()).number.toNumber();
    const fresh = await finalizedHead();
    const quote = await worker.enclave.quote(fresh.hash);
    for (const named of [best + 1, best + 50]) {
      const error = await register(
        t,
        worker,
        CLUSTER,
        encodeAttestationBundle(quote, undefined, named),
      ).catch((e: unknown) => e);
      expect((error as DispatchFailedError).error).toBe('StaleAttestation');
    }
    // The sound form of the same quote goes through (the hash of the block it names).
    const { blockNumber } = await register(
      t,
      worker,
      CLUSTER,
      encodeAttestationBundle(quote, undefined, fresh.number),
    );
    expect(await verdict(worker, blockNumber)).toEqual({ kind: 'approved' });
    expect((await registry.getWorker(t.client, worker.key))?.attestation).toBe(
      toHex(encodeAttestationBundle(quote, undefined, fresh.number)) as Hex,
    );
  });

  it('a bare quote (no block named) is QuoteFreshnessMissing where the policy requires freshness (production default)', async () => {
    const quote = await worker.enclave.quote();
    const best = (await t.api.rpc.chain.getHeader()).number.toNumber();
    const judge = (requireQuoteFreshness: boolean | undefined, mode: 'development' | 'production') =>
      judgeCandidate({
        candidate: {
          secp256k1: fromHex(worker.key),
          x25519: fromHex(worker.x25519),
          cluster: fromHex(CLUSTER),
          attestation: quote,
        },
        policy: parseAttestationPolicy({
          mode,
          allowSimInProduction: true,
          simPlatformCas: [CA_PUBLIC],
          ...(requireQuoteFreshness === undefined ? {} : { requireQuoteFreshness }),
        }),
        allowedMeasurements: [WORKER_MEASUREMENT],
        at: Math.floor(Date.now() / 1000),
        now: Math.floor(Date.now() / 1000),
        registrationTtlSeconds: 3600,
        freshness: { registeredAt: best, namedBlockHash: null },
      });
    for (const refused of [judge(true, 'development'), judge(undefined, 'production')])
      expect(refused.ok ? [] : refused.reasons.map((r) => r.code)).toEqual(['QuoteFreshnessMissing']);
    // Development without the setting still takes a bare quote (older devnet tooling).
    expect(judge(undefined, 'development').ok).toBe(true);
  });
});

describe('attestation bundle v2 (hostile bytes)', () => {
  it('round-trips the block and the quote, with or without collateral, and refuses bad framing', () => {
    const quote = new Uint8Array(300).fill(7);
    expect(decodeAttestationBundle(encodeAttestationBundle(quote, undefined, 42))).toEqual({
      quote,
      collateral: undefined,
      freshnessBlock: 42,
    });
    expect(decodeAttestationBundle(encodeAttestationBundle(quote, { a: 1 }, 0xffffffff))).toEqual({
      quote,
      collateral: { a: 1 },
      freshnessBlock: 0xffffffff,
    });
    const good = encodeAttestationBundle(quote, undefined, 42);
    expect(() => decodeAttestationBundle(good.subarray(0, 12))).toThrow(InvalidInputError);
    expect(() => decodeAttestationBundle(good.subarray(0, 100))).toThrow(/quote length out of range/);
    const badVersion = Uint8Array.from(good);
    badVersion[4] = 3;
    expect(() => decodeAttestationBundle(badVersion)).toThrow(/unsupported version/);
    const zeroLength = Uint8Array.from(good);
    zeroLength.fill(0, 9, 13);
    expect(() => decodeAttestationBundle(zeroLength)).toThrow(/quote length out of range/);
    expect(() => decodeAttestationBundle(Uint8Array.from([...good, 0xff]))).toThrow(
      /collateral is not UTF-8 JSON/,
    );
    expect(() => encodeAttestationBundle(quote, undefined, -1)).toThrow(InvalidInputError);
  });
});

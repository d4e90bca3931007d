import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex, utf8 } from '../../../src/base/bytes.js';
import { decodeAttestationBundle } from '../../../src/crypto/attestation-bundle.js';
import { sealEnvelope } from '../../../src/crypto/envelope.js';
import { outputContext, requestContext } from '../../../src/crypto/envelope-context.js';
import { openEnvelope } from '../../../src/crypto/envelope.js';
import { blake2_256 } from '../../../src/crypto/hash.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { reportDataFor } from '../../../src/crypto/report-data.js';
import { parseSimQuote, simQuoteSignatureValid } from '../../../src/crypto/sim-quote.js';
import { createLogger } from '../../../src/log/logger.js';
import { contracts, registry } from '../../../src/phala/index.js';
import { recoverPayloadSigner } from '../../../src/phala/payloads.js';
import { requestJobId } from '../../../src/protocol/origin.js';
import { requestQueueName } from '../../../src/protocol/queue-names.js';
import type { RequestJob } from '../../../src/protocol/request-job.js';
import type { ResultJob } from '../../../src/protocol/result-job.js';
import { ContractEngine } from '../../../src/pruntime/engine/engine.js';
import { type WorkerService, startWorker } from '../../../src/pruntime/worker/index.js';
import { checkResult } from '../../../src/relayer/verify-result.js';
import { type Deployed, type WorkerFixture, randomHash, startWorkerFixture } from './fixture.js';

/**
 * The worker service against a real Phala dev node, real Redis and the real engine: it
 * registers, is approved by a gatekeeper, takes its contract key from a handover on chain, serves
 * requests from its cluster's queue with results the relayer's check and the chain accept, agrees
 * with a second worker, refuses bad payloads, answers direct queries, and restarts as itself.
 */

const quiet = createLogger({ level: 'error' });
let f: WorkerFixture;
let a: WorkerService;
let d: Deployed;
let engine: ContractEngine;
const cluster = randomHash();

beforeAll(async () => {
  // One engine thread for worker A across its restart: starting engine threads is what costs
  // most here (several seconds on a loaded machine); worker B gets its own below.
  [f, engine] = await Promise.all([
    startWorkerFixture('worker', { xcm: true }),
    ContractEngine.start({ threads: 1 }),
  ]);
  d = await f.deploy(cluster);
  a = await startWorker({ config: f.config({ cluster, dataDir: f.dataDir('a') }), logger: quiet, engine });
});

afterAll(async () => {
  await a?.stop({ graceMs: 1_000 });
  await engine?.close();
  await f?.close();
});

const text = (hex: Hex) => Buffer.from(fromHex(hex)).toString('utf8');

describe('worker service', () => {
  it('registers from its own account with a quote that binds its keys, and waits for approval', async () => {
    const identity = a.enclave.publicIdentity;
    const info = await f.waitFor(
      () => registry.getWorker(f.t.client, identity.secp256k1),
      20_000,
      'registration',
    );
    expect(info.status.kind).toBe('pending');
    expect(info.cluster).toBe(cluster);
    expect(info.x25519).toBe(identity.x25519);
    // A v2 attestation bundle: the quote, and the finalized block whose hash ends its report data
    // (docs/attestation.md#quote-freshness).
    const bundle = decodeAttestationBundle(fromHex(info.attestation));
    expect(bundle.freshnessBlock).toBeLessThan(info.registeredAt);
    const quote = parseSimQuote(bundle.quote)!;
    expect(simQuoteSignatureValid(quote)).toBe(true);
    expect(toHex(quote.measurement)).toBe(f.measurement);
    const named = await f.t.api.rpc.chain.getBlockHash(bundle.freshnessBlock!);
    expect(toHex(quote.reportData)).toBe(
      toHex(reportDataFor(fromHex(identity.secp256k1), fromHex(identity.x25519), named.toU8a())),
    );
    await a.waitUntil((w) => w.registration.kind === 'pending', 10_000);
    expect(a.serving).toBe(false);
    const view = (await (await fetch(`${a.url}/info`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ approved: false, serving: false, cluster, measurement: f.measurement });
    expect(view.quote).toBe(info.attestation);
  });

  it('serves once approved, with the contract key handed over through the chain', async () => {
    await f.approve(a.enclave.publicIdentity.secp256k1);
    await a.whenServing(20_000);
    expect(a.enclave.hasContractKey(d.contractId)).toBe(false);
    await f.handOver(a.enclave.publicIdentity, [d]);
    await a.whenHasContractKey(d.contractId, 20_000);
    const view = (await (await fetch(`${a.url}/info`)).json()) as { keys: { id: Hex; publicKey: Hex }[] };
    expect(view.keys).toContainEqual(
      expect.objectContaining({ id: d.contractId, publicKey: toHex(d.key.publicKey), epoch: 1 }),
    );
    const health = await fetch(`${a.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, serving: true, registration: 'approved' });
  });

  it('serves a Phala-origin request: the result passes the relayer check and the chain takes its state and proof', async () => {
    const responseKey = generateKeyPair('x25519');
    const request = await f.phalaRequest(d, 'hello', responseKey);
    const jobId = requestJobId(request.origin, request.requestId);
    await f.enqueue(request);
    const [result] = await f.waitFor(
      async () => {
        const r = await f.resultsFor(jobId);
        return r.length ? r : null;
      },
      20_000,
      'a result',
    );
    expect(result!.id).toBe(`${jobId}-${a.address.toLowerCase()}`);
    const r = result!.data;
    expect(r).toMatchObject({ jobId, status: 'ok', cluster, contractId: d.contractId });
    expect(r.proof.kind).toBe('substrate');
    expect(checkResult(request, r, undefined)).toEqual({ ok: true });
    expect(text(r.publicOutput)).toBe('count 1 from phala');
    const sealed = JSON.parse(f.openOutput(r, responseKey));
    expect(sealed).toMatchObject({
      text: 'hello',
      n: 1,
      origin: { kind: 'phala', requester: request.requester },
    });
    const job = await f.queue(requestQueueName(cluster)).getJob(jobId);
    expect(await job!.getState()).toBe('completed');

    // What the relayer does next, on the real chain: fulfil, with the new state in the same extrinsic.
    const commit = r.stateCommit!;
    expect(commit.expectedVersion).toBe('0');
    const fulfilled = await contracts.fulfill(f.t.client, {
      signer: f.t.charlie,
      requestId: r.requestId,
      publicOutput: r.publicOutput,
      sealedOutput: r.sealedOutput,
      stateRoot: r.stateRoot,
      stateCommit: { expectedVersion: BigInt(commit.expectedVersion), state: commit.sealedState },
      signature: r.proof.signature,
    });
    expect(fulfilled.event.worker).toBe(a.enclave.publicIdentity.secp256k1);
    expect((await contracts.getContractState(f.t.client, d.contractId))?.version).toBe(1n);
  });

  it('serves an EVM-origin request with an EIP-712 proof, on the committed state', async () => {
    const responseKey = generateKeyPair('x25519');
    const request = await f.evmRequest(d, 'from evm', responseKey);
    const jobId = requestJobId(request.origin, request.requestId);
    await f.enqueue(request);
    const [result] = await f.waitFor(
      async () => {
        const r = await f.resultsFor(jobId);
        return r.length ? r : null;
      },
      20_000,
      'a result',
    );
    const r = result!.data;
    expect(r.proof.kind).toBe('eip712');
    expect(checkResult(request, r, f.genesisHash)).toEqual({ ok: true });
    expect(text(r.publicOutput)).toBe('count 2 from evm');
    expect(r.stateCommit?.expectedVersion).toBe('1');
    expect(JSON.parse(f.openOutput(r, responseKey)).origin).toEqual({
      kind: 'evm',
      chainId: 31337,
      gateway: request.origin.kind === 'evm' ? request.origin.gateway.toLowerCase() : '',
      requester: request.requester.toLowerCase(),
      endUser: request.requester.toLowerCase(),
    });
    // Released only once its state is final on the Phala-style chain (the worker committed it).
    expect((await contracts.getContractState(f.t.client, d.contractId))?.version).toBe(2n);
    // The state commit is signed for the Phala-style chain, by this worker.
    const signer = recoverPayloadSigner(
      (await import('../../../src/phala/payloads.js')).stateCommitPayload({
        genesisHash: f.t.client.genesisHash,
        contractId: fromHex(d.contractId),
        expectedVersion: 1n,
        state: fromHex(r.stateCommit!.sealedState),
        stateRoot: fromHex(r.stateCommit!.stateRoot),
        requestIds: [fromHex(request.requestId)],
      }),
      fromHex(r.stateCommit!.signature),
    );
    expect(toHex(signer!)).toBe(a.enclave.publicIdentity.secp256k1);
  });

  it('serves an XCM-origin request: the id as the pallet computes it, a proof for the Phala-style chain', async () => {
    const responseKey = generateKeyPair('x25519');
    const request = await f.xcmRequest(d, 'from a parachain', responseKey);
    const jobId = requestJobId(request.origin, request.requestId);
    expect(jobId.startsWith('xcm-2000-')).toBe(true);
    await f.enqueue(request);
    const [result] = await f.waitFor(
      async () => {
        const r = await f.resultsFor(jobId);
        return r.length ? r : null;
      },
      20_000,
      'a result',
    );
    const r = result!.data;
    expect(r.proof.kind).toBe('substrate');
    expect(checkResult(request, r, f.genesisHash)).toEqual({ ok: true });
    expect(text(r.publicOutput)).toBe('count 3 from xcm');
    expect(JSON.parse(f.openOutput(r, responseKey)).origin).toEqual({
      kind: 'xcm',
      paraId: 2000,
      location: request.requester,
      requester: request.requester,
      endUser: request.requester,
    });
    const commit = r.stateCommit!;
    // The state goes in the same fulfil, covered by the result's own signature (fulfil v2).
    const fulfilled = await contracts.fulfill(f.t.client, {
      signer: f.t.charlie,
      requestId: r.requestId,
      publicOutput: r.publicOutput,
      sealedOutput: r.sealedOutput,
      stateRoot: r.stateRoot,
      stateCommit: { expectedVersion: BigInt(commit.expectedVersion), state: commit.sealedState },
      signature: r.proof.signature,
    });
    expect(fulfilled.event.requestId).toBe(request.requestId);
  });

  it('gives the same outputs and state as a second worker (determinism)', async () => {
    const engineB = await ContractEngine.start({ threads: 1 });
    const b = await startWorker({
      config: f.config({ cluster, dataDir: f.dataDir('b') }),
      logger: quiet,
      engine: engineB,
      http: false,
    });
    try {
      await f.waitFor(
        () => registry.getWorker(f.t.client, b.enclave.publicIdentity.secp256k1),
        20_000,
        'b registered',
      );
      await f.approve(b.enclave.publicIdentity.secp256k1);
      await f.handOver(b.enclave.publicIdentity, [d]);
      await b.whenServing(20_000);
      await b.whenHasContractKey(d.contractId, 20_000);
      const responseKey = generateKeyPair('x25519');
      // A Phala-style request: its state goes with its fulfilment, so both may run it (an EVM
      // request's worker commits the state itself, which only one run can do).
      const request = await f.phalaRequest(d, 'same for all', responseKey);
      const [ra, rb] = await Promise.all([a.processor.run(request), b.processor.run(request)]);
      expect(ra.worker.address).not.toBe(rb.worker.address);
      expect(ra.publicOutput).toBe(rb.publicOutput);
      expect(ra.stateRoot).toBe(rb.stateRoot);
      expect(ra.gasUsed).toBe(rb.gasUsed);
      expect(ra.stateCommit!.stateRoot).toBe(rb.stateCommit!.stateRoot);
      expect(ra.stateCommit!.expectedVersion).toBe(rb.stateCommit!.expectedVersion);
      // Sealed bytes differ (fresh ephemeral keys); what they seal is the same.
      expect(ra.sealedOutput).not.toBe(rb.sealedOutput);
      expect(f.openOutput(ra, responseKey)).toBe(f.openOutput(rb, responseKey));
      const version = BigInt(ra.stateCommit!.expectedVersion) + 1n;
      expect(toHex(f.openState(d, ra.stateCommit!.sealedState, version))).toBe(
        toHex(f.openState(d, rb.stateCommit!.sealedState, version)),
      );
      expect(checkResult(request, ra, f.genesisHash)).toEqual({ ok: true });
      expect(checkResult(request, rb, f.genesisHash)).toEqual({ ok: true });
    } finally {
      await b.stop({ graceMs: 1_000 });
      await engineB.close();
    }
  });

  it('rejects, with a recorded reason and nothing signed, a payload that fails the schema or whose id does not derive from its fields', async () => {
    const responseKey = generateKeyPair('x25519');
    const good = await f.evmRequest(d, 'tampered', responseKey);
    const badSchema = { ...good, sealedInput: 'not hex' };
    const badSchemaId = `evm-31337-${randomHash()}`;
    const tampered: RequestJob = { ...good, nonce: '12' };
    const tamperedId = requestJobId(good.origin, good.requestId);
    const queue = f.queue(requestQueueName(cluster));
    await queue.add('request', badSchema, { jobId: badSchemaId });
    await queue.add('request', tampered, { jobId: tamperedId });
    const reasons = await f.waitFor(
      async () => {
        const jobs = await Promise.all([queue.getJob(badSchemaId), queue.getJob(tamperedId)]);
        return jobs.every((j) => j?.finishedOn && j.failedReason) ? jobs.map((j) => j!.failedReason) : null;
      },
      20_000,
      'both rejected',
    );
    expect(reasons[0]).toMatch(/^bad-payload: sealedInput: /);
    expect(reasons[1]).toMatch(/^request-id-mismatch: /);
    expect(await f.resultsFor(badSchemaId)).toEqual([]);
    expect(await f.resultsFor(tamperedId)).toEqual([]);
    const view = (await (await fetch(`${a.url}/info`)).json()) as {
      recentRejections: { jobId: string; reason: string }[];
    };
    expect(view.recentRejections).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ jobId: badSchemaId, reason: 'bad-payload' }),
        expect.objectContaining({ jobId: tamperedId, reason: 'request-id-mismatch' }),
      ]),
    );
  });

  it('defers requests for a contract whose key it lacks, refuses a handover of a key the chain did not publish, and serves once handed the right key', async () => {
    const d2 = await f.deploy(cluster);
    const responseKey = generateKeyPair('x25519');
    const request = await f.evmRequest(d2, 'later', responseKey);
    const jobId = requestJobId(request.origin, request.requestId);
    const job = await f.enqueue(request);
    await f.waitFor(
      async () => (await a.info()).stats.deferred > 0 && (await job.getState()) !== 'active',
      10_000,
      'deferral',
    );
    expect(['delayed', 'waiting']).toContain(await job.getState());
    expect(await f.resultsFor(jobId)).toEqual([]);
    // A handover of some other key for d2: the published key does not match, so it is refused.
    const refusedBefore = a.info().stats.keysRefused;
    await f.handOver(a.enclave.publicIdentity, [{ ...d2, key: generateKeyPair('x25519') }]);
    await f.waitFor(async () => a.info().stats.keysRefused > refusedBefore, 10_000, 'refusal');
    expect(a.enclave.hasContractKey(d2.contractId)).toBe(false);
    await f.handOver(a.enclave.publicIdentity, [d2]);
    const [result] = await f.waitFor(
      async () => {
        const r = await f.resultsFor(jobId);
        return r.length ? r : null;
      },
      20_000,
      'a result after the handover',
    );
    expect(text(result!.data.publicOutput)).toBe('count 1 from evm');
  });

  it('answers a direct query sealed end to end, and validates every body', async () => {
    const responseKey = generateKeyPair('x25519');
    const sealedQuery = sealEnvelope({
      recipientPublicKey: d.key.publicKey,
      purpose: 'request',
      context: requestContext('query', responseKey.publicKey, fromHex(d.contractId), responseKey.publicKey),
      plaintext: utf8('how many?'),
    });
    const post = (body: unknown, type = 'application/json') =>
      fetch(`${a.url}/query`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const response = await post({
      contractId: d.contractId,
      sealedQuery: toHex(sealedQuery),
      responseKey: toHex(responseKey.publicKey),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      queryId: Hex;
      sealedOutput: Hex;
      status: string;
      worker: { publicKey: Hex };
    };
    expect(answer.status).toBe('ok');
    expect(answer.queryId).toBe(toHex(blake2_256(sealedQuery)));
    expect(answer.worker.publicKey).toBe(a.enclave.publicIdentity.secp256k1);
    const opened = openEnvelope({
      recipientSecretKey: responseKey.secretKey,
      purpose: 'output',
      context: outputContext(fromHex(answer.queryId)),
      envelope: fromHex(answer.sealedOutput),
    });
    // The committed state: version 2, from the XCM request (the EVM request's commit was never submitted).
    expect(JSON.parse(Buffer.from(opened).toString())).toEqual({ count: '3', asked: 'how many?' });

    expect((await post({ contractId: d.contractId })).status).toBe(400);
    expect((await post('{not json')).status).toBe(400);
    expect(
      (
        await post({
          contractId: d.contractId,
          sealedQuery: '0x01',
          responseKey: toHex(responseKey.publicKey),
          extra: 1,
        })
      ).status,
    ).toBe(400);
    expect((await post('x', 'text/plain')).status).toBe(415);
    const big = await post({
      contractId: d.contractId,
      sealedQuery: `0x${'ab'.repeat(600_000)}`,
      responseKey: toHex(responseKey.publicKey),
    });
    expect(big.status).toBe(413);
    const unknown = await post({
      contractId: randomHash(),
      sealedQuery: toHex(sealedQuery),
      responseKey: toHex(responseKey.publicKey),
    });
    expect(unknown.status).toBe(404);
    const wrongKey = await post({
      contractId: d.contractId,
      sealedQuery: toHex(sealedQuery),
      responseKey: toHex(generateKeyPair('x25519').publicKey),
    });
    expect(wrongKey.status).toBe(422);
    expect((await fetch(`${a.url}/nothing`)).status).toBe(404);
    expect((await fetch(`${a.url}/query`)).status).toBe(405);
  });

  it('restarts with the same identity, registration and keys, and serves at once', async () => {
    const before = a.enclave.publicIdentity;
    const registeredAt = (await registry.getWorker(f.t.client, before.secp256k1))!.registeredAt;
    await a.stop({ graceMs: 2_000 });
    a = await startWorker({ config: f.config({ cluster, dataDir: f.dataDir('a') }), logger: quiet, engine });
    expect(a.enclave.createdIdentity).toBe(false);
    expect(a.enclave.publicIdentity).toEqual(before);
    expect(a.enclave.hasContractKey(d.contractId)).toBe(true);
    await a.whenServing(10_000);
    expect((await registry.getWorker(f.t.client, before.secp256k1))!.registeredAt).toBe(registeredAt);
    const responseKey = generateKeyPair('x25519');
    const request = await f.evmRequest(d, 'after restart', responseKey);
    await f.enqueue(request);
    const jobId = requestJobId(request.origin, request.requestId);
    const [result] = await f.waitFor(
      async () => {
        const r = await f.resultsFor(jobId);
        return r.length ? r : null;
      },
      20_000,
      'a result after restart',
    );
    expect((result!.data as ResultJob).worker.address).toBe(before.address);
  });
});

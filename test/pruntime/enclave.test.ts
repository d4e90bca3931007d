import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { EnvelopeOpenError, openEnvelope, sealEnvelope } from '../../src/crypto/envelope.js';
import { outputContext, requestContext, stateContext } from '../../src/crypto/envelope-context.js';
import { blake2_256 } from '../../src/crypto/hash.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { type KeyPair, generateKeyPair } from '../../src/crypto/keys.js';
import {
  fulfillmentDigest,
  fulfillmentOf,
  recoverSubstrateFulfillmentSigner,
  recoverTypedSigner,
} from '../../src/crypto/proofs.js';
import { reportDataFor } from '../../src/crypto/report-data.js';
import { recoverPublicKeySubstrate } from '../../src/crypto/signatures.js';
import { parseSimQuote, simQuoteSignatureValid } from '../../src/crypto/sim-quote.js';
import { recoverStateCommitSigner } from '../../src/crypto/state-commit.js';
import {
  Enclave,
  EnclaveRefusalError,
  type ExecuteRequest,
  IdentityUnsealError,
  KeyMismatchError,
  SimPlatform,
} from '../../src/pruntime/enclave/index.js';
import { Sealer } from '../../src/pruntime/enclave/sealing.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { ContractState } from '../../src/pruntime/engine/state.js';

const PLATFORM_SECRET = new Uint8Array(32).fill(0x51);
const CA_KEY = new Uint8Array(32).fill(0xca);
const MEASUREMENT = new Uint8Array(32).fill(0x4d);
const CONTRACT_ID = toHex(new Uint8Array(32).fill(0xc1));
const OTHER_CONTRACT_ID = toHex(new Uint8Array(32).fill(0xc2));
const ORIGIN_KEY = 'evm-31337';
const REQUESTER = new Uint8Array(20).fill(0xaa);
const EVM_TARGET = {
  kind: 'evm' as const,
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const,
};
const GENESIS = toHex(new Uint8Array(32).fill(0x6e));

const COUNTER = `
export function handle(input, ctx) {
  const n = Number(ctx.state.get('n') ?? '0') + 1;
  ctx.state.set('n', String(n));
  ctx.state.set('last', input);
  return { public: 'count ' + n, sealed: ctx.json.encode({ n, input: ctx.utf8.decode(input), luck: ctx.hex.encode(ctx.random(8)) }) };
}
export function query(input, ctx) { return { n: ctx.state.get('n'), asked: ctx.utf8.decode(input) }; }
`;

let engine: ContractEngine;
const dirs: string[] = [];
const contractKey = generateKeyPair('x25519');
const otherContractKey = generateKeyPair('x25519');
const responseKey = generateKeyPair('x25519');

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enclave-'));
  dirs.push(dir);
  return dir;
}

function platform(overrides: { measurement?: Uint8Array; platformSecret?: Uint8Array } = {}) {
  return new SimPlatform({
    platformSecret: overrides.platformSecret ?? PLATFORM_SECRET,
    platformCaKey: CA_KEY,
    measurement: overrides.measurement ?? MEASUREMENT,
    now: () => 1_700_000_000n,
  });
}

async function openEnclave(dataDir = tempDir(), overrides = {}) {
  return Enclave.open({ dataDir, platform: platform(overrides), engine });
}

async function handOver(enclave: Enclave, key: KeyPair = contractKey, id: Hex = CONTRACT_ID, epoch = 1) {
  const envelope = sealKeyHandover(fromHex(enclave.publicIdentity.x25519), {
    kind: 'contract',
    id: fromHex(id),
    epoch,
    secretKey: key.secretKey,
  });
  return enclave.receiveKeyHandover({ envelope, epoch, expectedPublicKey: key.publicKey });
}

function sealedInput(text: string, key = contractKey.publicKey, requester = REQUESTER): Uint8Array {
  return sealEnvelope({
    recipientPublicKey: key,
    purpose: 'request',
    context: requestContext(ORIGIN_KEY, requester, fromHex(CONTRACT_ID), responseKey.publicKey),
    plaintext: utf8(text),
  });
}

function request(overrides: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return {
    contractId: CONTRACT_ID,
    code: COUNTER,
    originKey: ORIGIN_KEY,
    origin: { kind: 'evm', chainId: 31337 },
    requester: REQUESTER,
    requestId: toHex(new Uint8Array(32).fill(0x01)),
    sealedInput: sealedInput('hello'),
    responseKey: responseKey.publicKey,
    state: null,
    target: EVM_TARGET,
    ...overrides,
  };
}

beforeAll(async () => {
  engine = await ContractEngine.start();
});
afterAll(async () => {
  await engine?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('enclave identity', () => {
  it('is made on first start, sealed to disk, and the same after a restart', async () => {
    const dir = tempDir();
    const first = await openEnclave(dir);
    expect(first.createdIdentity).toBe(true);
    const file = path.join(dir, 'identity.sealed');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await openEnclave(dir);
    expect(again.createdIdentity).toBe(false);
    expect(again.publicIdentity).toEqual(first.publicIdentity);
  });

  it('cannot be opened by a build with another measurement, or on another platform', async () => {
    const dir = tempDir();
    await openEnclave(dir);
    await expect(openEnclave(dir, { measurement: new Uint8Array(32).fill(0x4e) })).rejects.toBeInstanceOf(
      IdentityUnsealError,
    );
    await expect(openEnclave(dir, { platformSecret: new Uint8Array(32).fill(0x52) })).rejects.toBeInstanceOf(
      IdentityUnsealError,
    );
    // The refusal leaves the sealed identity in place for the right build.
    expect((await openEnclave(dir)).createdIdentity).toBe(false);
  });

  it('never hands secret keys to the host: not in JSON, inspect, results or files in the clear', async () => {
    const dir = tempDir();
    const enclave = await openEnclave(dir);
    await handOver(enclave);
    // The test knows the platform secret and measurement, so it can unseal what the host cannot.
    const sealer = Sealer.derive(PLATFORM_SECRET, MEASUREMENT);
    const identity = sealer.open('identity', readFileSync(path.join(dir, 'identity.sealed')));
    const secrets = [identity.subarray(5, 37), identity.subarray(37, 69), contractKey.secretKey].map((s) =>
      toHex(s).slice(2),
    );
    const result = await enclave.execute(request());
    const visible = [
      JSON.stringify(enclave),
      inspect(enclave, { depth: 10, showHidden: true }),
      JSON.stringify(enclave.keys()),
      JSON.stringify(result, (_, v) =>
        typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? toHex(v) : v,
      ),
      toHex(await enclave.quote()),
      ...readdirSync(path.join(dir, 'keys')).map((f) => toHex(readFileSync(path.join(dir, 'keys', f)))),
      toHex(readFileSync(path.join(dir, 'identity.sealed'))),
    ].join('\n');
    for (const secret of secrets) expect(visible.includes(secret)).toBe(false);
    expect(Object.keys(enclave)).not.toContain('identity');
  });
});

describe('attestation (sim provider)', () => {
  it('quotes bind the worker public keys, the measurement and the platform CA', async () => {
    const enclave = await openEnclave();
    const quote = parseSimQuote(await enclave.quote());
    expect(quote).not.toBeNull();
    expect(simQuoteSignatureValid(quote!)).toBe(true);
    expect(toHex(quote!.platformCaPublicKey)).toBe(toHex(platform().platformCaPublicKey));
    expect(toHex(quote!.measurement)).toBe(toHex(MEASUREMENT));
    expect(enclave.measurement).toBe(toHex(MEASUREMENT));
    const expected = reportDataFor(
      fromHex(enclave.publicIdentity.secp256k1),
      fromHex(enclave.publicIdentity.x25519),
    );
    expect(toHex(quote!.reportData)).toBe(toHex(expected));
    expect(quote!.issuedAt).toBe(1_700_000_000n);
    const nonce = new Uint8Array(32).fill(0x99);
    const fresh = parseSimQuote(await enclave.quote(nonce))!;
    expect(toHex(fresh.reportData.subarray(32))).toBe(toHex(nonce));
    // Another worker's quote binds other keys.
    const other = parseSimQuote(await (await openEnclave()).quote())!;
    expect(toHex(other.reportData)).not.toBe(toHex(quote!.reportData));
  });

  it('by default measures this checkout', async () => {
    const sim = new SimPlatform({ platformSecret: PLATFORM_SECRET, platformCaKey: CA_KEY });
    const { computeCodeMeasurement } = await import('../../src/pruntime/enclave/measurement.js');
    expect(toHex(await sim.measurement())).toBe(toHex(computeCodeMeasurement().measurement));
  });
});

describe('key handover', () => {
  it('opens only for this worker and epoch, checks the published key, and keeps the key sealed at rest', async () => {
    const dir = tempDir();
    const enclave = await openEnclave(dir);
    const info = await handOver(enclave);
    expect(info).toEqual({
      kind: 'contract',
      id: CONTRACT_ID,
      epoch: 1,
      publicKey: toHex(contractKey.publicKey),
    });
    expect(enclave.hasContractKey(CONTRACT_ID)).toBe(true);
    expect(enclave.hasContractKey(OTHER_CONTRACT_ID)).toBe(false);

    const other = await openEnclave();
    const forOther = sealKeyHandover(fromHex(other.publicIdentity.x25519), {
      kind: 'contract',
      id: fromHex(OTHER_CONTRACT_ID),
      epoch: 1,
      secretKey: otherContractKey.secretKey,
    });
    await expect(enclave.receiveKeyHandover({ envelope: forOther, epoch: 1 })).rejects.toBeInstanceOf(
      EnvelopeOpenError,
    );
    const epochTwo = sealKeyHandover(fromHex(enclave.publicIdentity.x25519), {
      kind: 'contract',
      id: fromHex(OTHER_CONTRACT_ID),
      epoch: 2,
      secretKey: otherContractKey.secretKey,
    });
    await expect(enclave.receiveKeyHandover({ envelope: epochTwo, epoch: 1 })).rejects.toBeInstanceOf(
      EnvelopeOpenError,
    );
    await expect(
      enclave.receiveKeyHandover({ envelope: epochTwo, epoch: 2, expectedPublicKey: contractKey.publicKey }),
    ).rejects.toBeInstanceOf(KeyMismatchError);

    const files = readdirSync(path.join(dir, 'keys'));
    expect(files).toEqual([`contract-${CONTRACT_ID.slice(2)}-1.sealed`]);
    const atRest = readFileSync(path.join(dir, 'keys', files[0]!));
    expect(atRest.includes(Buffer.from(contractKey.secretKey))).toBe(false);

    const restarted = await openEnclave(dir);
    expect(restarted.keys()).toEqual([info]);
    const result = await restarted.execute(request());
    expect(result.status).toBe('ok');
  });
});

describe('executing requests', () => {
  let worker: Enclave;
  beforeAll(async () => {
    worker = await openEnclave();
    await handOver(worker);
  });

  it('signs an EVM fulfillment the gateway can check, seals the output to the requester and the state to the contract', async () => {
    const r = request();
    const result = await worker.execute(r);
    expect(result.status).toBe('ok');
    expect(Buffer.from(result.publicOutput).toString()).toBe('count 1');
    const digest = fulfillmentDigest(
      EVM_TARGET,
      fulfillmentOf(r.requestId, result.publicOutput, result.sealedOutput, result.stateRoot),
    );
    expect(recoverTypedSigner(digest, result.proof.signature)).toBe(worker.publicIdentity.address);
    const sealed = JSON.parse(
      Buffer.from(
        openEnvelope({
          recipientSecretKey: responseKey.secretKey,
          purpose: 'output',
          context: outputContext(fromHex(r.requestId)),
          envelope: result.sealedOutput,
        }),
      ).toString(),
    );
    expect(sealed).toMatchObject({ n: 1, input: 'hello' });

    const commit = result.stateCommit!;
    expect(commit.expectedVersion).toBe(0n);
    expect(commit.newVersion).toBe(1n);
    expect(commit.stateRoot).toBe(result.stateRoot);
    const signer = recoverStateCommitSigner(
      {
        contractId: fromHex(CONTRACT_ID),
        expectedVersion: 0n,
        stateRoot: fromHex(commit.stateRoot),
        sealedState: commit.sealedState,
      },
      fromHex(commit.signature),
    );
    expect(toHex(signer!)).toBe(worker.publicIdentity.secp256k1);
    const state = ContractState.parse(
      openEnvelope({
        recipientSecretKey: contractKey.secretKey,
        purpose: 'state',
        context: stateContext(fromHex(CONTRACT_ID), 1n),
        envelope: commit.sealedState,
      }),
    );
    expect(Buffer.from(state.get(utf8('n'))!.value).toString()).toBe('1');
  });

  it("sealed state opens with neither another contract's key nor another version", async () => {
    const commit = (await worker.execute(request())).stateCommit!;
    expect(() =>
      openEnvelope({
        recipientSecretKey: otherContractKey.secretKey,
        purpose: 'state',
        context: stateContext(fromHex(CONTRACT_ID), 1n),
        envelope: commit.sealedState,
      }),
    ).toThrow(EnvelopeOpenError);
    expect(() =>
      openEnvelope({
        recipientSecretKey: contractKey.secretKey,
        purpose: 'state',
        context: stateContext(fromHex(OTHER_CONTRACT_ID), 1n),
        envelope: commit.sealedState,
      }),
    ).toThrow(EnvelopeOpenError);
    expect(() =>
      openEnvelope({
        recipientSecretKey: contractKey.secretKey,
        purpose: 'state',
        context: stateContext(fromHex(CONTRACT_ID), 2n),
        envelope: commit.sealedState,
      }),
    ).toThrow(EnvelopeOpenError);
  });

  it('continues from committed state and signs Substrate fulfillments', async () => {
    const first = await worker.execute(request());
    const second = await worker.execute(
      request({
        state: { version: 1n, sealed: first.stateCommit!.sealedState },
        target: { kind: 'substrate', genesisHash: GENESIS },
      }),
    );
    expect(Buffer.from(second.publicOutput).toString()).toBe('count 2');
    expect(second.stateCommit!.expectedVersion).toBe(1n);
    expect(second.proof.kind).toBe('substrate');
    const signer = recoverSubstrateFulfillmentSigner(
      {
        genesisHash: fromHex(GENESIS),
        requestId: fromHex(request().requestId),
        publicOutput: second.publicOutput,
        sealedOutput: second.sealedOutput,
        stateRoot: fromHex(second.stateRoot),
        // A result that changes state is signed with that state (fulfil v2, PROTOCOL §4).
        stateCommit: { expectedVersion: 1n, stateHash: blake2_256(second.stateCommit!.sealedState) },
      },
      fromHex(second.proof.signature),
    );
    expect(toHex(signer!)).toBe(worker.publicIdentity.secp256k1);
    expect(second.stateCommit!.signature).toBe(second.proof.signature);
  });

  it('two workers holding the contract key agree on outputs, state root, random bytes and gas', async () => {
    const twin = await openEnclave();
    await handOver(twin);
    const a = await worker.execute(request());
    const b = await twin.execute(request());
    expect(toHex(a.publicOutput)).toBe(toHex(b.publicOutput));
    expect(a.stateRoot).toBe(b.stateRoot);
    expect(a.gasUsed).toBe(b.gasUsed);
    const open = (envelope: Uint8Array) =>
      Buffer.from(
        openEnvelope({
          recipientSecretKey: responseKey.secretKey,
          purpose: 'output',
          context: outputContext(fromHex(request().requestId)),
          envelope,
        }),
      ).toString();
    // Envelopes differ (fresh ephemeral keys); what they carry, ctx.random included, does not.
    expect(toHex(a.sealedOutput)).not.toBe(toHex(b.sealedOutput));
    expect(open(a.sealedOutput)).toBe(open(b.sealedOutput));
    expect(a.proof.signature).not.toBe(b.proof.signature);
  });

  it('signs a contract failure as a result, with the error name as public output and no state change', async () => {
    const result = await worker.execute(
      request({ code: 'export function handle() { while (true) {} }', limits: { gas: 100_000 } }),
    );
    expect(result.status).toBe('contract-error');
    expect(result.errorCode).toBe('OutOfGas');
    expect(Buffer.from(result.publicOutput).toString()).toBe('OutOfGas');
    expect(result.stateCommit).toBeNull();
    expect(result.sealedOutput).toHaveLength(0);
    const digest = fulfillmentDigest(
      EVM_TARGET,
      fulfillmentOf(request().requestId, result.publicOutput, result.sealedOutput, result.stateRoot),
    );
    expect(recoverTypedSigner(digest, result.proof.signature)).toBe(worker.publicIdentity.address);
  });

  it('refuses, without signing anything, what it cannot or must not run', async () => {
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ran',
        (e: unknown) => (e instanceof EnclaveRefusalError ? e.reason : String(e)),
      );
    expect(await refusal(worker.execute(request({ contractId: OTHER_CONTRACT_ID })))).toBe('no-contract-key');
    expect(
      await refusal(worker.execute(request({ sealedInput: sealedInput('x', otherContractKey.publicKey) }))),
    ).toBe('input-unreadable');
    // An input copied from another requester's request cannot be replayed with this requester.
    expect(await refusal(worker.execute(request({ requester: new Uint8Array(20).fill(0xbb) })))).toBe(
      'input-unreadable',
    );
    // A relayer that swaps in its own response key cannot have the answer sealed to it.
    expect(await refusal(worker.execute(request({ responseKey: generateKeyPair('x25519').publicKey })))).toBe(
      'input-unreadable',
    );
    expect(await refusal(worker.execute(request({ codeHash: toHex(blake2_256(utf8('other code'))) })))).toBe(
      'code-mismatch',
    );
    expect(
      await refusal(worker.execute(request({ state: { version: 3n, sealed: new Uint8Array(100) } }))),
    ).toBe('state-unreadable');
    await expect(worker.execute(request({ requestId: '0x1234' as Hex }))).rejects.toThrow(/requestId/);
    const codeHash = toHex(blake2_256(utf8(COUNTER)));
    expect((await worker.execute(request({ codeHash }))).status).toBe('ok');
  });

  it('answers queries sealed end to end, signed by the worker', async () => {
    const committed = await worker.execute(request());
    const sealedQuery = sealEnvelope({
      recipientPublicKey: contractKey.publicKey,
      purpose: 'request',
      context: requestContext('query', responseKey.publicKey, fromHex(CONTRACT_ID), responseKey.publicKey),
      plaintext: utf8('how many?'),
    });
    const result = await worker.query({
      contractId: CONTRACT_ID,
      code: COUNTER,
      sealedQuery,
      responseKey: responseKey.publicKey,
      state: { version: 1n, sealed: committed.stateCommit!.sealedState },
    });
    expect(result.status).toBe('ok');
    expect(result.queryId).toBe(toHex(blake2_256(sealedQuery)));
    const answer = openEnvelope({
      recipientSecretKey: responseKey.secretKey,
      purpose: 'output',
      context: outputContext(fromHex(result.queryId)),
      envelope: result.sealedOutput,
    });
    expect(JSON.parse(Buffer.from(answer).toString())).toEqual({ n: '1', asked: 'how many?' });
    const { compactAddLength, stringToU8a } = await import('@polkadot/util');
    const digest = blake2_256(
      Uint8Array.from([
        ...compactAddLength(stringToU8a('phala-bridge/query/v1')),
        ...fromHex(CONTRACT_ID),
        ...fromHex(result.queryId),
        ...blake2_256(result.sealedOutput),
      ]),
    );
    expect(toHex(recoverPublicKeySubstrate(digest, fromHex(result.signature))!)).toBe(
      worker.publicIdentity.secp256k1,
    );
  });

  it('signs worker messages under their own tag', async () => {
    const signature = worker.signWorkerMessage('heartbeat', 7n, utf8('ok'));
    const { compactAddLength, stringToU8a } = await import('@polkadot/util');
    const seq = new Uint8Array(8);
    seq[0] = 7;
    const digest = blake2_256(
      Uint8Array.from([
        ...compactAddLength(stringToU8a('phala-bridge/worker-message/v1')),
        ...compactAddLength(stringToU8a('heartbeat')),
        ...seq,
        ...compactAddLength(utf8('ok')),
      ]),
    );
    expect(toHex(recoverPublicKeySubstrate(digest, fromHex(signature))!)).toBe(
      worker.publicIdentity.secp256k1,
    );
  });
});

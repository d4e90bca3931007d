import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { u8aConcat } from '@polkadot/util';
import { describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../../src/base/bytes.js';
import { InvalidInputError } from '../../../src/base/errors.js';
import { blake2_256 } from '../../../src/crypto/hash.js';
import { substrateFulfillmentPayload } from '../../../src/crypto/proofs.js';
import { recoverPublicKeySubstrate } from '../../../src/crypto/signatures.js';
import { computeRequestIdFromInput } from '../../../src/evm/request-id.js';
import { requestIdOf } from '../../../src/phala/ids.js';
import { stateCommitPayload } from '../../../src/phala/payloads.js';
import { requestJobId } from '../../../src/protocol/origin.js';
import type { RequestJob } from '../../../src/protocol/request-job.js';
import { EnclaveIdentity } from '../../../src/pruntime/enclave/identity.js';
import { Sealer } from '../../../src/pruntime/enclave/sealing.js';
import {
  TransactionSigningRefusedError,
  identityTransactionSigner,
} from '../../../src/pruntime/enclave/transaction-signer.js';
import {
  type RequestCheckContext,
  RequestRejectedError,
  checkRequest,
  contractOrigin,
  expectedRequestId,
  decodeKeyHandoverMessage,
  encodeKeyHandoverMessage,
  parseRequestJob,
  registrationStatusOf,
  shouldRegister,
  signingTarget,
} from '../../../src/pruntime/worker/index.js';
import type { WorkerInfo } from '../../../src/phala/types.js';

/** The worker's pure parts: request checks per origin, the handover wire format, registration states, the chain signer. */

const h = (byte: number, length = 32) => toHex(new Uint8Array(length).fill(byte));
const CLUSTER = h(0xc1);
const GENESIS = h(0x6e);
const CONTRACT = h(0xc0);
const NOW = 1_800_000_000;
const context: RequestCheckContext = {
  cluster: CLUSTER,
  phalaGenesisHash: GENESIS,
  xcmOriginIndex: 1,
  evmGateways: null,
};
const observed = { chain: 'x', blockNumber: 1, blockHash: h(0xbb), at: 0 };

function evmJob(overrides: Partial<RequestJob> = {}): RequestJob {
  const origin = { kind: 'evm' as const, chainId: 31337, gateway: h(0x9a, 20) };
  const base = {
    v: 1 as const,
    origin,
    contractId: CONTRACT,
    cluster: CLUSTER,
    requester: h(0x42, 20),
    nonce: '5',
    sealedInput: '0x0102030405' as Hex,
    responseKey: h(0x33),
    deadline: NOW + 60,
    observed,
  };
  const requestId = computeRequestIdFromInput({
    chainId: origin.chainId,
    gateway: origin.gateway,
    nonce: 5n,
    requester: base.requester,
    endUser: base.requester,
    contractId: CONTRACT,
    responseKey: base.responseKey,
    sealedInput: base.sealedInput,
  });
  return { ...base, requestId, ...overrides };
}

function phalaJob(): RequestJob {
  const requester = h(0xa1);
  const sealedInput = '0xaabbcc' as Hex;
  const requestId = toHex(
    requestIdOf({ kind: 'signed', account: fromHex(requester) }, 9n, fromHex(CONTRACT), fromHex(sealedInput)),
  );
  return {
    v: 1,
    origin: { kind: 'phala', genesisHash: GENESIS },
    requestId,
    contractId: CONTRACT,
    cluster: CLUSTER,
    requester,
    nonce: '9',
    sealedInput,
    responseKey: h(0x33),
    deadline: NOW + 60,
    observed,
  };
}

function xcmJob(): RequestJob {
  // Location { parents: 1, interior: X1([Parachain(2000)]) } in SCALE.
  const location = '0x010100401f' as Hex;
  const sealedInput = '0x0102' as Hex;
  const requestId = toHex(
    requestIdOf(
      { kind: 'encoded', bytes: u8aConcat([1], fromHex(location)) },
      3n,
      fromHex(CONTRACT),
      fromHex(sealedInput),
    ),
  );
  return {
    v: 1,
    origin: { kind: 'xcm', paraId: 2000, location },
    requestId,
    contractId: CONTRACT,
    cluster: CLUSTER,
    requester: location,
    nonce: '3',
    sealedInput,
    responseKey: h(0x33),
    deadline: NOW + 60,
    observed,
  };
}

function rejection(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof RequestRejectedError) return error.shortMessage;
    throw error;
  }
  return 'accepted';
}

describe('request checks', () => {
  it('accepts a request whose id derives from its fields, for each origin kind', () => {
    for (const job of [evmJob(), phalaJob(), xcmJob()]) {
      expect(rejection(() => checkRequest(job, requestJobId(job.origin, job.requestId), context, NOW))).toBe(
        'accepted',
      );
    }
  });

  it('rejects any field that the id does not derive from', () => {
    const job = evmJob();
    const changed: Partial<RequestJob>[] = [
      { nonce: '6' },
      { requester: h(0x43, 20) },
      { contractId: h(0xc2) },
      { sealedInput: '0x0102030406' },
      { origin: { kind: 'evm', chainId: 1, gateway: h(0x9a, 20) } },
      { origin: { kind: 'evm', chainId: 31337, gateway: h(0x9b, 20) } },
    ];
    for (const change of changed) {
      const tampered = { ...job, ...change, cluster: job.cluster };
      expect(rejection(() => checkRequest(tampered, undefined, context, NOW))).toMatch(
        /^request-id-mismatch: /,
      );
    }
    const phala = phalaJob();
    expect(rejection(() => checkRequest({ ...phala, nonce: '10' }, undefined, context, NOW))).toMatch(
      /^request-id-mismatch/,
    );
    const xcm = xcmJob();
    expect(
      rejection(() => checkRequest({ ...xcm, requester: '0x010100411f' }, undefined, context, NOW)),
    ).toMatch(/^request-id-mismatch/);
  });

  it('rejects other clusters, unknown origins, passed deadlines, foreign job ids and malformed requesters', () => {
    expect(rejection(() => checkRequest({ ...evmJob(), cluster: h(0xc9) }, undefined, context, NOW))).toMatch(
      /^wrong-cluster/,
    );
    const otherChain = { ...phalaJob(), origin: { kind: 'phala' as const, genesisHash: h(0x6f) } };
    expect(rejection(() => checkRequest(otherChain, undefined, context, NOW))).toMatch(/^unsupported-origin/);
    expect(
      rejection(() => checkRequest(xcmJob(), undefined, { ...context, xcmOriginIndex: null }, NOW)),
    ).toMatch(/^unsupported-origin/);
    const gateways = { ...context, evmGateways: [{ chainId: 31337, gateway: h(0x01, 20) }] };
    expect(rejection(() => checkRequest(evmJob(), undefined, gateways, NOW))).toMatch(/^unsupported-origin/);
    const listed = {
      ...context,
      evmGateways: [{ chainId: 31337, gateway: h(0x9a, 20).toUpperCase().replace('0X', '0x') as Hex }],
    };
    expect(rejection(() => checkRequest(evmJob(), undefined, listed, NOW))).toBe('accepted');
    expect(rejection(() => checkRequest(evmJob(), undefined, context, NOW + 60))).toMatch(/^deadline-passed/);
    expect(rejection(() => checkRequest(evmJob(), 'evm-31337-0xother', context, NOW))).toMatch(
      /^job-id-mismatch/,
    );
    expect(
      rejection(() => checkRequest(evmJob({ requester: h(0x42, 32) }), undefined, context, NOW)),
    ).toMatch(/^bad-payload: requester/);
    expect(
      rejection(() => checkRequest(evmJob({ nonce: (1n << 64n).toString() }), undefined, context, NOW)),
    ).toMatch(/^bad-payload: nonce/);
  });

  it('names the first bad field of a payload that fails the schema', () => {
    expect(rejection(() => parseRequestJob({ ...evmJob(), sealedInput: 'zz' }))).toMatch(
      /^bad-payload: sealedInput: /,
    );
    expect(rejection(() => parseRequestJob({ ...evmJob(), extra: true }))).toMatch(/^bad-payload: /);
    expect(rejection(() => parseRequestJob('nope'))).toMatch(/^bad-payload: \(root\)/);
    expect(rejection(() => parseRequestJob({ ...evmJob(), v: 2 }))).toMatch(/^bad-payload: v: /);
  });

  it('signs EVM results for the gateway and Phala/XCM results for the Phala-style chain; hands the contract its origin', () => {
    expect(signingTarget(evmJob(), context)).toEqual({
      kind: 'evm',
      chainId: 31337,
      verifyingContract: h(0x9a, 20),
    });
    expect(signingTarget(phalaJob(), context)).toEqual({ kind: 'substrate', genesisHash: GENESIS });
    expect(signingTarget(xcmJob(), context)).toEqual({ kind: 'substrate', genesisHash: GENESIS });
    expect(contractOrigin(xcmJob())).toEqual({
      kind: 'xcm',
      paraId: 2000,
      location: '0x010100401f',
      requester: '0x010100401f',
      endUser: '0x010100401f',
    });
    // An EVM request's end user is the gateway's; absent, the requester.
    expect(contractOrigin(evmJob()).endUser).toBe(h(0x42, 20));
    expect(contractOrigin({ ...evmJob(), endUser: h(0x77, 20) }).endUser).toBe(h(0x77, 20));
  });

  it('binds the EVM end user into the request id, and refuses an end user on other origins', () => {
    const job = evmJob();
    expect(expectedRequestId({ ...job, endUser: h(0x77, 20) }, context)).not.toBe(job.requestId);
    expect(expectedRequestId({ ...job, responseKey: h(0x34) }, context)).not.toBe(job.requestId);
    expect(rejection(() => expectedRequestId({ ...job, endUser: h(0x77, 32) }, context))).toMatch(
      /^bad-payload: endUser/,
    );
    expect(rejection(() => expectedRequestId({ ...phalaJob(), endUser: h(0x77) }, context))).toMatch(
      /^bad-payload: endUser/,
    );
    const phala = phalaJob();
    expect(expectedRequestId({ ...phala, endUser: phala.requester }, context)).toBe(phala.requestId);
  });
});

describe('key handover messages', () => {
  const message = {
    worker: fromHex(h(0x02, 33)),
    workerX25519: fromHex(h(0x05)),
    handovers: [
      {
        kind: 'contract' as const,
        id: fromHex(h(0x11)),
        epoch: 1,
        publicKey: fromHex(h(0x21)),
        envelope: fromHex(h(0x31, 90)),
      },
      {
        kind: 'cluster' as const,
        id: fromHex(h(0x12)),
        epoch: 70000,
        publicKey: fromHex(h(0x22)),
        envelope: fromHex(h(0x32, 3)),
      },
    ],
  };

  it('round-trips, with the layout of the gatekeeper wire format', () => {
    const bytes = encodeKeyHandoverMessage(message);
    expect(toHex(bytes.subarray(0, 5))).toBe('0x50424b4d01');
    expect(bytes.length).toBe(72 + 2 * 71 + 90 + 3);
    expect(decodeKeyHandoverMessage(bytes)).toEqual(message);
  });

  it('refuses malformed messages with one clear error', () => {
    const bytes = encodeKeyHandoverMessage(message);
    const bad = [
      bytes.subarray(0, 50),
      u8aConcat(fromHex('0x58'), bytes.subarray(1)),
      u8aConcat(bytes.subarray(0, 4), [2], bytes.subarray(5)),
      u8aConcat(bytes.subarray(0, 70), [0, 0], bytes.subarray(72)),
      bytes.subarray(0, bytes.length - 1),
      u8aConcat(bytes, [0]),
    ];
    for (const b of bad) expect(() => decodeKeyHandoverMessage(b)).toThrow(InvalidInputError);
  });
});

describe('registration states', () => {
  const me = { x25519: h(0x05), cluster: CLUSTER };
  const info = (status: WorkerInfo['status'], extra: Partial<WorkerInfo> = {}): WorkerInfo => ({
    operator: h(0x01),
    x25519: me.x25519,
    cluster: CLUSTER,
    attestation: '0x00',
    registeredAt: 12,
    status,
    ...extra,
  });
  const approved = {
    kind: 'approved' as const,
    measurement: h(0x4d),
    expiresAt: BigInt(NOW + 100),
    approvedAt: 13,
  };

  it('serves only while approved, unexpired, allowed, as this worker is now', () => {
    expect(registrationStatusOf(null, me, NOW, true).kind).toBe('unregistered');
    expect(registrationStatusOf(info({ kind: 'pending' }), me, NOW, true).kind).toBe('pending');
    expect(registrationStatusOf(info(approved), me, NOW, true)).toMatchObject({
      kind: 'approved',
      expiresAt: NOW + 100,
    });
    expect(registrationStatusOf(info(approved), me, NOW + 100, true).kind).toBe('expired');
    expect(registrationStatusOf(info(approved), me, NOW, false).kind).toBe('measurement-removed');
    expect(registrationStatusOf(info(approved, { cluster: h(0xc2) }), me, NOW, true).kind).toBe('mismatch');
    expect(registrationStatusOf(info(approved, { x25519: h(0x06) }), me, NOW, true).kind).toBe('mismatch');
    expect(
      registrationStatusOf(info({ kind: 'rejected', reason: 'QuoteTooOld' }), me, NOW, true),
    ).toMatchObject({
      kind: 'rejected',
      reason: 'QuoteTooOld',
    });
  });

  it('registers again on its own only when the approval ran out; a verdict waits for the operator', () => {
    const revoked = (reason: string) => ({ kind: 'revoked' as const, registeredAt: 1, reason });
    expect(shouldRegister({ kind: 'unregistered' }, false)).toBe(true);
    expect(shouldRegister({ kind: 'mismatch', registeredAt: 1, detail: '' }, false)).toBe(true);
    expect(shouldRegister({ kind: 'expired', registeredAt: 1, measurement: h(1), expiresAt: 1 }, false)).toBe(
      true,
    );
    expect(shouldRegister(revoked('RegistrationExpired: the approval ended at 5'), false)).toBe(true);
    expect(shouldRegister(revoked('MeasurementRemoved: gone'), false)).toBe(false);
    expect(shouldRegister(revoked('MeasurementRemoved: gone'), true)).toBe(true);
    expect(shouldRegister({ kind: 'rejected', registeredAt: 1, reason: 'x' }, false)).toBe(false);
    expect(shouldRegister({ kind: 'rejected', registeredAt: 1, reason: 'x' }, true)).toBe(true);
    expect(shouldRegister({ kind: 'pending', registeredAt: 1 }, true)).toBe(false);
    expect(
      shouldRegister(
        { kind: 'measurement-removed', registeredAt: 1, measurement: h(1), expiresAt: 9 },
        false,
      ),
    ).toBe(false);
  });
});

describe('the chain account signer', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-signer-'));
  const { identity } = await EnclaveIdentity.loadOrCreate(
    dir,
    Sealer.derive(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)),
  );
  const signer = identityTransactionSigner(identity, 30);

  it('is the ecdsa account of the identity key and signs transactions with it', () => {
    expect(toHex(signer.addressRaw)).toBe(toHex(blake2_256(identity.secp256k1PublicKey)));
    const payload = fromHex('0x2a00deadbeef0102');
    const signature = signer.sign(payload, { withType: true });
    expect(signature[0]).toBe(2);
    expect(toHex(recoverPublicKeySubstrate(blake2_256(payload), signature.subarray(1))!)).toBe(
      toHex(identity.secp256k1PublicKey),
    );
  });

  it('refuses to sign a result, a state commit or any other phala-bridge payload', () => {
    const fulfill = substrateFulfillmentPayload({
      genesisHash: fromHex(GENESIS),
      requestId: fromHex(h(1)),
      publicOutput: new Uint8Array(3),
      sealedOutput: new Uint8Array(0),
      stateRoot: fromHex(h(2)),
    });
    const commit = stateCommitPayload({
      genesisHash: fromHex(GENESIS),
      contractId: fromHex(CONTRACT),
      expectedVersion: 0n,
      state: new Uint8Array(4),
      stateRoot: fromHex(h(3)),
      requestIds: [fromHex(h(1))],
    });
    for (const payload of [fulfill, commit]) {
      expect(() => signer.sign(payload)).toThrow(TransactionSigningRefusedError);
      expect(() => signer.sign(payload, { withType: true })).toThrow(TransactionSigningRefusedError);
    }
  });
});

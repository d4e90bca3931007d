import { describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import { blake2_256 } from '../../src/crypto/hash.js';
import { ethereumAddress, generateKeyPair } from '../../src/crypto/keys.js';
import {
  fulfillmentDigest,
  fulfillmentOf,
  signSubstrateFulfillment,
  signTypedDigest,
} from '../../src/crypto/proofs.js';
import type { Origin } from '../../src/protocol/origin.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { checkResult } from '../../src/relayer/verify-result.js';

/**
 * Every branch of the relayer's result check (src/relayer/verify-result.ts), each against a result
 * signed for real by a fresh secp256k1 worker key: the check must refuse exactly the one thing
 * that was changed, with its own reason, and accept the untouched result.
 */
const worker = generateKeyPair('secp256k1');
const other = generateKeyPair('secp256k1');
const GENESIS = toHex(new Uint8Array(32).fill(0x9e)) as Hex;
const EVM: Origin = { kind: 'evm', chainId: 31337, gateway: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
const PHALA: Origin = { kind: 'phala', genesisHash: GENESIS };
const XCM: Origin = { kind: 'xcm', paraId: 2000, location: '0x010100411f' };

const bytes32 = (fill: number): Hex => toHex(new Uint8Array(32).fill(fill)) as Hex;

function requestFor(origin: Origin): RequestJob {
  return {
    v: 1,
    origin,
    requestId: bytes32(0x11),
    contractId: bytes32(0x22),
    cluster: bytes32(0x33),
    requester: origin.kind === 'evm' ? '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' : bytes32(0x44),
    nonce: '7',
    sealedInput: '0xc0ffee',
    responseKey: bytes32(0x55),
    deadline: 2_000_000_000,
    observed: { chain: 'test', blockNumber: 10, blockHash: bytes32(0x66), at: 1_700_000_000 },
  };
}

type SignOptions = { signer?: Uint8Array; stateCommit?: ResultJob['stateCommit'] };

/** The result a worker holding `signer` would send for `request`, proof made the origin's way. */
function resultFor(request: RequestJob, options: SignOptions = {}): ResultJob {
  const signer = options.signer ?? worker.secretKey;
  const publicOutput = new TextEncoder().encode('hello');
  const sealedOutput = new Uint8Array([1, 2, 3, 4]);
  const stateRoot = bytes32(0x77);
  let proof: ResultJob['proof'];
  if (request.origin.kind === 'evm') {
    const digest = fulfillmentDigest(
      { chainId: request.origin.chainId, verifyingContract: request.origin.gateway },
      fulfillmentOf(request.requestId, publicOutput, sealedOutput, stateRoot),
    );
    proof = { kind: 'eip712', signature: signTypedDigest(digest, signer) };
  } else {
    const commit = options.stateCommit;
    const signature = signSubstrateFulfillment(
      {
        genesisHash: fromHex(GENESIS),
        requestId: fromHex(request.requestId),
        publicOutput,
        sealedOutput,
        stateRoot: fromHex(stateRoot),
        stateCommit: commit
          ? {
              expectedVersion: BigInt(commit.expectedVersion),
              stateHash: blake2_256(fromHex(commit.sealedState)),
            }
          : null,
      },
      signer,
    );
    proof = { kind: 'substrate', signature: toHex(signature) };
  }
  return {
    v: 1,
    jobId: `job-${request.requestId}`,
    origin: request.origin,
    requestId: request.requestId,
    contractId: request.contractId,
    cluster: request.cluster,
    worker: { address: ethereumAddress(worker.publicKey), publicKey: toHex(worker.publicKey) },
    status: 'ok',
    publicOutput: toHex(publicOutput),
    sealedOutput: toHex(sealedOutput),
    stateRoot,
    proof,
    ...(options.stateCommit ? { stateCommit: options.stateCommit } : {}),
    gasUsed: 1234,
    producedAt: 1_700_000_001,
  };
}

const stateCommit = (sealedState: Hex): NonNullable<ResultJob['stateCommit']> => ({
  contractId: bytes32(0x22),
  expectedVersion: '3',
  sealedState,
  stateRoot: bytes32(0x77),
  signature: toHex(new Uint8Array(65)),
});

describe('checkResult: a result signed by its worker for its own request passes', () => {
  it.each([
    ['an EVM origin (EIP-712)', EVM],
    ['a Phala-style origin (fulfil v1)', PHALA],
    ['an XCM origin, checked against the configured Phala-style chain', XCM],
  ])('%s', (_name, origin) => {
    const request = requestFor(origin);
    expect(checkResult(request, resultFor(request), GENESIS)).toEqual({ ok: true });
  });

  it('a stateful Phala-style result is checked under fulfil v2, with its state', () => {
    const request = requestFor(PHALA);
    const result = resultFor(request, { stateCommit: stateCommit('0xabcdef') });
    expect(checkResult(request, result, GENESIS)).toEqual({ ok: true });
    // The same signature over another state is not the worker's.
    const swapped = { ...result, stateCommit: stateCommit('0xabcdee') };
    expect(checkResult(request, swapped, GENESIS)).toEqual({
      ok: false,
      reason: 'proof is not signed by the named worker',
    });
  });
});

describe('checkResult refuses, each for its own reason', () => {
  const evmRequest = requestFor(EVM);
  const phalaRequest = requestFor(PHALA);
  const cases: [string, RequestJob, () => ResultJob, string][] = [
    [
      'a result for another request id',
      evmRequest,
      () => ({ ...resultFor(evmRequest), requestId: bytes32(0x12) }),
      'result is for another request id',
    ],
    [
      'a result for another contract',
      evmRequest,
      () => ({ ...resultFor(evmRequest), contractId: bytes32(0x23) }),
      'result is for another contract',
    ],
    [
      'a result from another cluster',
      evmRequest,
      () => ({ ...resultFor(evmRequest), cluster: bytes32(0x34) }),
      'result is from another cluster',
    ],
    [
      'a result naming another origin',
      evmRequest,
      () => ({ ...resultFor(evmRequest), origin: { ...EVM, chainId: 1 } }),
      'result names another origin',
    ],
    [
      'a worker address that is not its public key’s',
      evmRequest,
      () => {
        const r = resultFor(evmRequest);
        return { ...r, worker: { ...r.worker, address: ethereumAddress(other.publicKey) } };
      },
      'worker address does not match its public key',
    ],
    [
      'a worker public key that is not a compressed secp256k1 key',
      evmRequest,
      () => {
        const r = resultFor(evmRequest);
        return { ...r, worker: { ...r.worker, publicKey: toHex(new Uint8Array(32).fill(1)) } };
      },
      'worker public key is not a compressed secp256k1 key',
    ],
    [
      'a Substrate proof for an EVM origin',
      evmRequest,
      () => ({ ...resultFor(evmRequest), proof: resultFor(phalaRequest).proof }),
      'an EVM origin needs an EIP-712 proof',
    ],
    [
      'an EIP-712 proof by another key',
      evmRequest,
      () => ({ ...resultFor(evmRequest, { signer: other.secretKey }), worker: resultFor(evmRequest).worker }),
      'proof is not signed by the named worker',
    ],
    [
      'an EIP-712 proof over other outputs',
      evmRequest,
      () => ({ ...resultFor(evmRequest), publicOutput: toHex(new TextEncoder().encode('hellO')) }),
      'proof is not signed by the named worker',
    ],
    [
      'an EIP-712 proof for a Phala-style origin',
      phalaRequest,
      () => ({ ...resultFor(phalaRequest), proof: resultFor(evmRequest).proof }),
      'a Substrate destination needs a Substrate proof',
    ],
    [
      'a Substrate proof by another key',
      phalaRequest,
      () => ({ ...resultFor(phalaRequest, { signer: other.secretKey }) }),
      'proof is not signed by the named worker',
    ],
    [
      'a Substrate proof over another state root',
      phalaRequest,
      () => ({ ...resultFor(phalaRequest), stateRoot: bytes32(0x78) }),
      'proof is not signed by the named worker',
    ],
  ];

  it.each(cases)('%s', (_name, request, result, reason) => {
    expect(checkResult(request, result(), GENESIS)).toEqual({ ok: false, reason });
  });

  it('an XCM result when no Phala-style chain is configured to check it against', () => {
    const request = requestFor(XCM);
    expect(checkResult(request, resultFor(request), undefined)).toEqual({
      ok: false,
      reason: 'no Phala-style chain is configured to check this proof against',
    });
  });

  it('a Phala-style proof signed for another chain’s genesis', () => {
    const request = requestFor({ kind: 'phala', genesisHash: bytes32(0x9f) });
    // Signed under GENESIS; the request's own origin names another chain.
    expect(checkResult(request, resultFor(request), GENESIS)).toEqual({
      ok: false,
      reason: 'proof is not signed by the named worker',
    });
  });
});

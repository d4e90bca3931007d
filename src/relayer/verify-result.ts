import { BoundedCache } from '../base/bounded-cache.js';
import { fromHex } from '../base/bytes.js';
import { blake2_256 } from '../crypto/hash.js';
import { ethereumAddress } from '../crypto/keys.js';
import {
  fulfillmentDigest,
  fulfillmentOf,
  isSubstrateFulfillmentSignedBy,
  isTypedSignatureBy,
} from '../crypto/proofs.js';
import type { RequestJob } from '../protocol/request-job.js';
import type { ResultJob } from '../protocol/result-job.js';

export type ResultCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a worker's result against the request it claims to answer and its own proof, before
 * anything is spent on submitting it. The destination chain checks the proof again; this only
 * keeps forged or mismatched results from costing gas and from hiding a request's real answer.
 */
export function checkResult(
  request: RequestJob,
  result: ResultJob,
  phalaGenesisHash: `0x${string}` | undefined,
): ResultCheck {
  const claims = checkResultClaims(request, result);
  return claims.ok ? checkResultProof(request, result, phalaGenesisHash) : claims;
}

/**
 * Everything `checkResult` checks but the worker's signature: the result names the request's id,
 * contract, cluster and origin, and a worker whose address matches its key. A result that goes in
 * a worker batch whose signature covers it (`isSignedBatch`) needs no more: that signature is by
 * the same key, over this very answer.
 */
export function checkResultClaims(request: RequestJob, result: ResultJob): ResultCheck {
  if (result.requestId.toLowerCase() !== request.requestId.toLowerCase())
    return { ok: false, reason: 'result is for another request id' };
  if (result.contractId.toLowerCase() !== request.contractId.toLowerCase())
    return { ok: false, reason: 'result is for another contract' };
  if (result.cluster.toLowerCase() !== request.cluster.toLowerCase())
    return { ok: false, reason: 'result is from another cluster' };
  if (JSON.stringify(result.origin) !== JSON.stringify(request.origin))
    return { ok: false, reason: 'result names another origin' };
  try {
    const workerPublicKey = fromHex(result.worker.publicKey, 'worker.publicKey', 33);
    if (workerAddress(result.worker.publicKey, workerPublicKey) !== result.worker.address.toLowerCase()) {
      return { ok: false, reason: 'worker address does not match its public key' };
    }
  } catch {
    return { ok: false, reason: 'worker public key is not a compressed secp256k1 key' };
  }
  return { ok: true };
}

/** The worker's own signature over one answer (its proof when the answer goes on its own). */
export function checkResultProof(
  request: RequestJob,
  result: ResultJob,
  phalaGenesisHash: `0x${string}` | undefined,
): ResultCheck {
  const workerPublicKey = fromHex(result.worker.publicKey, 'worker.publicKey', 33);
  const publicOutput = fromHex(result.publicOutput);
  const sealedOutput = fromHex(result.sealedOutput);
  if (request.origin.kind === 'evm') {
    if (result.proof.kind !== 'eip712') return { ok: false, reason: 'an EVM origin needs an EIP-712 proof' };
    const digest = fulfillmentDigest(
      { chainId: request.origin.chainId, verifyingContract: request.origin.gateway },
      fulfillmentOf(request.requestId, publicOutput, sealedOutput, result.stateRoot),
    );
    if (!isTypedSignatureBy(digest, result.proof.signature, workerPublicKey))
      return { ok: false, reason: 'proof is not signed by the named worker' };
    return { ok: true };
  }
  if (result.proof.kind !== 'substrate')
    return { ok: false, reason: 'a Substrate destination needs a Substrate proof' };
  const genesis = request.origin.kind === 'phala' ? request.origin.genesisHash : phalaGenesisHash;
  if (!genesis)
    return { ok: false, reason: 'no Phala-style chain is configured to check this proof against' };
  const signed = isSubstrateFulfillmentSignedBy(
    {
      genesisHash: fromHex(genesis),
      requestId: fromHex(request.requestId),
      publicOutput,
      sealedOutput,
      stateRoot: fromHex(result.stateRoot),
      // A stateful result is signed with its state (fulfil v2, PROTOCOL §4).
      stateCommit: result.stateCommit
        ? {
            expectedVersion: BigInt(result.stateCommit.expectedVersion),
            stateHash: blake2_256(fromHex(result.stateCommit.sealedState)),
          }
        : null,
    },
    fromHex(result.proof.signature),
    workerPublicKey,
  );
  if (!signed) return { ok: false, reason: 'proof is not signed by the named worker' };
  return { ok: true };
}

// A worker's address, kept per key: the same few workers answer every result, and deriving it
// decompresses the key each time.
const workerAddresses = new BoundedCache<string, string>(256);
function workerAddress(id: string, publicKey: Uint8Array): string {
  return workerAddresses.get(id.toLowerCase(), () => ethereumAddress(publicKey).toLowerCase());
}

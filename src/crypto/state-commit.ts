import { compactAddLength, stringToU8a } from '@polkadot/util';
import { concatBytes } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { blake2_256 } from './hash.js';
import { recoverPublicKeySubstrate, signDigestSubstrate } from './signatures.js';

/**
 * A worker's signature on a new contract state for `phalaContracts.commitState`:
 *
 *   blake2_256(SCALE("phala-bridge/state/v1", contractId [u8;32], expectedVersion u64,
 *                    stateRoot [u8;32], blake2_256(sealedState) [u8;32]))
 *
 * signed as Substrate ECDSA (r ‖ s ‖ recovery id). The new version is expectedVersion + 1; the
 * chain accepts the commit only while its current version is expectedVersion, so of two workers
 * racing on one state exactly one wins and the other re-runs.
 */
const STATE_COMMIT_TAG = stringToU8a('phala-bridge/state/v1');

export type StateCommit = {
  contractId: Uint8Array;
  expectedVersion: bigint;
  stateRoot: Uint8Array;
  sealedState: Uint8Array;
};

export function stateCommitPayload(commit: StateCommit): Uint8Array {
  if (commit.contractId.length !== 32) throw new InvalidInputError('contractId', '32 bytes');
  if (commit.stateRoot.length !== 32) throw new InvalidInputError('stateRoot', '32 bytes');
  if (commit.expectedVersion < 0n || commit.expectedVersion >= 1n << 64n)
    throw new InvalidInputError('expectedVersion', 'a u64');
  const version = new Uint8Array(8);
  new DataView(version.buffer).setBigUint64(0, commit.expectedVersion, true);
  return concatBytes(
    compactAddLength(STATE_COMMIT_TAG),
    commit.contractId,
    version,
    commit.stateRoot,
    blake2_256(commit.sealedState),
  );
}

export function signStateCommit(commit: StateCommit, secretKey: Uint8Array): Uint8Array {
  return signDigestSubstrate(blake2_256(stateCommitPayload(commit)), secretKey);
}

/** The compressed secp256k1 key that signed this commit, or null for a malformed signature. */
export function recoverStateCommitSigner(commit: StateCommit, signature: Uint8Array): Uint8Array | null {
  return recoverPublicKeySubstrate(blake2_256(stateCommitPayload(commit)), signature);
}

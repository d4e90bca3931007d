import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, u32be, utf8 } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { x25519PublicKey } from '../../crypto/x25519.js';

/**
 * Key derivations from the master key (docs/PROTOCOL.md §3, docs/gatekeeper.md#keys).
 *
 *   contract secret = HKDF-SHA256(ikm = masterKey(epoch), salt = "phala-bridge/contract-key",
 *                                 info = contractId ‖ u32be(epoch), 32 bytes)      → X25519 secret
 *   master public   = X25519 public key of HKDF-SHA256(ikm = masterKey(epoch),
 *                                 salt = "phala-bridge/master-public-key", info = u32be(epoch), 32)
 *
 * The master public key is what the chain records per epoch: anyone can check that a master key
 * handed over between gatekeepers is the one the chain knows, without learning anything of it.
 */
export const CONTRACT_KEY_SALT = utf8('phala-bridge/contract-key');
export const MASTER_PUBLIC_KEY_SALT = utf8('phala-bridge/master-public-key');
export const MASTER_KEY_LENGTH = 32;
/** Epochs are u32: the key handover format and the derivation info carry them as u32be. */
export const MAX_EPOCH = 0xffffffff;

export function checkEpoch(epoch: number): number {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH)
    throw new InvalidInputError('epoch', 'a u32');
  return epoch;
}

function checkMasterKey(masterKey: Uint8Array): void {
  if (masterKey.length !== MASTER_KEY_LENGTH) throw new InvalidInputError('master key', '32 bytes');
}

/** The X25519 secret key of a contract at an epoch. */
export function deriveContractSecretKey(
  masterKey: Uint8Array,
  contractId: Uint8Array,
  epoch: number,
): Uint8Array {
  checkMasterKey(masterKey);
  if (contractId.length !== 32) throw new InvalidInputError('contractId', '32 bytes');
  return hkdf(sha256, masterKey, CONTRACT_KEY_SALT, concatBytes(contractId, u32be(checkEpoch(epoch))), 32);
}

/** The X25519 public key of a contract at an epoch: what clients seal inputs to. */
export function deriveContractPublicKey(
  masterKey: Uint8Array,
  contractId: Uint8Array,
  epoch: number,
): Uint8Array {
  const secret = deriveContractSecretKey(masterKey, contractId, epoch);
  try {
    return x25519PublicKey(secret);
  } finally {
    secret.fill(0);
  }
}

/** The master public key of an epoch (published on chain with the epoch). */
export function deriveMasterPublicKey(masterKey: Uint8Array, epoch: number): Uint8Array {
  checkMasterKey(masterKey);
  const secret = hkdf(sha256, masterKey, MASTER_PUBLIC_KEY_SALT, u32be(checkEpoch(epoch)), 32);
  try {
    return x25519PublicKey(secret);
  } finally {
    secret.fill(0);
  }
}

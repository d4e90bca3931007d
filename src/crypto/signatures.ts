import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Hex } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { ethereumAddress } from './keys.js';

/**
 * Ethereum-style signature over a 32-byte digest: r ‖ s ‖ v with v = 27 + recovery id, the form
 * OpenZeppelin's ECDSA.recover accepts. Low-s by construction.
 */
export function signDigestEthereum(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const recovered = signRecoverable(digest, secretKey);
  const out = new Uint8Array(65);
  out.set(recovered.subarray(1), 0);
  out[64] = 27 + recovered[0]!;
  return out;
}

/** The address that made an Ethereum-style signature, or null for a malformed one. */
export function recoverAddressEthereum(digest: Uint8Array, signature: Uint8Array): Hex | null {
  if (signature.length !== 65) return null;
  const v = signature[64]!;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) return null;
  const pub = recoverPublicKey(digest, concat1(recovery, signature.subarray(0, 64)));
  return pub ? ethereumAddress(pub) : null;
}

/**
 * Substrate-style ECDSA signature (sp_core::ecdsa): r ‖ s ‖ recovery id (0/1), over the
 * digest the caller computed (blake2_256 of the payload).
 */
export function signDigestSubstrate(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const recovered = signRecoverable(digest, secretKey);
  const out = new Uint8Array(65);
  out.set(recovered.subarray(1), 0);
  out[64] = recovered[0]!;
  return out;
}

/** The compressed (33-byte) public key that made a Substrate-style signature, or null. */
export function recoverPublicKeySubstrate(digest: Uint8Array, signature: Uint8Array): Uint8Array | null {
  if (signature.length !== 65) return null;
  const recovery = signature[64]!;
  if (recovery > 1) return null;
  return recoverPublicKey(digest, concat1(recovery, signature.subarray(0, 64)));
}

function signRecoverable(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (digest.length !== 32) throw new InvalidInputError('digest', '32 bytes');
  return secp256k1.sign(digest, secretKey, { prehash: false, format: 'recovered', lowS: true });
}

function recoverPublicKey(digest: Uint8Array, recovered: Uint8Array): Uint8Array | null {
  if (digest.length !== 32) return null;
  try {
    // Reject high-s signatures: they are malleable copies of valid ones.
    const sig = secp256k1.Signature.fromBytes(recovered.subarray(1), 'compact');
    if (sig.hasHighS()) return null;
    return secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
  } catch {
    return null;
  }
}

function concat1(byte: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + rest.length);
  out[0] = byte;
  out.set(rest, 1);
  return out;
}

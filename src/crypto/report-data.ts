import { concatBytes } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { sha256 } from './hash.js';

/**
 * Attestation report data (docs/PROTOCOL.md §5): sha256(secp256k1Pub ‖ x25519Pub) ‖ 32 bytes that
 * are zero, or a freshness nonce where the chain asks for one.
 */
export function reportDataFor(
  secp256k1Pub: Uint8Array,
  x25519Pub: Uint8Array,
  nonce?: Uint8Array,
): Uint8Array {
  if (secp256k1Pub.length !== 33) throw new InvalidInputError('secp256k1Pub', '33 bytes (compressed)');
  if (x25519Pub.length !== 32) throw new InvalidInputError('x25519Pub', '32 bytes');
  if (nonce && nonce.length !== 32) throw new InvalidInputError('nonce', '32 bytes');
  return concatBytes(sha256(concatBytes(secp256k1Pub, x25519Pub)), nonce ?? new Uint8Array(32));
}

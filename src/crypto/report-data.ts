import { concatBytes } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { sha256 } from './hash.js';

/**
 * Attestation report data (docs/PROTOCOL.md §5): sha256(secp256k1Pub ‖ x25519Pub) ‖ freshness.
 *
 * The freshness half is the hash of a recent finalized block of the Phala-style chain, named by the
 * registration (src/crypto/attestation-bundle.ts, v2), so a quote is only good for registrations
 * made within QUOTE_FRESHNESS_BLOCKS blocks after that block (docs/attestation.md#quote-freshness).
 * It is 32 zero bytes where no chain names one (a gatekeeper's quote to its peers).
 */
export function reportDataFor(
  secp256k1Pub: Uint8Array,
  x25519Pub: Uint8Array,
  freshness?: Uint8Array,
): Uint8Array {
  if (secp256k1Pub.length !== 33) throw new InvalidInputError('secp256k1Pub', '33 bytes (compressed)');
  if (x25519Pub.length !== 32) throw new InvalidInputError('x25519Pub', '32 bytes');
  if (freshness && freshness.length !== 32)
    throw new InvalidInputError('freshness', '32 bytes (a block hash)');
  return concatBytes(sha256(concatBytes(secp256k1Pub, x25519Pub)), freshness ?? new Uint8Array(32));
}

/**
 * How many blocks before its registration block a quote's freshness block may be: 100 blocks, 20
 * minutes at Phala's 12 s. Enough for GRANDPA finality lag (usually 2–3 blocks), a DCAP quote
 * (seconds) and a registration retried with back-off (the worker's retries reach 60 s); short
 * against the days Intel takes to re-rate a TCB, so a quote made before a downgrade cannot be
 * registered after it. Within System.BlockHash's 4096-block reach, so the pallet can check it too.
 * A protocol constant, not a setting: every gatekeeper and the pallet must apply the same window.
 */
export const QUOTE_FRESHNESS_BLOCKS = 100;

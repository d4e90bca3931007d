import { concatBytes, utf8 } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';

/**
 * What a worker (or gatekeeper) puts in its registration's `attestation` bytes
 * (docs/gatekeeper.md#attestation-bytes): either a bare quote (sim, or DCAP when the gatekeepers
 * have the collateral), or a quote with its DCAP collateral, as Phala's `AttestationReport::SgxDcap
 * { quote, collateral }` carries both:
 *
 *   "PBAT" ‖ 0x01 ‖ u32be(quote length) ‖ quote ‖ collateral (UTF-8 JSON, docs/attestation.md#collateral)
 *
 * A bare quote never starts with "PBAT" (sim quotes start with "PBSQ", DCAP quotes with a
 * little-endian version 3..5).
 */
export const ATTESTATION_BUNDLE_MAGIC = utf8('PBAT');
const HEADER = 4 + 1 + 4;

export type AttestationBundle = { quote: Uint8Array; collateral: unknown | undefined };

export function encodeAttestationBundle(quote: Uint8Array, collateral?: unknown): Uint8Array {
  if (collateral === undefined) return new Uint8Array(quote);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, quote.length, false);
  return concatBytes(
    ATTESTATION_BUNDLE_MAGIC,
    Uint8Array.of(1),
    length,
    quote,
    utf8(JSON.stringify(collateral)),
  );
}

/** Splits attestation bytes into quote and collateral; throws InvalidInputError for a bad bundle. */
export function decodeAttestationBundle(bytes: Uint8Array): AttestationBundle {
  const isBundle = bytes.length >= 4 && ATTESTATION_BUNDLE_MAGIC.every((b, i) => bytes[i] === b);
  if (!isBundle) return { quote: bytes, collateral: undefined };
  const fail = (what: string): never => {
    throw new InvalidInputError('attestation bundle', `a v1 bundle (${what})`);
  };
  if (bytes.length < HEADER) fail('too short');
  if (bytes[4] !== 1) fail('unsupported version');
  const quoteLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5, false);
  if (quoteLength === 0 || HEADER + quoteLength > bytes.length) fail('quote length out of range');
  const quote = bytes.slice(HEADER, HEADER + quoteLength);
  let collateral: unknown;
  try {
    collateral = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER + quoteLength)),
    );
  } catch {
    fail('collateral is not UTF-8 JSON');
  }
  return { quote, collateral };
}

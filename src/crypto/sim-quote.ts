import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, utf8 } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';

/**
 * The simulated attestation quote (docs/PROTOCOL.md §5), for development only:
 *
 *   "PBSQ" ‖ v=1 (u8) ‖ measurement (32) ‖ reportData (64) ‖ issuedAt (u64 BE, unix seconds)
 *   ‖ platformId (32) ‖ platformCaPublicKey (32) ‖ ed25519 signature (64) over all that precedes it
 *
 * A fixed binary layout (not JSON) so that the signed bytes are exactly the bytes on the wire.
 */
export const SIM_QUOTE_MAGIC = utf8('PBSQ');
export const SIM_QUOTE_LENGTH = 4 + 1 + 32 + 64 + 8 + 32 + 32 + 64;

export type SimQuoteBody = {
  measurement: Uint8Array;
  reportData: Uint8Array;
  issuedAt: bigint;
  platformId: Uint8Array;
};

export type SimQuote = SimQuoteBody & {
  platformCaPublicKey: Uint8Array;
  signature: Uint8Array;
  signedBytes: Uint8Array;
};

export function signSimQuote(body: SimQuoteBody, platformCaSecretKey: Uint8Array): Uint8Array {
  const checks: [string, Uint8Array, number][] = [
    ['measurement', body.measurement, 32],
    ['reportData', body.reportData, 64],
    ['platformId', body.platformId, 32],
  ];
  for (const [field, value, len] of checks)
    if (value.length !== len) throw new InvalidInputError(field, `${len} bytes`);
  const issuedAt = new Uint8Array(8);
  new DataView(issuedAt.buffer).setBigUint64(0, body.issuedAt, false);
  const signed = concatBytes(
    SIM_QUOTE_MAGIC,
    Uint8Array.of(1),
    body.measurement,
    body.reportData,
    issuedAt,
    body.platformId,
    ed25519.getPublicKey(platformCaSecretKey),
  );
  return concatBytes(signed, ed25519.sign(signed, platformCaSecretKey));
}

/** Parses a sim quote's layout; returns null for anything that is not one. Does not verify. */
export function parseSimQuote(bytes: Uint8Array): SimQuote | null {
  if (bytes.length !== SIM_QUOTE_LENGTH) return null;
  for (let i = 0; i < 4; i++) if (bytes[i] !== SIM_QUOTE_MAGIC[i]) return null;
  if (bytes[4] !== 1) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    measurement: bytes.slice(5, 37),
    reportData: bytes.slice(37, 101),
    issuedAt: view.getBigUint64(101, false),
    platformId: bytes.slice(109, 141),
    platformCaPublicKey: bytes.slice(141, 173),
    signature: bytes.slice(173, 237),
    signedBytes: bytes.slice(0, 173),
  };
}

/** True when the quote's signature verifies under its embedded platform CA key. */
export function simQuoteSignatureValid(quote: SimQuote): boolean {
  try {
    return ed25519.verify(quote.signature, quote.signedBytes, quote.platformCaPublicKey);
  } catch {
    return false;
  }
}

import { concatBytes, u32be, utf8 } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';

/**
 * What a worker (or gatekeeper) puts in its registration's `attestation` bytes
 * (docs/gatekeeper.md#attestation-bytes): a bare quote (sim, or DCAP when the gatekeepers have the
 * collateral), or a bundle carrying the quote with its DCAP collateral (as Phala's
 * `AttestationReport::SgxDcap { quote, collateral }` does) and/or the block its freshness names:
 *
 *   v1: "PBAT" ‖ 0x01 ‖ u32be(quote length) ‖ quote ‖ collateral (UTF-8 JSON, docs/attestation.md#collateral)
 *   v2: "PBAT" ‖ 0x02 ‖ u32be(freshness block) ‖ u32be(quote length) ‖ quote ‖ collateral JSON or nothing
 *
 * In v2 the quote's report data ends with the hash of the finalized block `freshness block`
 * (docs/attestation.md#quote-freshness). A bare quote never starts with "PBAT" (sim quotes start
 * with "PBSQ", DCAP quotes with a little-endian version 3..5). Shared by the worker that writes it,
 * the registry pallet that checks the named block, and the gatekeeper that judges it.
 */
export const ATTESTATION_BUNDLE_MAGIC = utf8('PBAT');

export type AttestationBundle = {
  quote: Uint8Array;
  collateral: unknown | undefined;
  /** The finalized block whose hash the quote's report data carries (v2). */
  freshnessBlock?: number | undefined;
};

export function encodeAttestationBundle(
  quote: Uint8Array,
  collateral?: unknown,
  freshnessBlock?: number,
): Uint8Array {
  if (freshnessBlock !== undefined) {
    if (!Number.isInteger(freshnessBlock) || freshnessBlock < 0 || freshnessBlock > 0xffffffff)
      throw new InvalidInputError('freshnessBlock', 'a u32 block number');
    return concatBytes(
      ATTESTATION_BUNDLE_MAGIC,
      Uint8Array.of(2),
      u32be(freshnessBlock),
      u32be(quote.length),
      quote,
      collateral === undefined ? new Uint8Array(0) : utf8(JSON.stringify(collateral)),
    );
  }
  if (collateral === undefined) return new Uint8Array(quote);
  return concatBytes(
    ATTESTATION_BUNDLE_MAGIC,
    Uint8Array.of(1),
    u32be(quote.length),
    quote,
    utf8(JSON.stringify(collateral)),
  );
}

const isBundle = (bytes: Uint8Array) =>
  bytes.length >= 4 && ATTESTATION_BUNDLE_MAGIC.every((b, i) => bytes[i] === b);

/** The block a v2 bundle names, without decoding the rest (undefined: no freshness named). */
export function freshnessBlockOf(bytes: Uint8Array): number | undefined {
  if (!isBundle(bytes) || bytes[4] !== 2 || bytes.length < 9) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5, false);
}

/** Splits attestation bytes into quote, collateral and freshness block; throws InvalidInputError for a bad bundle. */
export function decodeAttestationBundle(bytes: Uint8Array): AttestationBundle {
  if (!isBundle(bytes)) return { quote: bytes, collateral: undefined };
  const fail = (what: string): never => {
    throw new InvalidInputError('attestation bundle', `a v1 or v2 bundle (${what})`);
  };
  const version = bytes[4];
  if (version !== 1 && version !== 2) fail('unsupported version');
  const header = version === 1 ? 9 : 13;
  if (bytes.length < header) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const freshnessBlock = version === 2 ? view.getUint32(5, false) : undefined;
  const quoteLength = view.getUint32(header - 4, false);
  if (quoteLength === 0 || header + quoteLength > bytes.length) fail('quote length out of range');
  const quote = bytes.slice(header, header + quoteLength);
  const rest = bytes.subarray(header + quoteLength);
  let collateral: unknown;
  if (version === 1 || rest.length > 0) {
    try {
      collateral = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(rest));
    } catch {
      fail('collateral is not UTF-8 JSON');
    }
  }
  return version === 2 ? { quote, collateral, freshnessBlock } : { quote, collateral };
}

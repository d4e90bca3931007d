import { concatBytes, fromHex } from '../base/bytes.js';
import { type DecodedXcm, type DecodeOptions, decodeXcm } from './decode.js';
import { XcmDecodeError } from './errors.js';
import { DEFAULT_LIMITS, type DecodeLimits } from './limits.js';
import { runtimeTypesFor, type XcmVersion } from './runtime-types.js';
import { scanScale } from './scale-scan.js';

/**
 * HRMP/XCMP pages (cumulus `XcmpMessageFormat`): one format byte, then the messages. Format 0
 * concatenates VersionedXcm encodings (a receiver must decode each to find the next), 3 prefixes
 * each with its length (double-encoded), 1 carries opaque blobs, 2 channel signals.
 */
export const XcmpFormat = {
  ConcatenatedVersionedXcm: 0,
  ConcatenatedEncodedBlob: 1,
  Signals: 2,
  ConcatenatedOpaqueVersionedXcm: 3,
} as const;

export type XcmpPage =
  | { format: 'ConcatenatedVersionedXcm' | 'ConcatenatedOpaqueVersionedXcm'; messages: DecodedXcm[] }
  | { format: 'ConcatenatedEncodedBlob'; blobs: Uint8Array[] }
  | { format: 'Signals'; signals: Uint8Array };

/** Messages in one XCMP page this reader takes (a page is at most a few hundred KiB on chain). */
const MAX_PAGE_MESSAGES = 1024;

/** Splits and decodes an XCMP page. Throws only XcmDecodeError. */
export function decodeXcmpPage(input: Uint8Array | string, options: DecodeOptions = {}): XcmpPage {
  const limits: DecodeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? fromHex(input.trim(), 'page') : input;
  } catch {
    throw new XcmDecodeError('invalid-hex', 'expected an even-length 0x-hex string');
  }
  if (bytes.length === 0) throw new XcmDecodeError('empty', 'no bytes');
  if (bytes.length > limits.maxBytes * 4) {
    throw new XcmDecodeError('too-large', `page of ${bytes.length} bytes`, {
      limit: { name: 'maxBytes × 4 (page cap)', max: limits.maxBytes * 4, actual: bytes.length },
    });
  }
  const format = bytes[0]!;
  if (format === XcmpFormat.Signals) return { format: 'Signals', signals: bytes.subarray(1) };
  const items: Uint8Array[] = [];
  let pos = 1;
  while (pos < bytes.length) {
    if (items.length >= MAX_PAGE_MESSAGES) {
      throw new XcmDecodeError('too-long', `more than ${MAX_PAGE_MESSAGES} messages in one page`, {
        offset: pos,
        limit: { name: 'MAX_PAGE_MESSAGES', max: MAX_PAGE_MESSAGES, actual: items.length + 1 },
      });
    }
    if (format === XcmpFormat.ConcatenatedVersionedXcm) {
      const version = bytes[pos]!;
      if (version < 2 || version > 5)
        throw new XcmDecodeError('unsupported-version', `version byte ${version}`, { offset: pos });
      const rt = runtimeTypesFor(version as XcmVersion);
      const end = scanScale(rt.table, rt.versioned.xcm, bytes, limits, pos);
      items.push(bytes.subarray(pos, end));
      pos = end;
    } else if (
      format === XcmpFormat.ConcatenatedOpaqueVersionedXcm ||
      format === XcmpFormat.ConcatenatedEncodedBlob
    ) {
      const [len, next] = readLength(bytes, pos);
      if (next + len > bytes.length)
        throw new XcmDecodeError('truncated', `item of ${len} bytes`, { offset: pos });
      items.push(bytes.subarray(next, next + len));
      pos = next + len;
    } else {
      throw new XcmDecodeError('invalid-frame', `unknown XCMP page format ${format}`, { offset: 0 });
    }
  }
  if (format === XcmpFormat.ConcatenatedEncodedBlob)
    return { format: 'ConcatenatedEncodedBlob', blobs: items };
  const messages = items.map((m) => decodeXcm(m, options));
  return {
    format:
      format === XcmpFormat.ConcatenatedVersionedXcm
        ? 'ConcatenatedVersionedXcm'
        : 'ConcatenatedOpaqueVersionedXcm',
    messages,
  };
}

/** A page of VersionedXcm messages in format 0 (what cumulus's XCMP queue sends by default). */
export function encodeXcmpPage(messages: readonly Uint8Array[]): Uint8Array {
  return concatBytes(Uint8Array.of(XcmpFormat.ConcatenatedVersionedXcm), ...messages);
}

function readLength(bytes: Uint8Array, pos: number): [number, number] {
  const b0 = bytes[pos]!;
  const mode = b0 & 3;
  const need = mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : 0;
  if (need === 0) throw new XcmDecodeError('too-long', 'item length above 2^30', { offset: pos });
  if (pos + need > bytes.length) throw new XcmDecodeError('truncated', 'item length', { offset: pos });
  let v = 0;
  for (let i = need - 1; i >= 0; i--) v = v * 256 + bytes[pos + i]!;
  v = Math.floor(v / 4);
  const min = mode === 0 ? 0 : mode === 1 ? 64 : 1 << 14;
  if (v < min) throw new XcmDecodeError('non-canonical-compact', 'item length', { offset: pos });
  return [v, pos + need];
}

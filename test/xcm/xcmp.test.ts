import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../src/base/bytes.js';
import { decodeXcmpPage, encodeXcm, encodeXcmpPage, XcmDecodeError } from '../../src/xcm/index.js';

const a = encodeXcm({ v4: [{ clearOrigin: null }, { setTopic: `0x${'01'.repeat(32)}` }] });
const b = encodeXcm({ v5: [{ clearTopic: null }] });
const v2 = fromHex('0x02040a'); // V2 [ClearOrigin]

describe('XCMP pages', () => {
  it('splits concatenated VersionedXcm messages of any version', () => {
    const page = encodeXcmpPage([a.bytes, v2, b.bytes]);
    expect(page[0]).toBe(0);
    const decoded = decodeXcmpPage(page);
    expect(decoded.format).toBe('ConcatenatedVersionedXcm');
    expect('messages' in decoded && decoded.messages.map((m) => [m.version, m.hex])).toEqual([
      [4, a.hex],
      [2, '0x02040a'],
      [5, b.hex],
    ]);
  });

  it('reads double-encoded pages (format 3) and blob pages (format 1)', () => {
    const len = (n: number) => Uint8Array.of(n << 2);
    const opaque = concatBytes(Uint8Array.of(3), len(a.bytes.length), a.bytes, len(b.bytes.length), b.bytes);
    const page = decodeXcmpPage(opaque);
    expect(page.format).toBe('ConcatenatedOpaqueVersionedXcm');
    expect('messages' in page && page.messages.map((m) => m.id)).toEqual([a.id, b.id]);
    const blobs = decodeXcmpPage(concatBytes(Uint8Array.of(1), len(2), Uint8Array.of(9, 9)));
    expect(blobs).toEqual({ format: 'ConcatenatedEncodedBlob', blobs: [Uint8Array.of(9, 9)] });
  });

  it('refuses broken pages with XcmDecodeError', () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(), 'empty'],
      [Uint8Array.of(9, 1), 'invalid-frame'],
      [concatBytes(Uint8Array.of(0), a.bytes, Uint8Array.of(7)), 'unsupported-version'],
      [concatBytes(Uint8Array.of(0), a.bytes.subarray(0, 5)), 'truncated'],
      [Uint8Array.of(3, 40, 1), 'truncated'],
    ];
    for (const [bytes, reason] of cases) {
      expect(() => decodeXcmpPage(bytes)).toThrowError(XcmDecodeError);
      try {
        decodeXcmpPage(bytes);
      } catch (error) {
        expect((error as XcmDecodeError).reason).toBe(reason);
      }
    }
  });
});

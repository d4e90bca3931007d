import { describe, expect, it } from 'vitest';
import { decodeXcm, decodeXcmpPage, encodeXcm, formatXcm, messageHash } from '../../src/xcm/index.js';
import { loadXcmVectors } from './vectors.js';

const vectors = loadXcmVectors();

describe('captured XCM messages (test/vectors/xcm)', () => {
  it('has the V2–V5 vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(17);
    expect(new Set(vectors.map((v) => v.version))).toEqual(new Set(['V2', 'V3', 'V4', 'V5']));
  });

  describe.each(vectors.map((v) => [v.file, v] as const))('%s', (_file, v) => {
    it('decodes with every byte consumed, in the recorded version, to the recorded JSON', () => {
      const d = decodeXcm(v.hex);
      expect(d.version).toBe(Number(v.version.slice(1)));
      expect(d.bytes.length).toBe(v.byteLength);
      expect(d.json).toEqual(v.decoded);
      expect(d.instructions.map((i) => Object.keys(i as object)[0])).toEqual(v.instructions);
    });

    it('re-encodes from its JSON to the same bytes', () => {
      const d = decodeXcm(v.hex);
      expect(encodeXcm(d.json, { allowV2: d.version === 2 }).hex).toBe(v.hex);
    });

    it('yields the recorded message hash and id', () => {
      const d = decodeXcm(v.hex);
      expect(d.hash).toBe(v.messageHash_blake2_256);
      expect(messageHash(d.bytes)).toBe(v.messageHash_blake2_256);
      expect(d.topic).toBe(v.topic);
      expect(d.id).toBe(v.expectedMessageId);
      if (v.recorded?.messageHash) expect(d.hash).toBe(v.recorded.messageHash);
      if (v.recorded?.messageId) expect(d.id).toBe(v.recorded.messageId);
    });

    it('matches the ids in the events recorded on chain', () => {
      const d = decodeXcm(v.hex);
      for (const [name, event] of Object.entries(v.recordedEvents ?? {})) {
        const value = event.value;
        if (/XcmpMessageSent|UpwardMessageSent/.test(name)) expect(value.message_hash).toBe(d.hash);
        if (/MessageQueue\.Processed/.test(name)) expect(value.id).toBe(d.id);
        if (/Pallet\.Sent|Xcm\.Sent/.test(name)) expect(value.message_id).toBe(d.id);
      }
    });

    it('prints every instruction', () => {
      const text = formatXcm(decodeXcm(v.hex));
      expect(text).toContain(
        `XCM ${v.version}, ${v.instructions.length} instruction(s), ${v.byteLength} bytes`,
      );
      expect(text).toContain(v.expectedMessageId);
      for (const name of v.instructions) expect(text).toContain(name[0]!.toUpperCase() + name.slice(1));
    });
  });

  it.each(vectors.filter((v) => v.rawTransportHex).map((v) => [v.file, v] as const))(
    '%s unframes from its XCMP page',
    (_f, v) => {
      const page = decodeXcmpPage(v.rawTransportHex!);
      expect(page.format).toBe('ConcatenatedVersionedXcm');
      expect('messages' in page && page.messages.map((m) => m.hex)).toEqual([v.hex]);
    },
  );
});

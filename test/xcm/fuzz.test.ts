import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../src/base/bytes.js';
import {
  buildRequestProgram,
  buildResponseProgram,
  decodeAssets,
  decodeLocation,
  decodeXcm,
  decodeXcmpPage,
  encodeAssets,
  encodeLocation,
  encodeXcm,
  fungibleAsset,
  parent,
  siblingAccount,
  weight,
  XcmDecodeError,
} from '../../src/xcm/index.js';
import { loadXcmVectors } from './vectors.js';
import { prng } from '../helpers/prng.js';

const seed = Number(process.env.PHALA_BRIDGE_FUZZ_SEED ?? 0x5eed);
const rand = prng(seed);
const int = (n: number) => Math.floor(rand() * n);
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));

/** Real and built messages to mutate (the builders keep the test meaningful without ../shared). */
function seeds(): Uint8Array[] {
  const topic = `0x${'42'.repeat(32)}` as const;
  const fees = fungibleAsset(parent(), 123_456_789n);
  const alice = `0x${'d4'.repeat(32)}` as const;
  const built = [
    buildRequestProgram({ fees, call: '0x2a01aabbcc', topic, refundTo: siblingAccount(2000, alice) }).bytes,
    buildRequestProgram({ version: 4, fees, call: '0x2a01', topic, transactWeight: weight(1e9, 1e5) }).bytes,
    buildResponseProgram({ payment: { kind: 'unpaid' }, call: '0x2b00', topic }).bytes,
    encodeXcm({ v3: [{ setAppendix: [{ setErrorHandler: [{ clearOrigin: null }] }] }, { trap: 7 }] }).bytes,
  ];
  return [...built, ...loadXcmVectors().map((v) => fromHex(v.hex))];
}

function mutate(input: Uint8Array, others: Uint8Array[]): Uint8Array {
  const bytes = Uint8Array.from(input);
  switch (int(8)) {
    case 0: // flip one bit
      if (bytes.length) bytes[int(bytes.length)]! ^= 1 << int(8);
      return bytes;
    case 1: // overwrite a few bytes
      for (let i = 0, n = 1 + int(4); i < n && bytes.length; i++) bytes[int(bytes.length)] = int(256);
      return bytes;
    case 2: // truncate
      return bytes.subarray(0, int(bytes.length + 1));
    case 3: {
      // insert random bytes
      const at = int(bytes.length + 1);
      return concatBytes(bytes.subarray(0, at), randomBytes(1 + int(8)), bytes.subarray(at));
    }
    case 4: {
      // delete a range
      const at = int(bytes.length + 1);
      return concatBytes(bytes.subarray(0, at), bytes.subarray(at + 1 + int(8)));
    }
    case 5: {
      // duplicate a range (repeats instructions, lengths disagree)
      const at = int(bytes.length + 1);
      const end = Math.min(bytes.length, at + 1 + int(16));
      return concatBytes(bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end));
    }
    case 6: {
      // splice the tail of another message
      const other = others[int(others.length)]!;
      return concatBytes(bytes.subarray(0, int(bytes.length + 1)), other.subarray(int(other.length + 1)));
    }
    default: // set a byte to a boundary value (compact modes, variant indexes)
      if (bytes.length)
        bytes[int(bytes.length)] = [0, 1, 2, 3, 0x3f, 0x40, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff][int(12)]!;
      return bytes;
  }
}

type Tally = { cases: number; accepted: number; reasons: Record<string, number> };

/** Every decoder either returns a value that re-encodes to the same bytes, or throws XcmDecodeError. */
function check(bytes: Uint8Array, tally: Tally): void {
  tally.cases++;
  const attempts: [() => { json: unknown; hex: string }, (json: unknown) => { hex: string }][] = [
    [() => decodeXcm(bytes), (json) => encodeXcm(json, { allowV2: true })],
    [() => decodeLocation(bytes), (json) => encodeLocation(json, { allowV2: true })],
    [() => decodeAssets(bytes), (json) => encodeAssets(json, { allowV2: true })],
  ];
  for (const [decode, encode] of attempts) {
    let decoded: { json: unknown; hex: string } | undefined;
    try {
      decoded = decode();
    } catch (error) {
      if (!(error instanceof XcmDecodeError))
        throw new Error(`non-XcmDecodeError for ${toHex(bytes)}: ${String(error)}`);
      // 'internal' or 'not-canonical' would mean the pre-scan and @polkadot/types disagree
      if (error.reason === 'internal' || error.reason === 'not-canonical') {
        throw new Error(`${error.reason} for ${toHex(bytes)}: ${error.message}`);
      }
      tally.reasons[error.reason] = (tally.reasons[error.reason] ?? 0) + 1;
    }
    if (decoded) {
      tally.accepted++;
      expect(encode(decoded.json).hex, `round trip of ${toHex(bytes)}`).toBe(toHex(bytes));
    }
  }
  try {
    decodeXcmpPage(concatBytes(Uint8Array.of(0), bytes));
  } catch (error) {
    if (!(error instanceof XcmDecodeError))
      throw new Error(`non-XcmDecodeError from a page: ${String(error)}`);
  }
}

describe(`fuzzing the decoder (seed ${seed})`, () => {
  it('survives random bytes', () => {
    const tally: Tally = { cases: 0, accepted: 0, reasons: {} };
    for (let i = 0; i < 3000; i++) {
      const body = randomBytes(int(int(4) === 0 ? 400 : 48));
      const version = [2, 3, 4, 5, int(256)][int(5)]!;
      check(concatBytes(Uint8Array.of(version), body), tally);
    }
    expect(tally.cases).toBe(3000);
    expect(Object.keys(tally.reasons).length).toBeGreaterThan(5);
  });

  it('survives mutated real messages', () => {
    const pool = seeds();
    const tally: Tally = { cases: 0, accepted: 0, reasons: {} };
    for (let i = 0; i < 5000; i++) {
      let bytes = pool[int(pool.length)]!;
      for (let k = 0, n = 1 + int(3); k < n; k++) bytes = mutate(bytes, pool);
      check(bytes, tally);
    }
    expect(tally.cases).toBe(5000);
    // mutations keep enough structure that some still decode (and then round-trip exactly)
    expect(tally.accepted).toBeGreaterThan(50);
  });

  it('survives programs made of valid instruction tags with random operands', () => {
    const tally: Tally = { cases: 0, accepted: 0, reasons: {} };
    for (let i = 0; i < 2000; i++) {
      const version = 3 + int(3);
      const count = int(6);
      const parts: Uint8Array[] = [Uint8Array.of(version, count << 2)];
      for (let k = 0; k < count; k++)
        parts.push(Uint8Array.of(int(version === 5 ? 52 : 48)), randomBytes(int(6)));
      check(concatBytes(...parts), tally);
    }
    expect(tally.accepted).toBeGreaterThan(20);
  });
});

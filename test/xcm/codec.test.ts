import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../src/base/bytes.js';
import {
  decodeAssets,
  decodeLocation,
  decodeXcm,
  encodeAssets,
  encodeInner,
  encodeLocation,
  encodeXcm,
  XcmDecodeError,
  type XcmDecodeReason,
  XcmEncodeError,
} from '../../src/xcm/index.js';

/** Decodes and returns the reason it was refused (fails the test if it was accepted or threw anything else). */
function refused(input: Uint8Array | string, options?: Parameters<typeof decodeXcm>[1]): XcmDecodeReason {
  try {
    decodeXcm(input, options);
  } catch (error) {
    expect(error).toBeInstanceOf(XcmDecodeError);
    return (error as XcmDecodeError).reason;
  }
  throw new Error(`accepted ${typeof input === 'string' ? input : toHex(input)}`);
}

const b = (...xs: number[]) => Uint8Array.from(xs);
/** Compact<u32> as SCALE encodes it (enough for the counts used here). */
const compact = (n: number) => (n < 64 ? b(n << 2) : b(((n << 2) | 1) & 0xff, n >> 6));
const V4 = 4;
const CLEAR_ORIGIN = 0x0a;
const SET_APPENDIX = 0x16;
const SET_FEES_MODE = 0x2b;
const WITHDRAW_ASSET = 0x00;
/** V4 Asset { id: Location { parents: 0, Here }, fun: Fungible(amount) } with a one-byte compact amount. */
const hereAsset = (amount: number) => b(0x00, 0x00, 0x00, amount << 2);

describe('decoding hostile bytes', () => {
  it('refuses empty input, unknown versions and bad hex', () => {
    expect(refused(new Uint8Array())).toBe('empty');
    expect(refused('0x')).toBe('empty');
    for (const v of [0, 1, 6, 255]) expect(refused(b(v, 0))).toBe('unsupported-version');
    expect(refused('0xabc')).toBe('invalid-hex');
    expect(refused('not hex')).toBe('invalid-hex');
  });

  it('refuses truncated and trailing bytes', () => {
    expect(refused(b(V4))).toBe('truncated');
    expect(refused(b(V4, 4, WITHDRAW_ASSET))).toBe('truncated');
    expect(refused(b(V4, 4, CLEAR_ORIGIN, 0))).toBe('trailing-bytes');
    expect(decodeXcm(b(V4, 4, CLEAR_ORIGIN)).instructions).toEqual([{ clearOrigin: null }]);
  });

  it('refuses unknown instructions and a bool that is neither 0 nor 1', () => {
    expect(refused(b(V4, 4, 0xff))).toBe('invalid-variant');
    expect(refused(b(V4, 4, 0x30))).toBe('invalid-variant'); // PayFees does not exist in V4
    expect(decodeXcm(b(V4, 4, SET_FEES_MODE, 1)).instructions).toEqual([
      { setFeesMode: { jitWithdraw: true } },
    ]);
    expect(refused(b(V4, 4, SET_FEES_MODE, 2))).toBe('invalid-bool');
  });

  it('refuses non-canonical and out-of-range compacts', () => {
    // Fungible(1) as a two-byte compact: @polkadot/types would accept it and re-encode differently.
    expect(refused(b(V4, 4, WITHDRAW_ASSET, 4, 0, 0, 0, 0x05, 0x00))).toBe('non-canonical-compact');
    expect(refused(b(V4, 0x05, 0x00, CLEAR_ORIGIN))).toBe('non-canonical-compact');
    // An instruction count in big-integer mode that does not fit a u32.
    expect(refused(b(V4, 0x07, 1, 2, 3, 4, 5))).toBe('compact-overflow');
  });

  it('bounds lengths by the bytes that are left, before anything is allocated', () => {
    expect(refused(b(V4, 0xfe, 0xff, 0xff, 0xff))).toBe('too-long'); // 2^30-1 instructions
    expect(refused(concatBytes(b(V4, 4, 0x06, 0x01), b(0, 0, 0x02, 0xfd, 0xff, 0xff, 0xff)))).not.toBe(
      'internal',
    );
  });

  it('allows 100 instructions and refuses 101 (MAX_INSTRUCTIONS_TO_DECODE)', () => {
    const program = (n: number) => concatBytes(b(V4), compact(n), new Uint8Array(n).fill(CLEAR_ORIGIN));
    expect(decodeXcm(program(100)).instructions).toHaveLength(100);
    expect(refused(program(101))).toBe('too-many-instructions');
  });

  it('counts instructions of nested programs too', () => {
    const inner = concatBytes(compact(60), new Uint8Array(60).fill(CLEAR_ORIGIN));
    const twice = concatBytes(b(V4), compact(2), b(SET_APPENDIX), inner, b(SET_APPENDIX), inner);
    expect(refused(twice)).toBe('too-many-instructions');
  });

  it('allows 8 nested programs and refuses 9 (MAX_XCM_DECODE_DEPTH)', () => {
    const nested = (depth: number) => {
      let program: Uint8Array = b(0); // empty program
      for (let i = 1; i < depth; i++) program = concatBytes(b(4, SET_APPENDIX), program);
      return concatBytes(b(V4), program);
    };
    expect(decodeXcm(nested(8)).version).toBe(4);
    expect(refused(nested(9))).toBe('too-deep');
    expect(refused(nested(5000))).toBe('too-deep');
  });

  it('allows 20 assets in one list and refuses 21', () => {
    const withdraw = (n: number) => {
      // Distinct ids in order (parents 0, 1, 2 ...): a chain refuses one id twice.
      const assets = Array.from({ length: n }, (_, i) => b(i, 0x00, 0x00, 4));
      return concatBytes(b(V4, 4, WITHDRAW_ASSET), compact(n), ...assets);
    };
    expect(decodeXcm(withdraw(20)).instructions).toHaveLength(1);
    expect(refused(withdraw(21))).toBe('too-many-assets');
  });

  it('refuses a fungible amount of zero (V3+)', () => {
    expect(refused(concatBytes(b(V4, 4, WITHDRAW_ASSET, 4), hereAsset(0)))).toBe('zero-fungible');
  });

  it('refuses an Option tag other than 0 or 1', () => {
    // V4 UnpaidExecution { weight_limit: Unlimited, check_origin: Option<Location> = tag 2 }
    expect(refused(b(V4, 4, 0x2f, 0x00, 0x02))).toBe('invalid-option');
    expect(decodeXcm(b(V4, 4, 0x2f, 0x00, 0x00)).instructions).toEqual([
      { unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } },
    ]);
  });

  it('refuses input above the size limit', () => {
    const program = concatBytes(b(V4), compact(50), new Uint8Array(50).fill(CLEAR_ORIGIN));
    expect(refused(program, { limits: { maxBytes: 40 } })).toBe('too-large');
    expect(decodeXcm(program, { limits: { maxBytes: 52 } }).instructions).toHaveLength(50);
  });

  it('reports where it stopped', () => {
    try {
      decodeXcm(b(V4, 8, CLEAR_ORIGIN, 0xee));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(XcmDecodeError);
      expect((error as XcmDecodeError).offset).toBe(3);
      expect((error as XcmDecodeError).shortMessage).toMatch(/Instruction@v4 has no variant with index 238/);
    }
  });
});

describe('locations and assets', () => {
  it('decodes and re-encodes VersionedLocation in every version', () => {
    const v4 = encodeLocation({ v4: { parents: 1, interior: { x1: [{ parachain: 2000 }] } } });
    expect(v4.hex).toBe('0x04010100411f');
    expect(decodeLocation(v4.hex).location).toEqual({ parents: 1, interior: { x1: [{ parachain: 2000 }] } });
    const v3 = encodeLocation({ V3: { parents: 1, interior: { X1: { Parachain: 2000 } } } });
    expect(v3.hex).toBe('0x03010100411f');
    // V2 locations and assets have variant index 1 (V1 and V2 shared them); 2 is no version.
    const v2 = decodeLocation('0x01010100411f');
    expect(v2.version).toBe(2);
    expect(v2.json).toEqual({ v2: { parents: 1, interior: { x1: { parachain: 2000 } } } });
    expect(encodeLocation(v2.json, { allowV2: true }).hex).toBe('0x01010100411f');
    expect(() => decodeLocation('0x02010100411f')).toThrowError(/unsupported-version/);
    expect(() => decodeLocation('0x0401090041')).toThrowError(XcmDecodeError);
  });

  it('encodes unversioned values for events and storage', () => {
    expect(encodeInner('location', 4, { parents: 1, interior: { x1: [{ parachain: 2000 }] } })).toBe(
      '0x010100411f',
    );
    expect(encodeInner('xcm', 5, [{ clearOrigin: null }])).toBe('0x040a');
    expect(() => encodeInner('xcm', 5, [{ clearOrigin: 1 }])).toThrowError(XcmEncodeError);
  });

  it('decodes and re-encodes VersionedAssets', () => {
    const assets = encodeAssets({
      v5: [{ id: { parents: 1, interior: { here: null } }, fun: { fungible: '1000000000000' } }],
    });
    expect(decodeAssets(assets.bytes).assets).toEqual([
      { id: { parents: 1, interior: { here: null } }, fun: { fungible: 1000000000000 } },
    ]);
  });
});

describe('encoding JSON strictly', () => {
  const transact = { originKind: 'SovereignAccount', fallbackMaxWeight: null, call: { encoded: '0x0001' } };

  it('accepts any key case and numbers as numbers, decimal strings or hex', () => {
    const a = encodeXcm({ v5: [{ transact }] });
    const b2 = encodeXcm({
      V5: [
        {
          Transact: {
            origin_kind: 'sovereignaccount',
            fallback_max_weight: null,
            call: { encoded: '0x0001' },
          },
        },
      ],
    });
    expect(b2.hex).toBe(a.hex);
    const w1 = encodeXcm({
      v5: [
        {
          buyExecution: {
            fees: { id: { parents: 0, interior: 'Here' }, fun: { fungible: 10 } },
            weightLimit: { limited: { refTime: '0x10', proofSize: '16' } },
          },
        },
      ],
    });
    const w2 = encodeXcm({
      v5: [
        {
          buyExecution: {
            fees: { id: { parents: 0, interior: { here: null } }, fun: { fungible: '10' } },
            weightLimit: { limited: { refTime: 16, proofSize: 16 } },
          },
        },
      ],
    });
    expect(w1.hex).toBe(w2.hex);
  });

  it.each([
    [{ v5: [{ transact: { ...transact, originKind: undefined } }] }, /originKind: missing/],
    [{ v5: [{ transact: { ...transact, extra: 1 } }] }, /transact.extra: unknown field/],
    [
      { v5: [{ transact: { ...transact, originKind: 'Root' } }] },
      /originKind: expected one of Native, SovereignAccount, Superuser, Xcm/,
    ],
    [{ v5: [{ setTopic: '0x1234' }] }, /setTopic: expected 32 bytes, got 2/],
    [{ v5: [{ trap: -1 }] }, /trap: expected an integer in 0..2\^64-1/],
    [{ v5: [{ trap: 2 ** 64 }] }, /trap: expected an integer/],
    [{ v5: [{ trap: '0x1ffffffffffffffff' }] }, /trap: expected an integer/],
    [{ v5: [{ clearOrigin: null, clearTopic: null }] }, /expected exactly one of/],
    [{ v5: [{ descendOrigin: { x2: [{ parachain: 1 }] } }] }, /x2: expected 2 elements/],
    [{ v5: { clearOrigin: null } }, /v5: expected an array/],
    [{ v6: [] }, /expected exactly one key v2, v3, v4 or v5/],
    [[], /expected an object like/],
  ])('refuses %j', (json, message) => {
    expect(() => encodeXcm(json)).toThrowError(XcmEncodeError);
    expect(() => encodeXcm(json)).toThrowError(message);
  });

  it('refuses V2 unless asked to re-encode it, and values the decoder would refuse', () => {
    expect(() => encodeXcm({ v2: [{ clearOrigin: null }] })).toThrowError(/V2 is read-only/);
    expect(encodeXcm({ v2: [{ clearOrigin: null }] }, { allowV2: true }).hex).toBe('0x02040a');
    expect(() => encodeXcm({ v4: Array.from({ length: 101 }, () => ({ clearOrigin: null })) })).toThrowError(
      /more than 100 instructions/,
    );
    const zero = { id: { parents: 0, interior: { here: null } }, fun: { fungible: 0 } };
    expect(() => encodeXcm({ v4: [{ withdrawAsset: [zero] }] })).toThrowError(/zero amount/);
  });

  it('gives the same bytes as decoding them back', () => {
    const json = { v4: [{ clearOrigin: null }, { setTopic: `0x${'ab'.repeat(32)}` }] };
    const e = encodeXcm(json);
    expect(e.id).toBe(`0x${'ab'.repeat(32)}`);
    expect(decodeXcm(e.bytes).json).toEqual(json);
    expect(toHex(fromHex(e.hex))).toBe(e.hex);
  });
});

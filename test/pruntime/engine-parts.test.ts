import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TypeRegistry } from '@polkadot/types';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { abiDecode, abiEncode } from '../../src/pruntime/engine/codecs/abi.js';
import { scaleDecode, scaleEncode } from '../../src/pruntime/engine/codecs/scale.js';
import { fromWire, toWire } from '../../src/pruntime/engine/codecs/wire.js';
import { analyseWasm, quickjsWasmPath } from '../../src/pruntime/engine/quickjs-wasm.js';
import { DeterministicRandom } from '../../src/pruntime/engine/random.js';
import { ContractState, EMPTY_STATE } from '../../src/pruntime/engine/state.js';

describe('contract state: canonical serialization', () => {
  const key = (s: string) => utf8(s);

  it('round-trips and sorts entries by key bytes, whatever the insertion order', () => {
    const a = ContractState.empty();
    a.set(key('zeta'), 'string', utf8('1'));
    a.set(key('alpha'), 'bytes', Uint8Array.of(1, 2, 3));
    a.set(Uint8Array.of(0), 'bytes', new Uint8Array(0));
    const b = ContractState.empty();
    b.set(Uint8Array.of(0), 'bytes', new Uint8Array(0));
    b.set(key('alpha'), 'bytes', Uint8Array.of(1, 2, 3));
    b.set(key('zeta'), 'string', utf8('1'));
    expect(toHex(a.serialize())).toBe(toHex(b.serialize()));
    const parsed = ContractState.parse(a.serialize());
    expect(parsed.entries().map((e) => toHex(e.key))).toEqual([
      '0x00',
      toHex(key('alpha')),
      toHex(key('zeta')),
    ]);
    expect(toHex(parsed.serialize())).toBe(toHex(a.serialize()));
    expect(a.size).toBe(a.serialize().length);
  });

  it('tracks the canonical size through overwrites and deletes', () => {
    const s = ContractState.empty();
    s.set(key('k'), 'bytes', new Uint8Array(10));
    expect(s.sizeAfterSet(key('k'), 3)).toBe(9 + 9 + 1 + 3);
    s.set(key('k'), 'bytes', new Uint8Array(3));
    expect(s.size).toBe(s.serialize().length);
    expect(s.delete(key('k'))).toBe(true);
    expect(s.delete(key('k'))).toBe(false);
    expect(toHex(s.serialize())).toBe(toHex(EMPTY_STATE));
  });

  it('refuses anything that is not exactly one canonical encoding', () => {
    const good = ContractState.empty();
    good.set(key('a'), 'bytes', Uint8Array.of(1));
    good.set(key('b'), 'bytes', Uint8Array.of(2));
    const bytes = good.serialize();
    const swapped = bytes.slice();
    swapped.set(bytes.subarray(9, 9 + 11), 9 + 11);
    swapped.set(bytes.subarray(9 + 11, 9 + 22), 9);
    const mutations: [string, Uint8Array][] = [
      ['magic', Uint8Array.from(bytes, (b, i) => (i === 0 ? 0 : b))],
      ['trailing', Uint8Array.from([...bytes, 0])],
      ['truncated', bytes.subarray(0, bytes.length - 1)],
      ['unsorted', swapped],
      ['type', Uint8Array.from(bytes, (b, i) => (i === 9 + 5 ? 7 : b))],
    ];
    for (const [what, mutated] of mutations)
      expect(() => ContractState.parse(mutated), what).toThrow(/canonical/);
    const notUtf8 = ContractState.empty();
    notUtf8.set(key('s'), 'bytes', Uint8Array.of(0xff));
    const forged = notUtf8.serialize();
    forged[9 + 4 + 1] = 1;
    expect(() => ContractState.parse(forged)).toThrow(/UTF-8/);
  });
});

describe('ctx.random stream', () => {
  it('is the RFC 8439 ChaCha20 keystream (zero nonce), checked against OpenSSL', () => {
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
    const ours = new DeterministicRandom(seed).next(300);
    const cipher = createCipheriv('chacha20', seed, new Uint8Array(16));
    const openssl = new Uint8Array(cipher.update(new Uint8Array(300)));
    expect(toHex(ours)).toBe(toHex(openssl));
  });

  it('gives the same bytes however the draws are split', () => {
    const seed = new Uint8Array(32).fill(3);
    const whole = new DeterministicRandom(seed).next(200);
    const r = new DeterministicRandom(seed);
    const parts = [r.next(1), r.next(63), r.next(0), r.next(65), r.next(71)];
    expect(toHex(Uint8Array.from(parts.flatMap((p) => [...p])))).toBe(toHex(whole));
    expect(r.drawn).toBe(200);
  });
});

describe('SCALE codec (checked against @polkadot/types)', () => {
  const registry = new TypeRegistry();
  const cases: [string, unknown, unknown][] = [
    ['u8', 255, 255],
    ['u64', 2n ** 64n - 1n, '18446744073709551615'],
    ['i32', -5, -5],
    ['i128', -(2n ** 100n), (-(2n ** 100n)).toString()],
    ['Compact<u128>', 2n ** 70n, (2n ** 70n).toString()],
    ['bool', true, true],
    ['Vec<u8>', Uint8Array.of(1, 2, 3), '0x010203'],
    ['Text', 'héllo', 'héllo'],
    ['[u8; 4]', Uint8Array.of(9, 8, 7, 6), '0x09080706'],
    ['Vec<u16>', [1, 2, 65535], [1, 2, 65535]],
    ['Option<u32>', null, null],
    ['Option<u32>', 7, 7],
    ['(u32, Vec<u8>, bool)', [1, Uint8Array.of(5), false], [1, '0x05', false]],
    ['[u16; 2]', [3, 4], [3, 4]],
  ];
  it.each(cases)('%s', (type, value, polkadotValue) => {
    const ours = scaleEncode(type, value as never);
    const theirs = registry
      .createType(type.replace('[u8; 4]', '[u8;4]').replace('[u16; 2]', '[u16;2]'), polkadotValue)
      .toU8a();
    expect(toHex(ours)).toBe(toHex(theirs));
    const back = scaleDecode(type, ours);
    expect(toHex(scaleEncode(type, back))).toBe(toHex(ours));
  });

  it('refuses bad types, bad values, short, long and lying inputs', () => {
    expect(() => scaleEncode('Vec<>', [])).toThrow(/cannot parse/);
    expect(() => scaleEncode('()', [])).toThrow(/cannot parse/);
    expect(() => scaleEncode('[u8; 0]', new Uint8Array(0))).toThrow(/zero-length/);
    expect(() => scaleEncode('u8', 256)).toThrow(/out of range/);
    expect(() => scaleEncode('u32', 1.5)).toThrow(/integer/);
    expect(() => scaleDecode('u32', Uint8Array.of(1, 2))).toThrow(/too short/);
    expect(() => scaleDecode('u8', Uint8Array.of(1, 2))).toThrow(/trailing/);
    // A Vec claiming a billion elements in four bytes of input.
    expect(() => scaleDecode('Vec<u32>', fromHex('0x0300ca9a3b'))).toThrow(/exceeds input/);
    expect(() => scaleDecode('bool', Uint8Array.of(2))).toThrow(/bad bool/);
  });
});

describe('ABI codec', () => {
  it('matches viem and maps values the documented way', () => {
    const encoded = abiEncode('uint256, bytes32, address[], (string, int8)', [
      2n ** 200n,
      new Uint8Array(32).fill(1),
      ['0x0000000000000000000000000000000000000002'],
      ['hi', -3],
    ]);
    const decoded = abiDecode('uint256, bytes32, address[], (string, int8)', encoded);
    expect(decoded).toEqual([
      2n ** 200n,
      new Uint8Array(32).fill(1),
      ['0x0000000000000000000000000000000000000002'],
      ['hi', -3n],
    ]);
  });

  it('refuses zero-sized types (a decoder could loop on them) and garbage', () => {
    expect(() => abiEncode('uint256[0]', [[]])).toThrow(/zero-sized/);
    expect(() => abiDecode('()', new Uint8Array(0))).toThrow(/zero-sized/);
    expect(() => abiDecode('uint256', new Uint8Array(3))).toThrow(/abi.decode/);
    expect(() => abiEncode('not a type', [1])).toThrow(/cannot parse/);
  });
});

describe('wire values across the sandbox boundary', () => {
  it('round-trips bytes, bigints, objects and arrays, and rejects anything else', () => {
    const value = { a: [1n, Uint8Array.of(1)], b: { $b: 'not a tag inside an object' }, c: null };
    expect(fromWire(JSON.parse(JSON.stringify(toWire(value))))).toEqual(value);
    expect(() => fromWire({ $x: 1 })).toThrow(/not a wire value/);
    expect(() => fromWire({ $n: '1.5' })).toThrow(/not a wire value/);
    expect(() => fromWire(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });
});

describe('QuickJS wasm layout', () => {
  it('finds the stack, the heap base and the allocator break pointer in the binary', () => {
    const layout = analyseWasm(new Uint8Array(readFileSync(quickjsWasmPath())));
    expect(layout.heapBase).toBeGreaterThanOrEqual(layout.stackTop);
    expect(layout.dataEnd).toBeLessThan(layout.stackTop);
    expect(layout.sbrkAddress).toBeLessThan(layout.dataEnd);
  });
});

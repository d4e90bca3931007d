import { compactFromU8a, compactToU8a } from '@polkadot/util';
import { concatBytes, utf8 } from '../../../base/bytes.js';
import type { HostValue } from './wire.js';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * `ctx.scale`: SCALE encoding for a small, explicit type grammar, with one value mapping:
 *
 *   bool · u8 u16 u32 (number) · u64 u128 u256 (bigint) · i8 i16 i32 (number) · i64 i128 (bigint)
 *   Compact<uN> / compact (bigint) · Bytes / Vec<u8> (Uint8Array) · Text / String / str (string)
 *   [u8; N] (Uint8Array) · [T; N] (array) · Vec<T> (array) · Option<T> (null or value)
 *   (T1, T2, …) (array)
 *
 * Written here rather than with @polkadot/types because the sandbox needs this exact value
 * mapping (a registry's JSON gives numbers or hex strings depending on size) and no registry
 * set-up per call; compact integers come from @polkadot/util. Every type takes at least one byte,
 * so a decoder always consumes input and cannot be made to loop.
 */
export class ScaleCodecError extends BaseError {
  /** The contract's values; the same ones fail the same way. */
  static override readonly retry: Retry = 'never';
  // The contract sees a TypeError.
  override name = 'TypeError';
}

type ScaleType =
  | { kind: 'bool' }
  | { kind: 'int'; bits: number; signed: boolean }
  | { kind: 'compact' }
  | { kind: 'bytes' }
  | { kind: 'text' }
  | { kind: 'fixedBytes'; length: number }
  | { kind: 'array'; item: ScaleType; length: number }
  | { kind: 'vec'; item: ScaleType }
  | { kind: 'option'; item: ScaleType }
  | { kind: 'tuple'; items: ScaleType[] };

const MAX_TYPE_LENGTH = 1024;
const MAX_DEPTH = 32;
const INT = /^([ui])(8|16|32|64|128|256)$/;

const parsed = new Map<string, ScaleType>();

export function parseScaleType(source: string): ScaleType {
  const cached = parsed.get(source);
  if (cached) return cached;
  if (source.length === 0 || source.length > MAX_TYPE_LENGTH) throw new ScaleCodecError('scale: bad type');
  const text = source.replace(/\s+/g, '');
  let pos = 0;
  const fail = (): never => {
    throw new ScaleCodecError(`scale: cannot parse type "${source.slice(0, 100)}"`);
  };
  const expect = (s: string) => {
    if (!text.startsWith(s, pos)) fail();
    pos += s.length;
  };
  const ident = () => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(pos));
    if (!m) fail();
    pos += m![0].length;
    return m![0];
  };
  const number = () => {
    const m = /^[0-9]{1,7}/.exec(text.slice(pos));
    if (!m) fail();
    pos += m![0].length;
    return Number(m![0]);
  };
  const type = (depth: number): ScaleType => {
    if (depth > MAX_DEPTH) fail();
    if (text[pos] === '(') {
      pos++;
      const items = [type(depth + 1)];
      while (text[pos] === ',') {
        pos++;
        items.push(type(depth + 1));
      }
      expect(')');
      return { kind: 'tuple', items };
    }
    if (text[pos] === '[') {
      pos++;
      const item = type(depth + 1);
      expect(';');
      const length = number();
      expect(']');
      if (length === 0) throw new ScaleCodecError('scale: zero-length arrays are not supported');
      if (item.kind === 'int' && item.bits === 8 && !item.signed) return { kind: 'fixedBytes', length };
      return { kind: 'array', item, length };
    }
    const name = ident();
    const int = INT.exec(name);
    if (int) return { kind: 'int', bits: Number(int[2]), signed: int[1] === 'i' };
    if (name === 'bool') return { kind: 'bool' };
    if (name === 'compact') return { kind: 'compact' };
    if (name === 'Bytes') return { kind: 'bytes' };
    if (name === 'Text' || name === 'String' || name === 'str') return { kind: 'text' };
    if (name === 'Vec' || name === 'Option' || name === 'Compact') {
      expect('<');
      const item = type(depth + 1);
      expect('>');
      if (name === 'Compact') {
        if (item.kind !== 'int' || item.signed) fail();
        return { kind: 'compact' };
      }
      if (name === 'Option') return { kind: 'option', item };
      if (item.kind === 'int' && item.bits === 8 && !item.signed) return { kind: 'bytes' };
      return { kind: 'vec', item };
    }
    return fail();
  };
  const result = type(0);
  if (pos !== text.length) fail();
  if (parsed.size > 256) parsed.clear();
  parsed.set(source, result);
  return result;
}

function toBigInt(value: HostValue, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new ScaleCodecError(`scale.encode: ${what} must be an integer (number or bigint)`);
}

function encodeInt(value: bigint, bits: number, signed: boolean): Uint8Array {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (value < min || value > max)
    throw new ScaleCodecError(`scale.encode: ${value} out of range for ${signed ? 'i' : 'u'}${bits}`);
  let v = value < 0n ? (1n << BigInt(bits)) + value : value;
  const out = new Uint8Array(bits / 8);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function encodeValue(type: ScaleType, value: HostValue, parts: Uint8Array[]): void {
  switch (type.kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw new ScaleCodecError('scale.encode: bool must be a boolean');
      parts.push(Uint8Array.of(value ? 1 : 0));
      return;
    case 'int':
      parts.push(
        encodeInt(toBigInt(value, `${type.signed ? 'i' : 'u'}${type.bits}`), type.bits, type.signed),
      );
      return;
    case 'compact': {
      const v = toBigInt(value, 'compact');
      if (v < 0n || v >= 1n << 536n) throw new ScaleCodecError('scale.encode: compact out of range');
      parts.push(compactToU8a(v));
      return;
    }
    case 'bytes':
      if (!(value instanceof Uint8Array))
        throw new ScaleCodecError('scale.encode: Bytes must be a Uint8Array');
      parts.push(compactToU8a(value.length), value);
      return;
    case 'text': {
      if (typeof value !== 'string') throw new ScaleCodecError('scale.encode: Text must be a string');
      const bytes = utf8(value);
      parts.push(compactToU8a(bytes.length), bytes);
      return;
    }
    case 'fixedBytes':
      if (!(value instanceof Uint8Array) || value.length !== type.length)
        throw new ScaleCodecError(`scale.encode: [u8; ${type.length}] must be a Uint8Array of that length`);
      parts.push(value);
      return;
    case 'array':
      if (!Array.isArray(value) || value.length !== type.length)
        throw new ScaleCodecError(`scale.encode: expected an array of ${type.length}`);
      for (const item of value) encodeValue(type.item, item, parts);
      return;
    case 'vec':
      if (!Array.isArray(value)) throw new ScaleCodecError('scale.encode: Vec must be an array');
      parts.push(compactToU8a(value.length));
      for (const item of value) encodeValue(type.item, item, parts);
      return;
    case 'option':
      if (value === null) parts.push(Uint8Array.of(0));
      else {
        parts.push(Uint8Array.of(1));
        encodeValue(type.item, value, parts);
      }
      return;
    case 'tuple':
      if (!Array.isArray(value) || value.length !== type.items.length)
        throw new ScaleCodecError(`scale.encode: tuple must be an array of ${type.items.length}`);
      for (let i = 0; i < type.items.length; i++) encodeValue(type.items[i]!, value[i]!, parts);
      return;
  }
}

export function scaleEncode(typeSource: string, value: HostValue): Uint8Array {
  const parts: Uint8Array[] = [];
  encodeValue(parseScaleType(typeSource), value, parts);
  return concatBytes(...parts);
}

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.pos) throw new ScaleCodecError('scale.decode: input too short');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  compact(): bigint {
    if (this.pos >= this.bytes.length) throw new ScaleCodecError('scale.decode: input too short');
    const [length, value] = compactFromU8a(this.bytes.subarray(this.pos));
    if (length > this.bytes.length - this.pos) throw new ScaleCodecError('scale.decode: input too short');
    this.pos += length;
    return BigInt(value.toString());
  }
  length(): number {
    const n = this.compact();
    // Every element takes at least one byte, so a longer count cannot be honest.
    if (n > BigInt(this.bytes.length - this.pos))
      throw new ScaleCodecError('scale.decode: length exceeds input');
    return Number(n);
  }
}

function decodeValue(type: ScaleType, r: Reader): HostValue {
  switch (type.kind) {
    case 'bool': {
      const b = r.take(1)[0];
      if (b !== 0 && b !== 1) throw new ScaleCodecError('scale.decode: bad bool');
      return b === 1;
    }
    case 'int': {
      const bytes = r.take(type.bits / 8);
      let v = 0n;
      for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
      if (type.signed && v >= 1n << BigInt(type.bits - 1)) v -= 1n << BigInt(type.bits);
      return type.bits <= 32 ? Number(v) : v;
    }
    case 'compact':
      return r.compact();
    case 'bytes':
      return new Uint8Array(r.take(r.length()));
    case 'text': {
      const bytes = r.take(r.length());
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new ScaleCodecError('scale.decode: Text is not UTF-8');
      }
    }
    case 'fixedBytes':
      return new Uint8Array(r.take(type.length));
    case 'array': {
      const out: HostValue[] = [];
      for (let i = 0; i < type.length; i++) out.push(decodeValue(type.item, r));
      return out;
    }
    case 'vec': {
      const n = r.length();
      const out: HostValue[] = [];
      for (let i = 0; i < n; i++) out.push(decodeValue(type.item, r));
      return out;
    }
    case 'option': {
      const tag = r.take(1)[0];
      if (tag === 0) return null;
      if (tag !== 1) throw new ScaleCodecError('scale.decode: bad Option tag');
      return decodeValue(type.item, r);
    }
    case 'tuple':
      return type.items.map((item) => decodeValue(item, r));
  }
}

export function scaleDecode(typeSource: string, bytes: Uint8Array): HostValue {
  const reader = new Reader(bytes);
  const value = decodeValue(parseScaleType(typeSource), reader);
  if (reader.pos !== bytes.length) throw new ScaleCodecError('scale.decode: trailing bytes');
  return value;
}

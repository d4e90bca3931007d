import { InvalidInputError } from './errors.js';

/** A 0x-prefixed, lower-case hex string. */
export type Hex = `0x${string}`;

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

export function isHex(value: unknown): value is Hex {
  return typeof value === 'string' && HEX_RE.test(value);
}

export function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/**
 * Parses 0x-hex (or bare hex) into bytes; `field` names the input in the error, and `length`, when
 * given, is the exact number of bytes required.
 */
export function fromHex(value: string, field = 'hex', length?: number): Uint8Array {
  const prefixed = value.startsWith('0x') ? value : `0x${value}`;
  if (!HEX_RE.test(prefixed)) throw new InvalidInputError(field, 'an even-length hex string');
  const bytes = new Uint8Array(Buffer.from(prefixed.slice(2), 'hex'));
  if (length !== undefined && bytes.length !== length) {
    throw new InvalidInputError(field, `${length} bytes of hex, got ${bytes.length}`);
  }
  return bytes;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function u32be(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidInputError('u32', 'an integer in 0..2^32-1');
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Bytes prefixed with their length as one byte; for short, unambiguous concatenations. */
export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 255) throw new InvalidInputError('lengthPrefixed', 'at most 255 bytes');
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

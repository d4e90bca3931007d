import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';

/**
 * polkadot-js codecs as JSON-safe plain values, the same for any runtime: bytes of any kind
 * (Vec<u8>, [u8; N], AccountId32, H256) as 0x-hex; integers up to 32 bits as numbers, wider ones
 * as decimal strings; Option as value or null; enums as `"Variant"` (no data) or
 * `{ Variant: value }`; structs as objects with camelCase keys; vectors and tuples as arrays.
 */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

type Introspect = Codec & {
  toRawType(): string;
  isSome?: boolean;
  isNone?: boolean;
  unwrap?: () => Codec;
  isBasic?: boolean;
  type?: string;
  value?: Codec;
  bitLength?: () => number;
  isTrue?: boolean;
  defKeys?: string[];
};

function isBytes(codec: Codec): boolean {
  return codec instanceof Uint8Array;
}

export function plainOf(input: Codec): Plain {
  const codec = input as Introspect;
  if (isBytes(codec)) return u8aToHex(codec.toU8a(true));
  const raw = codec.toRawType();
  if (raw === 'bool') return Boolean(codec.isTrue);
  if (raw === 'Text' || raw === 'Str') return codec.toString();
  if (raw === 'Null' || raw === '()') return null;
  if (typeof codec.bitLength === 'function') {
    // Integers (and Compact<int>, which exposes the same).
    return codec.bitLength() > 32 ? codec.toString() : Number(codec.toString());
  }
  if (typeof codec.isNone === 'boolean' && typeof codec.unwrap === 'function' && raw.startsWith('Option<')) {
    return codec.isNone ? null : plainOf(codec.unwrap());
  }
  if (raw.startsWith('Compact<') && typeof codec.unwrap === 'function') return plainOf(codec.unwrap());
  if (
    typeof codec.type === 'string' &&
    codec.value !== undefined &&
    typeof (codec as { index?: unknown }).index === 'number'
  ) {
    const inner = codec.value as Introspect;
    if (inner.toRawType() === 'Null') return codec.type;
    return { [codec.type]: plainOf(inner) };
  }
  if (codec instanceof Map) {
    const out: { [key: string]: Plain } = {};
    for (const [key, value] of codec as Map<string, Codec>) out[key] = plainOf(value);
    return out;
  }
  if (Array.isArray(codec)) return (codec as Codec[]).map(plainOf);
  if (codec instanceof Set) return [...(codec as Set<Codec>)].map(plainOf);
  const json = codec.toJSON();
  return json as Plain;
}

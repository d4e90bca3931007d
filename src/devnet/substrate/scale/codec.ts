import type { TypeRegistry } from '@polkadot/types';
import type { Codec, CodecClass } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';
import type { PortableRegistryBuilder } from '../metadata/portable-registry.js';
import { type AnyTy, type FieldDef, type Ty, type TypeDef, resolveTy } from './ty.js';

/**
 * SCALE encoding and decoding of the plain JS values described by `Ty` declarations, done by
 * @polkadot/types with the runtime's own portable registry (so the node encodes exactly what
 * polkadot-js clients decode). This file only maps plain values to polkadot-js inputs and back.
 */

type Plain = unknown;
type Tagged = { tag: string; value?: unknown };

export class ScaleCodec {
  readonly #classes = new Map<number, CodecClass>();
  /**
   * Enums polkadot-js replaces with its own classes (RuntimeCall → GenericCall, RuntimeEvent →
   * GenericEvent): their outer byte is handled here, the pallet-level enum by polkadot-js.
   */
  readonly #outer = new Set<AnyTy>();

  constructor(
    readonly registry: TypeRegistry,
    readonly types: PortableRegistryBuilder,
  ) {}

  /** Marks the runtime's outer call and event enums (see `#outer`). */
  setOuterEnums(...tys: AnyTy[]): void {
    for (const ty of tys) this.#outer.add(resolveTy(ty));
  }

  typeId(ty: AnyTy): number {
    return this.types.idOf(ty);
  }

  classOf(ty: AnyTy): CodecClass {
    const id = this.typeId(ty);
    let clazz = this.#classes.get(id);
    if (!clazz) {
      clazz = this.registry.createClass(`Lookup${id}`) as CodecClass;
      this.#classes.set(id, clazz);
    }
    return clazz;
  }

  /** A polkadot-js codec for a value (for callers that need polkadot-js objects). */
  createCodec<T>(ty: Ty<T>, value: T): Codec {
    const Clazz = this.classOf(ty);
    return new Clazz(this.registry, this.#toInput(ty, value));
  }

  encode<T>(ty: Ty<T>, value: T): Uint8Array {
    const resolved = resolveTy(ty);
    if (this.#outer.has(resolved)) return this.#encodeOuter(resolved, value);
    // [u8; N] (and newtypes of it: AccountId32, H256, keys) encodes as the bytes themselves: the
    // commonest storage keys skip polkadot-js.
    const fixed = fixedByteLength(resolved);
    if (fixed !== null && value instanceof Uint8Array) {
      if (value.length !== fixed) throw new TypeError(`expected ${fixed} bytes, got ${value.length}`);
      return value;
    }
    return this.createCodec(ty, value).toU8a();
  }

  /** Decodes a value that must take all of `bytes`. */
  decode<T>(ty: Ty<T>, bytes: Uint8Array): T {
    const { value, length } = this.decodePrefix(ty, bytes);
    if (length !== bytes.length) {
      throw new Error(`decoding ${describe(ty)}: ${bytes.length - length} bytes left over`);
    }
    return value;
  }

  /** Decodes a value from the start of `bytes`; returns it with the number of bytes it took. */
  decodePrefix<T>(ty: Ty<T>, bytes: Uint8Array): { value: T; length: number } {
    const resolved = resolveTy(ty);
    if (this.#outer.has(resolved)) return this.#decodeOuter(resolved, bytes) as { value: T; length: number };
    const Clazz = this.classOf(ty);
    const codec = new Clazz(this.registry, bytes);
    return { value: this.#fromCodec(ty, codec) as T, length: codec.encodedLength };
  }

  /** Converts a polkadot-js codec of this type into the plain value. */
  fromCodec<T>(ty: Ty<T>, codec: Codec): T {
    return this.#fromCodec(ty, codec) as T;
  }

  #encodeOuter(ty: AnyTy, value: unknown): Uint8Array {
    const def = ty.def;
    if (def.kind !== 'variant') throw new Error('outer enum must be a variant');
    const tagged = value as Tagged;
    const variant = def.variants.find((v) => v.name === tagged?.tag);
    if (!variant) throw new TypeError(`${def.path.join('::')}: unknown variant ${String(tagged?.tag)}`);
    const inner = this.encode(variant.fields[0]!.type, tagged.value);
    const out = new Uint8Array(1 + inner.length);
    out[0] = variant.index;
    out.set(inner, 1);
    return out;
  }

  #decodeOuter(ty: AnyTy, bytes: Uint8Array): { value: Tagged; length: number } {
    const def = ty.def;
    if (def.kind !== 'variant') throw new Error('outer enum must be a variant');
    const name = def.path[def.path.length - 1];
    if (bytes.length === 0) throw new Error(`Could not decode \`${name}\`, no bytes`);
    const variant = def.variants.find((v) => v.index === bytes[0]);
    if (!variant) throw new Error(`Could not decode \`${name}\`, variant doesn't exist`);
    const { value, length } = this.decodePrefix(variant.fields[0]!.type, bytes.subarray(1));
    return { value: { tag: variant.name, value }, length: length + 1 };
  }

  #fieldsInput(fields: FieldDef[], value: Plain, where: string): unknown {
    if (fields.length === 0) return null;
    if (fields.length === 1 && !fields[0]!.name) return this.#toInput(fields[0]!.type, value);
    if (fields.every((f) => !f.name)) {
      if (!Array.isArray(value))
        throw new TypeError(`${where}: expected an array of ${fields.length} values`);
      return fields.map((f, i) => this.#toInput(f.type, value[i]));
    }
    if (typeof value !== 'object' || value === null) throw new TypeError(`${where}: expected an object`);
    const record = value as Record<string, unknown>;
    // Positional input sidesteps polkadot-js' renaming of fields such as `hash`.
    return fields.map((f) => {
      const key = camel(f.name!);
      if (!(key in record)) throw new TypeError(`${where}: missing field ${key}`);
      return this.#toInput(f.type, record[key]);
    });
  }

  #toInput(input: AnyTy, value: Plain): unknown {
    const ty = resolveTy(input);
    if (this.#outer.has(ty)) return this.#encodeOuter(ty, value);
    const def = ty.def;
    switch (def.kind) {
      case 'primitive':
        return value;
      case 'compact':
        return this.#toInput(def.inner, value);
      case 'sequence':
        if (isByte(def.inner)) return u8aToHex(value as Uint8Array);
        return (value as unknown[]).map((v) => this.#toInput(def.inner, v));
      case 'array':
        if (isByte(def.inner)) {
          const bytes = value as Uint8Array;
          if (!(bytes instanceof Uint8Array) || bytes.length !== def.len) {
            throw new TypeError(`expected ${def.len} bytes`);
          }
          return u8aToHex(bytes);
        }
        if (!Array.isArray(value) || value.length !== def.len)
          throw new TypeError(`expected ${def.len} items`);
        return value.map((v) => this.#toInput(def.inner, v));
      case 'tuple':
        if (def.items.length === 0) return null;
        return def.items.map((item, i) => this.#toInput(item, (value as unknown[])[i]));
      case 'composite':
        return this.#fieldsInput(def.fields, value, def.path.join('::'));
      case 'variant': {
        if (isOption(def)) {
          return value === null || value === undefined
            ? null
            : this.#toInput(def.variants[1]!.fields[0]!.type, value);
        }
        const tagged = value as Tagged;
        const variant = def.variants.find((v) => v.name === tagged?.tag);
        if (!variant) throw new TypeError(`${def.path.join('::')}: unknown variant ${String(tagged?.tag)}`);
        return {
          [variant.name]: this.#fieldsInput(
            variant.fields,
            tagged.value,
            `${def.path.join('::')}::${variant.name}`,
          ),
        };
      }
      case 'foreign':
        return value;
      case 'lazy':
        throw new Error('unreachable: lazy types are resolved first');
    }
  }

  #fieldsValue(fields: FieldDef[], codec: Codec): Plain {
    if (fields.length === 0) return undefined;
    // polkadot-js flattens a single unnamed field into its inner codec.
    if (fields.length === 1 && !fields[0]!.name) return this.#fromCodec(fields[0]!.type, codec);
    const parts = codecParts(codec);
    if (fields.every((f) => !f.name)) return fields.map((f, i) => this.#fromCodec(f.type, parts[i]!));
    const out: Record<string, unknown> = {};
    fields.forEach((f, i) => {
      out[camel(f.name!)] = this.#fromCodec(f.type, parts[i]!);
    });
    return out;
  }

  #fromCodec(input: AnyTy, codec: Codec): Plain {
    const ty = resolveTy(input);
    if (this.#outer.has(ty)) return this.#decodeOuter(ty, codec.toU8a()).value;
    const def = ty.def;
    switch (def.kind) {
      case 'primitive': {
        if (def.primitive === 'bool') return (codec as unknown as { isTrue: boolean }).isTrue;
        if (def.primitive === 'str') return codec.toString();
        const n = codec as unknown as { toNumber(): number; toBigInt(): bigint };
        return isWide(def) ? n.toBigInt() : n.toNumber();
      }
      case 'compact':
        return this.#fromCodec(def.inner, (codec as unknown as { unwrap(): Codec }).unwrap());
      case 'sequence':
      case 'array':
        if (isByte(def.inner)) return codec.toU8a(true);
        return (codec as unknown as Codec[]).map((c) => this.#fromCodec(def.inner, c));
      case 'tuple':
        if (def.items.length === 0) return null;
        return def.items.map((item, i) => this.#fromCodec(item, (codec as unknown as Codec[])[i]!));
      case 'composite':
        if (def.fields.length === 0) return null;
        return this.#fieldsValue(def.fields, codec);
      case 'variant': {
        if (isOption(def)) {
          const option = codec as unknown as { isSome: boolean; unwrap(): Codec };
          return option.isSome ? this.#fromCodec(def.variants[1]!.fields[0]!.type, option.unwrap()) : null;
        }
        const e = codec as unknown as { index: number; value: Codec; isOk?: boolean; isErr?: boolean };
        const index = typeof e.index === 'number' ? e.index : e.isOk ? 0 : 1;
        const variant = def.variants.find((v) => v.index === index);
        if (!variant) throw new TypeError(`${def.path.join('::')}: unknown variant index ${index}`);
        const value = this.#fieldsValue(variant.fields, e.value);
        return value === undefined ? { tag: variant.name } : { tag: variant.name, value };
      }
      case 'foreign':
        return codec.toJSON();
      case 'lazy':
        throw new Error('unreachable: lazy types are resolved first');
    }
  }
}

function describe(ty: AnyTy): string {
  const def = resolveTy(ty).def;
  if (def.kind === 'composite' || def.kind === 'variant') return def.path.join('::') || def.kind;
  return def.kind;
}

const fixedLengths = new WeakMap<AnyTy, number | null>();

/** N for `[u8; N]` or a single-field composite of it, else null. */
function fixedByteLength(ty: AnyTy): number | null {
  const known = fixedLengths.get(ty);
  if (known !== undefined) return known;
  const def = ty.def;
  let length: number | null = null;
  if (def.kind === 'array' && isByte(def.inner)) length = def.len;
  else if (def.kind === 'composite' && def.fields.length === 1 && !def.fields[0]!.name) {
    length = fixedByteLength(resolveTy(def.fields[0]!.type));
  }
  fixedLengths.set(ty, length);
  return length;
}

function isByte(ty: AnyTy): boolean {
  const def = resolveTy(ty).def;
  return def.kind === 'primitive' && def.primitive === 'u8';
}

function isWide(def: TypeDef): boolean {
  return def.kind === 'primitive' && ['u64', 'u128', 'u256', 'i64', 'i128', 'i256'].includes(def.primitive);
}

function isOption(def: TypeDef): boolean {
  return def.kind === 'variant' && def.path.length === 1 && def.path[0] === 'Option';
}

/** The member codecs of a Struct (a Map) or Tuple (an Array), in declaration order. */
function codecParts(codec: Codec): Codec[] {
  if (codec instanceof Map) return [...(codec as Map<string, Codec>).values()];
  if (Array.isArray(codec)) return codec as Codec[];
  throw new TypeError(`expected a struct or tuple codec, got ${codec.toRawType()}`);
}

export function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

import { XcmEncodeError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_SEQUENCE_LENGTH, MAX_TYPE_DEPTH } from './limits.js';
import type { Field, Primitive, TypeNode, TypeTable, Variant } from './type-table.js';

/** JSON as @polkadot/types prints it (`toJSON()`), and as the encoder accepts it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Splits a variant value (`{ name: payload }`, or a bare name for a unit variant). */
export function readVariant(
  node: Extract<TypeNode, { kind: 'variant' }>,
  value: unknown,
  path: string,
): { variant: Variant; payload: unknown } {
  if (typeof value === 'string') {
    const variant = node.byName.get(value.toLowerCase());
    if (variant && variant.fields.length === 0) return { variant, payload: null };
    throw new XcmEncodeError(path, `expected one of ${variantList(node)}, got "${value}"`);
  }
  if (!isJsonObject(value))
    throw new XcmEncodeError(path, `expected an object with one of ${variantList(node)}`);
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    throw new XcmEncodeError(path, `expected exactly one of ${variantList(node)}, got ${keys.length} keys`);
  }
  const key = keys[0]!;
  const variant = node.byName.get(key.toLowerCase());
  if (!variant) throw new XcmEncodeError(path, `"${key}" is not one of ${variantList(node)}`);
  return { variant, payload: value[key] };
}

function variantList(node: Extract<TypeNode, { kind: 'variant' }>): string {
  const names = node.variants.map((v) => v.name);
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, ... (${node.key})` : names.join(', ');
}

/** The values of a struct's or variant's fields, in declaration order, from their JSON shape. */
export function readFields(
  fields: Field[],
  payload: unknown,
  path: string,
): { value: unknown; path: string }[] {
  if (fields.length === 0) {
    if (payload !== null && payload !== undefined) throw new XcmEncodeError(path, 'expected null (no data)');
    return [];
  }
  if (fields[0]!.name === null) {
    if (fields.length === 1) return [{ value: payload, path }];
    if (!Array.isArray(payload) || payload.length !== fields.length) {
      throw new XcmEncodeError(path, `expected an array of ${fields.length} values`);
    }
    return payload.map((value, i) => ({ value, path: `${path}[${i}]` }));
  }
  if (!isJsonObject(payload)) {
    throw new XcmEncodeError(path, `expected an object with ${fields.map((f) => f.camel).join(', ')}`);
  }
  const known = new Set<string>();
  const out = fields.map((f) => {
    const key = f.camel! in payload ? f.camel! : f.name!;
    known.add(key);
    if (payload[key] === undefined) throw new XcmEncodeError(`${path}.${f.camel}`, 'missing');
    return { value: payload[key], path: `${path}.${f.camel}` };
  });
  for (const key of Object.keys(payload)) {
    if (!known.has(key)) throw new XcmEncodeError(`${path}.${key}`, 'unknown field');
  }
  return out;
}

/** Builds the JSON shape for field values (the inverse of readFields). */
export function writeFields(fields: Field[], values: JsonValue[]): JsonValue {
  if (fields.length === 0) return null;
  if (fields[0]!.name === null) return fields.length === 1 ? values[0]! : values;
  const out: JsonObject = {};
  fields.forEach((f, i) => {
    out[f.camel!] = values[i]!;
  });
  return out;
}

export function writeVariant(
  node: Extract<TypeNode, { kind: 'variant' }>,
  variant: Variant,
  payload: JsonValue,
): JsonValue {
  if (node.basic) return variant.name;
  return { [variant.camel]: payload };
}

/**
 * Checks a JSON value against a type strictly (every field present, no unknown keys, integers in
 * range, byte arrays of the exact length) and returns it in canonical `toJSON()` form. Needed
 * because @polkadot/types' createType fills anything missing with zeros.
 */
export function normalizeJson(
  table: TypeTable,
  id: number,
  value: unknown,
  path: string,
  depth = 0,
): JsonValue {
  if (depth > MAX_TYPE_DEPTH) throw new XcmEncodeError(path, 'nested too deeply');
  const node = table.get(id);
  switch (node.kind) {
    case 'primitive':
      return primitiveJson(node.prim, value, path);
    case 'compact':
      return primitiveJson(node.prim, value, path);
    case 'composite': {
      const parts = readFields(node.fields, value, path);
      return writeFields(
        node.fields,
        parts.map((p, i) => normalizeJson(table, node.fields[i]!.type, p.value, p.path, depth + 1)),
      );
    }
    case 'variant': {
      if (node.option) {
        if (value === null || value === undefined) return null;
        return normalizeJson(table, node.variants[1]!.fields[0]!.type, value, path, depth + 1);
      }
      const { variant, payload } = readVariant(node, value, path);
      const where = `${path}.${variant.camel}`;
      const parts = readFields(variant.fields, payload, where);
      const values = parts.map((p, i) =>
        normalizeJson(table, variant.fields[i]!.type, p.value, p.path, depth + 1),
      );
      return writeVariant(node, variant, writeFields(variant.fields, values));
    }
    case 'sequence':
    case 'array': {
      const len = node.kind === 'array' ? node.len : undefined;
      if (isU8(table, node.elem)) return bytesJson(value, path, len);
      if (!Array.isArray(value)) throw new XcmEncodeError(path, 'expected an array');
      if (len !== undefined && value.length !== len)
        throw new XcmEncodeError(path, `expected ${len} elements`);
      if (value.length > MAX_SEQUENCE_LENGTH)
        throw new XcmEncodeError(path, `at most MAX_SEQUENCE_LENGTH = ${MAX_SEQUENCE_LENGTH} elements`);
      return value.map((v, i) => normalizeJson(table, node.elem, v, `${path}[${i}]`, depth + 1));
    }
    case 'tuple': {
      if (node.elems.length === 0) {
        if (value !== null && value !== undefined) throw new XcmEncodeError(path, 'expected null');
        return null;
      }
      if (!Array.isArray(value) || value.length !== node.elems.length) {
        throw new XcmEncodeError(path, `expected an array of ${node.elems.length} values`);
      }
      return value.map((v, i) => normalizeJson(table, node.elems[i]!, v, `${path}[${i}]`, depth + 1));
    }
    default:
      throw new XcmEncodeError(path, `type ${node.key} is not supported`);
  }
}

export function isU8(table: TypeTable, id: number): boolean {
  const node = table.get(id);
  return node.kind === 'primitive' && node.prim === 'u8';
}

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

function bytesJson(value: unknown, path: string, len: number | undefined): string {
  if (typeof value !== 'string' || !HEX.test(value)) throw new XcmEncodeError(path, 'expected 0x-hex bytes');
  const n = (value.length - 2) / 2;
  if (len !== undefined && n !== len) throw new XcmEncodeError(path, `expected ${len} bytes, got ${n}`);
  // Bytes are bounded by the message cap alone (the scan of the encoding checks the rest).
  if (n > DEFAULT_MAX_MESSAGE_BYTES)
    throw new XcmEncodeError(path, `at most the message cap of ${DEFAULT_MAX_MESSAGE_BYTES} bytes, got ${n}`);
  return value.toLowerCase();
}

const WIDTH: Partial<Record<Primitive, number>> = { u8: 8, u16: 16, u32: 32, u64: 64, u128: 128, u256: 256 };

function primitiveJson(prim: Primitive, value: unknown, path: string): JsonValue {
  if (prim === 'bool') {
    if (typeof value !== 'boolean') throw new XcmEncodeError(path, 'expected true or false');
    return value;
  }
  if (prim === 'str') {
    if (typeof value !== 'string') throw new XcmEncodeError(path, 'expected a string');
    return value;
  }
  const bits = WIDTH[prim];
  if (bits === undefined) throw new XcmEncodeError(path, `${prim} values are not supported`);
  const n = parseInteger(value);
  if (n === undefined || n < 0n || n >= 1n << BigInt(bits)) {
    throw new XcmEncodeError(
      path,
      `expected an integer in 0..2^${bits}-1 (number, decimal string or 0x-hex)`,
    );
  }
  return integerJson(n, bits);
}

/** The `toJSON()` form of an unsigned integer: a number up to 52 bits, else fixed-width hex. */
export function integerJson(n: bigint, bits: number): number | string {
  if (bits <= 32 || n < 1n << 52n) return Number(n);
  return `0x${n.toString(16).padStart(bits / 4, '0')}`;
}

export function parseInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^\d{1,80}$/.test(value)) return BigInt(value);
  if (/^0x[0-9a-fA-F]{1,64}$/.test(value)) return BigInt(value);
  return undefined;
}

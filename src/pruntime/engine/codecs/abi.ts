import type { AbiParameter } from 'viem';
import { decodeAbiParameters, encodeAbiParameters, parseAbiParameters } from 'viem';
import { fromHex, isHex, toHex } from '../../../base/bytes.js';
import type { HostValue } from './wire.js';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * `ctx.abi`: Solidity ABI encoding through viem, with one value mapping so contracts see the
 * same shapes on every worker: integers decode to bigint, `bytes`/`bytesN` to Uint8Array,
 * addresses to checksummed strings, tuples and arrays to arrays. Types are viem's human-readable
 * parameter lists, e.g. `"uint256, (address to, bytes data)[]"`.
 */
export class AbiCodecError extends BaseError {
  /** The contract's values; the same ones fail the same way. */
  static override readonly retry: Retry = 'never';
  // The contract sees a TypeError.
  override name = 'TypeError';
}

// Zero-sized types would let a decoder loop without consuming input; refuse them up front.
const ZERO_SIZED = /\[0\]|\(\s*\)/;
const MAX_TYPES_LENGTH = 4096;

const cache = new Map<string, readonly AbiParameter[]>();

export function parseAbiTypes(types: string): readonly AbiParameter[] {
  const cached = cache.get(types);
  if (cached) return cached;
  if (types.length === 0 || types.length > MAX_TYPES_LENGTH) throw new AbiCodecError('abi: bad type list');
  if (ZERO_SIZED.test(types)) throw new AbiCodecError('abi: zero-sized types are not supported');
  let params: readonly AbiParameter[];
  try {
    params = parseAbiParameters(types as string) as readonly AbiParameter[];
  } catch {
    throw new AbiCodecError(`abi: cannot parse types "${types.slice(0, 100)}"`);
  }
  if (cache.size > 256) cache.clear();
  cache.set(types, params);
  return params;
}

function toViem(value: HostValue): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(toViem);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toViem(v);
    return out;
  }
  return value;
}

export function abiEncode(types: string, values: HostValue): Uint8Array {
  const params = parseAbiTypes(types);
  if (!Array.isArray(values)) throw new AbiCodecError('abi.encode: values must be an array');
  try {
    const encoded = encodeAbiParameters(params, toViem(values) as never);
    return fromHex(encoded);
  } catch (error) {
    throw new AbiCodecError(`abi.encode: ${shortReason(error)}`);
  }
}

export function abiDecode(types: string, data: Uint8Array): HostValue[] {
  const params = parseAbiTypes(types);
  let decoded: readonly unknown[];
  try {
    decoded = decodeAbiParameters(params, data) as readonly unknown[];
  } catch (error) {
    throw new AbiCodecError(`abi.decode: ${shortReason(error)}`);
  }
  return params.map((param, i) => fromViem(param, decoded[i]));
}

function fromViem(param: AbiParameter, value: unknown): HostValue {
  const arrayMatch = /^(.*)\[(\d*)\]$/.exec(param.type);
  if (arrayMatch) {
    const inner = { ...param, type: arrayMatch[1]! } as AbiParameter;
    return (value as readonly unknown[]).map((item) => fromViem(inner, item));
  }
  if (param.type === 'tuple') {
    const components = (param as { components: readonly AbiParameter[] }).components;
    const items = Array.isArray(value)
      ? value
      : components.map((c) => (value as Record<string, unknown>)[c.name ?? '']);
    return components.map((c, i) => fromViem(c, items[i]));
  }
  if (param.type.startsWith('uint') || param.type.startsWith('int')) return BigInt(value as bigint | number);
  if (param.type.startsWith('bytes') && typeof value === 'string' && isHex(value)) return fromHex(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  throw new AbiCodecError(`abi.decode: unexpected value for ${param.type}`);
}

function shortReason(error: unknown): string {
  const message =
    error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : '';
  return message.split('\n')[0]!.slice(0, 200) || 'invalid value';
}

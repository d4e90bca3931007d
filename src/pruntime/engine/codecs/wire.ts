import { fromHex, isHex, toHex } from '../../../base/bytes.js';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * Values that cross the sandbox boundary for the ABI and SCALE codecs travel as JSON with three
 * tags, so bytes, big integers and plain objects survive and nothing else gets in:
 * `{"$b":"0x…"}` bytes, `{"$n":"-12"}` a bigint, `{"$o":{…}}` an object. Arrays, strings,
 * finite numbers, booleans and null are themselves. The sandbox side is in prelude.ts.
 */
export type HostValue =
  | null
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | HostValue[]
  | { [key: string]: HostValue };

export class WireFormatError extends BaseError {
  /** The contract's values; the same ones fail the same way. */
  static override readonly retry: Retry = 'never';
  // The contract sees a TypeError.
  override name = 'TypeError';
}

const MAX_DEPTH = 64;

export function fromWire(value: unknown, depth = 0): HostValue {
  if (depth > MAX_DEPTH) throw new WireFormatError('value nested too deeply');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new WireFormatError('numbers must be finite');
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => fromWire(item, depth + 1));
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    const record = value as Record<string, unknown>;
    if (keys.length === 1) {
      const [tag] = keys as [string];
      const inner = record[tag];
      if (tag === '$b' && typeof inner === 'string' && isHex(inner)) return fromHex(inner);
      if (tag === '$n' && typeof inner === 'string' && /^-?(0|[1-9][0-9]{0,99})$/.test(inner))
        return BigInt(inner);
      if (tag === '$o' && inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
        const out: Record<string, HostValue> = {};
        for (const [k, v] of Object.entries(inner)) out[k] = fromWire(v, depth + 1);
        return out;
      }
    }
  }
  throw new WireFormatError('not a wire value');
}

export function toWire(value: HostValue, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new WireFormatError('value nested too deeply');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new WireFormatError('numbers must be finite');
    return value;
  }
  if (typeof value === 'bigint') return { $n: value.toString() };
  if (value instanceof Uint8Array) return { $b: toHex(value) };
  if (Array.isArray(value)) return value.map((item) => toWire(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toWire(v, depth + 1);
  return { $o: out };
}

import type { JsonValue } from '../engine/sandbox.js';

/**
 * JSON with object keys sorted (by UTF-16 code units, as `Array.prototype.sort`) and no spaces:
 * one text per value, so context field 7 is the same bytes on every worker whatever order the
 * origin's keys arrived in.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(',')}}`;
}

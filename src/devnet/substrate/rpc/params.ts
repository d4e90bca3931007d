import { hexToU8a, isHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { RpcErrors } from './errors.js';

/** Positional JSON-RPC parameter parsing: each reader names the parameter in its error. */

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

export function bytesParam(
  params: unknown[],
  index: number,
  name: string,
  options: { max?: number; length?: number } = {},
): Uint8Array {
  const value = params[index];
  // The length first: a huge string is refused before it is scanned or decoded.
  if (typeof value === 'string' && options.max !== undefined && value.length > 2 + options.max * 2)
    throw RpcErrors.invalidParams(`${name}: at most ${options.max} bytes`);
  if (typeof value !== 'string' || !isHex(value))
    throw RpcErrors.invalidParams(`${name}: expected 0x-prefixed hex`);
  const bytes = hexToU8a(value);
  if (options.length !== undefined && bytes.length !== options.length) {
    throw RpcErrors.invalidParams(`${name}: expected ${options.length} bytes, got ${bytes.length}`);
  }
  if (options.max !== undefined && bytes.length > options.max) {
    throw RpcErrors.invalidParams(`${name}: at most ${options.max} bytes`);
  }
  return bytes;
}

/** A lower-case hex string parameter (storage keys, prefixes). */
export function hexParam(
  params: unknown[],
  index: number,
  name: string,
  options: { optional?: boolean; max?: number } = {},
): string | undefined {
  const value = params[index];
  if (options.optional && isAbsent(value)) return undefined;
  if (typeof value !== 'string' || !isHex(value))
    throw RpcErrors.invalidParams(`${name}: expected 0x-prefixed hex`);
  if (options.max !== undefined && value.length > 2 + options.max * 2)
    throw RpcErrors.invalidParams(`${name}: too long`);
  return value.toLowerCase();
}

/** An optional block hash (`at`). */
export function hashParam(params: unknown[], index: number, name = 'at'): string | undefined {
  const value = params[index];
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string' || !isHex(value) || value.length !== 66) {
    throw RpcErrors.invalidParams(`${name}: expected a 32-byte block hash`);
  }
  return value.toLowerCase();
}

/** A block number given as a JSON number or a hex/decimal string. */
export function numberValue(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    // Substrate's NumberOrHex takes any 0x number, odd digit counts too ("0x5").
    const n = /^0x[0-9a-fA-F]*$/.test(value)
      ? Number.parseInt(value.slice(2) || '0', 16)
      : /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  throw RpcErrors.invalidParams(`${name}: expected a block number`);
}

export function optionalNumber(params: unknown[], index: number, name: string): number | undefined {
  const value = params[index];
  return isAbsent(value) ? undefined : numberValue(value, name);
}

/** An account as SS58 (any prefix) or 0x-hex of 32 bytes. */
export function accountParam(params: unknown[], index: number, name = 'account'): Uint8Array {
  const value = params[index];
  if (typeof value !== 'string' || value.length > 128)
    throw RpcErrors.invalidParams(`${name}: expected an SS58 address`);
  try {
    const bytes = decodeAddress(value);
    if (bytes.length === 32) return bytes;
    if (bytes.length === 33) throw new Error('public key');
  } catch {
    // fall through
  }
  throw RpcErrors.invalidParams(`${name}: expected an SS58 address or 32-byte hex account id`);
}

export function arrayParam(
  params: unknown[],
  index: number,
  name: string,
  options: { optional?: boolean; max: number },
): unknown[] | undefined {
  const value = params[index];
  if (options.optional && isAbsent(value)) return undefined;
  if (!Array.isArray(value)) throw RpcErrors.invalidParams(`${name}: expected an array`);
  if (value.length > options.max) throw RpcErrors.invalidParams(`${name}: at most ${options.max} items`);
  return value;
}

export function stringParam(params: unknown[], index: number, name: string, max = 256): string {
  const value = params[index];
  if (typeof value !== 'string' || value.length > max)
    throw RpcErrors.invalidParams(`${name}: expected a string`);
  return value;
}

export function noMoreParams(params: unknown[], count: number): void {
  if (params.length > count)
    throw RpcErrors.invalidParams(`expected at most ${count} parameters, got ${params.length}`);
}

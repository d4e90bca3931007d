import { fromHex, type Hex, toHex } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { isJsonObject, type JsonValue } from './json.js';

/**
 * XCM V4/V5 locations in the polkadot-js JSON form the codec reads and writes (the two versions
 * share it; only the set of network ids differs). PROTOCOL.md §1 names XCM origins with these.
 */
export type NetworkIdJson =
  | { byGenesis: Hex }
  | { byFork: { blockNumber: number | string; blockHash: Hex } }
  | { polkadot: null }
  | { kusama: null }
  | { ethereum: { chainId: number | string } }
  | { bitcoinCore: null }
  | { bitcoinCash: null }
  | { polkadotBulletin: null };

export type JunctionJson =
  | { parachain: number }
  | { accountId32: { network: NetworkIdJson | null; id: Hex } }
  | { accountIndex64: { network: NetworkIdJson | null; index: number | string } }
  | { accountKey20: { network: NetworkIdJson | null; key: Hex } }
  | { palletInstance: number }
  | { generalIndex: number | string }
  | { generalKey: { length: number; data: Hex } }
  | { onlyChild: null }
  | { plurality: { id: JsonValue; part: JsonValue } }
  | { globalConsensus: NetworkIdJson };

export type JunctionsJson =
  | { here: null }
  | { x1: JunctionJson[] }
  | { x2: JunctionJson[] }
  | { x3: JunctionJson[] }
  | { x4: JunctionJson[] }
  | { x5: JunctionJson[] }
  | { x6: JunctionJson[] }
  | { x7: JunctionJson[] }
  | { x8: JunctionJson[] };

export type LocationJson = { parents: number; interior: JunctionsJson };

export const MAX_JUNCTIONS = 8;

/** A location `parents` levels up, then down through `junctions` (at most 8). */
export function location(parents: number, junctions: readonly JunctionJson[] = []): LocationJson {
  if (!Number.isInteger(parents) || parents < 0 || parents > 255) {
    throw new InvalidInputError('location.parents', 'an integer in 0..255');
  }
  if (junctions.length > MAX_JUNCTIONS)
    throw new InvalidInputError('location', `at most ${MAX_JUNCTIONS} junctions`);
  const interior: JunctionsJson =
    junctions.length === 0 ? { here: null } : ({ [`x${junctions.length}`]: [...junctions] } as JunctionsJson);
  return { parents, interior };
}

/** This chain. */
export function here(): LocationJson {
  return location(0);
}

/** The relay chain, seen from a parachain. */
export function parent(): LocationJson {
  return location(1);
}

/** Parachain `id` seen from the relay chain. */
export function parachain(id: number): LocationJson {
  return location(0, [parachainJunction(id)]);
}

/** Parachain `id` seen from another parachain of the same relay chain. */
export function sibling(id: number): LocationJson {
  return location(1, [parachainJunction(id)]);
}

/** An account on a sibling parachain (the origin of a request sent after DescendOrigin). */
export function siblingAccount(
  paraId: number,
  accountId: Hex | Uint8Array,
  network: NetworkIdJson | null = null,
): LocationJson {
  return location(1, [parachainJunction(paraId), accountId32(accountId, network)]);
}

export function parachainJunction(id: number): JunctionJson {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff)
    throw new InvalidInputError('parachain', 'a u32 para id');
  return { parachain: id };
}

export function accountId32(id: Hex | Uint8Array, network: NetworkIdJson | null = null): JunctionJson {
  return { accountId32: { network, id: bytesHex(id, 'accountId32', 32) } };
}

export function accountKey20(key: Hex | Uint8Array, network: NetworkIdJson | null = null): JunctionJson {
  return { accountKey20: { network, key: bytesHex(key, 'accountKey20', 20) } };
}

/** A general key of up to 32 bytes, stored as `{ length, data }` padded with zeros (V3+). */
export function generalKey(key: Hex | Uint8Array): JunctionJson {
  const bytes = typeof key === 'string' ? fromHex(key, 'generalKey') : key;
  if (bytes.length > 32) throw new InvalidInputError('generalKey', 'at most 32 bytes');
  const data = new Uint8Array(32);
  data.set(bytes);
  return { generalKey: { length: bytes.length, data: toHex(data) } };
}

export function palletInstance(index: number): JunctionJson {
  if (!Number.isInteger(index) || index < 0 || index > 255)
    throw new InvalidInputError('palletInstance', 'a u8');
  return { palletInstance: index };
}

export function generalIndex(index: bigint | number): JunctionJson {
  const n = BigInt(index);
  if (n < 0n || n >= 1n << 128n) throw new InvalidInputError('generalIndex', 'a u128');
  return { generalIndex: n < 1n << 52n ? Number(n) : `0x${n.toString(16).padStart(32, '0')}` };
}

/** The junctions of a location (V3 `x1: J` and V4+ `x1: [J]` both accepted). */
export function junctionsOf(loc: LocationJson | JsonValue): JsonValue[] {
  if (!isJsonObject(loc) || !isJsonObject(loc.interior))
    throw new InvalidInputError('location', 'a { parents, interior } object');
  const [key, value] = Object.entries(loc.interior)[0] ?? [];
  if (key === undefined || key.toLowerCase() === 'here') return [];
  const n = /^x([1-8])$/i.exec(key);
  if (!n) throw new InvalidInputError('location.interior', 'Here or X1..X8');
  return Array.isArray(value) ? value : [value as JsonValue];
}

/** Appends a junction to a location. */
export function join(loc: LocationJson, junction: JunctionJson): LocationJson {
  return location(loc.parents, [...(junctionsOf(loc) as JunctionJson[]), junction]);
}

/** True when the two locations are the same (compared in their JSON form). */
export function sameLocation(a: JsonValue, b: JsonValue): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: JsonValue): string {
  if (!isJsonObject(value)) return JSON.stringify(value);
  const parents = value.parents;
  const junctions = junctionsOf(value);
  return JSON.stringify({ parents, junctions });
}

function bytesHex(value: Hex | Uint8Array, field: string, length: number): Hex {
  return toHex(typeof value === 'string' ? fromHex(value, field, length) : checkLength(value, field, length));
}

function checkLength(bytes: Uint8Array, field: string, length: number): Uint8Array {
  if (bytes.length !== length) throw new InvalidInputError(field, `${length} bytes, got ${bytes.length}`);
  return bytes;
}

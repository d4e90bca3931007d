import { blake2AsU8a, xxhashAsU8a } from '@polkadot/util-crypto';
import { concatBytes } from '../../../base/bytes.js';

/** FRAME's storage hashers (the names metadata uses). */
export type StorageHasher =
  | 'Blake2_128'
  | 'Blake2_256'
  | 'Blake2_128Concat'
  | 'Twox128'
  | 'Twox256'
  | 'Twox64Concat'
  | 'Identity';

export function hashKey(hasher: StorageHasher, encoded: Uint8Array): Uint8Array {
  switch (hasher) {
    case 'Blake2_128':
      return blake2AsU8a(encoded, 128);
    case 'Blake2_256':
      return blake2AsU8a(encoded, 256);
    case 'Blake2_128Concat':
      return concatBytes(blake2AsU8a(encoded, 128), encoded);
    case 'Twox128':
      return xxhashAsU8a(encoded, 128);
    case 'Twox256':
      return xxhashAsU8a(encoded, 256);
    case 'Twox64Concat':
      return concatBytes(xxhashAsU8a(encoded, 64), encoded);
    case 'Identity':
      return encoded;
  }
}

/** Bytes a hasher puts before the key itself (for the *Concat and Identity hashers), else null. */
export function hasherPrefixLength(hasher: StorageHasher): number | null {
  if (hasher === 'Blake2_128Concat') return 16;
  if (hasher === 'Twox64Concat') return 8;
  if (hasher === 'Identity') return 0;
  return null;
}

const prefixCache = new Map<string, Uint8Array>();

/** twox128(pallet prefix) ‖ twox128(item name): where an item's keys start. */
export function storagePrefix(pallet: string, item: string): Uint8Array {
  const id = `${pallet}\u0000${item}`;
  let prefix = prefixCache.get(id);
  if (!prefix) {
    prefix = concatBytes(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128));
    prefixCache.set(id, prefix);
  }
  return prefix;
}

/** Well-known keys outside any pallet. */
export const WELL_KNOWN_KEYS = {
  code: new TextEncoder().encode(':code'),
  heapPages: new TextEncoder().encode(':heappages'),
  extrinsicIndex: new TextEncoder().encode(':extrinsic_index'),
} as const;

import { compactToU8a } from '@polkadot/util';
import { concatBytes } from '../../../base/bytes.js';
import { blake2AsU8a } from '@polkadot/util-crypto';

/**
 * The Substrate state/extrinsics root: the root hash of a base-16 Patricia-Merkle trie without
 * extension nodes (sp-trie's LayoutV0 / LayoutV1, blake2-256), computed from sorted key/value pairs.
 * No npm library computes it in JS (chopsticks ships it only inside its wasm executor, which the
 * tests use to check this one), so it is written here, after sp-trie's node codec:
 *
 *   header (node kind + partial-key nibble count) ‖ partial key ‖ [bitmap u16 LE] ‖ value ‖ children
 *
 * Children shorter than 32 bytes are inlined, others referenced by hash; with LayoutV1, values of
 * 33 bytes or more are stored as their hash.
 */

export type TrieVersion = 0 | 1;
export type TrieEntry = readonly [key: Uint8Array, value: Uint8Array];

export const EMPTY_TRIE = 0x00;
export const LEAF = 0x40; // 0b01 << 6
export const BRANCH_NO_VALUE = 0x80; // 0b10 << 6
export const BRANCH_WITH_VALUE = 0xc0; // 0b11 << 6
export const HASHED_VALUE_LEAF = 0x20; // 0b001 << 5
export const HASHED_VALUE_BRANCH = 0x10; // 0b0001 << 4
const VALUE_NODE_THRESHOLD = 33;

export function header(prefix: number, prefixBits: number, nibbleCount: number): number[] {
  const maxValue = 0xff >> prefixBits;
  const first = Math.min(maxValue - 1, nibbleCount);
  if (first === nibbleCount) return [prefix + first];
  const out = [prefix + maxValue];
  let rem = nibbleCount - first;
  while (rem > 0) {
    if (rem < 256) {
      out.push(rem - 1);
      rem = 0;
    } else {
      out.push(255);
      rem -= 255;
    }
  }
  return out;
}

/** Nibble `i` of a key (high half first). */
function nib(key: Uint8Array, i: number): number {
  const b = key[i >> 1]!;
  return i & 1 ? b & 0x0f : b >> 4;
}

/** Nibbles [from, to) of a key packed two to a byte; an odd count puts the first one alone. */
function packPartial(key: Uint8Array, from: number, to: number): Uint8Array {
  const count = to - from;
  const out = new Uint8Array((count + 1) >> 1);
  let o = 0;
  let i = from;
  if (count & 1) out[o++] = nib(key, i++);
  for (; i < to; i += 2) out[o++] = (nib(key, i) << 4) | nib(key, i + 1);
  return out;
}

type Item = { key: Uint8Array; nibbles: number; value: Uint8Array };

export function hash(data: Uint8Array): Uint8Array {
  return blake2AsU8a(data, 256);
}

export function encodeValue(value: Uint8Array, version: TrieVersion): { bytes: Uint8Array; hashed: boolean } {
  if (version === 1 && value.length >= VALUE_NODE_THRESHOLD) return { bytes: hash(value), hashed: true };
  return { bytes: concatBytes(compactToU8a(value.length), value), hashed: false };
}

export function childReference(encoded: Uint8Array): Uint8Array {
  const ref = encoded.length < 32 ? encoded : hash(encoded);
  const out = new Uint8Array(ref.length + 1);
  out[0] = ref.length << 2; // compact length of < 64 bytes is one byte
  out.set(ref, 1);
  return out;
}

function encodeNode(items: Item[], lo: number, hi: number, depth: number, version: TrieVersion): Uint8Array {
  if (hi - lo === 1) {
    const { key, nibbles, value } = items[lo]!;
    const v = encodeValue(value, version);
    const count = nibbles - depth;
    const head = v.hashed ? header(HASHED_VALUE_LEAF, 3, count) : header(LEAF, 2, count);
    return concatBytes(Uint8Array.from(head), packPartial(key, depth, nibbles), v.bytes);
  }
  // The longest prefix (from `depth`) that every key in the range shares: that of the first and
  // last, as the range is sorted.
  const first = items[lo]!;
  const last = items[hi - 1]!;
  let end = depth;
  while (end < first.nibbles && end < last.nibbles && nib(first.key, end) === nib(last.key, end)) end++;
  let i = lo;
  let value: Uint8Array | null = null;
  if (first.nibbles === end) {
    value = first.value;
    i++;
  }
  const children: Uint8Array[] = [];
  let bitmap = 0;
  while (i < hi) {
    const nibble = nib(items[i]!.key, end);
    let j = i + 1;
    while (j < hi && nib(items[j]!.key, end) === nibble) j++;
    children.push(childReference(encodeNode(items, i, j, end + 1, version)));
    bitmap |= 1 << nibble;
    i = j;
  }
  const count = end - depth;
  const v = value ? encodeValue(value, version) : null;
  const head = !v
    ? header(BRANCH_NO_VALUE, 2, count)
    : v.hashed
      ? header(HASHED_VALUE_BRANCH, 4, count)
      : header(BRANCH_WITH_VALUE, 2, count);
  const parts: Uint8Array[] = [
    Uint8Array.from(head),
    packPartial(first.key, depth, end),
    Uint8Array.of(bitmap & 0xff, bitmap >> 8),
  ];
  if (v) parts.push(v.bytes);
  parts.push(...children);
  return concatBytes(...parts);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The trie root of a set of key/value pairs (unsorted input is sorted; duplicate keys keep the last). */
export function trieRoot(entries: Iterable<TrieEntry>, version: TrieVersion, sorted = false): Uint8Array {
  const list = sorted ? [...entries] : [...entries].sort((a, b) => compareBytes(a[0], b[0]));
  const items: Item[] = [];
  for (const [key, value] of list) {
    const previous = items[items.length - 1];
    if (previous && compareBytes(previous.key, key) === 0) previous.value = value;
    else items.push({ key, nibbles: key.length * 2, value });
  }
  if (items.length === 0) return hash(Uint8Array.of(EMPTY_TRIE));
  return hash(encodeNode(items, 0, items.length, 0, version));
}

/** The extrinsics root: a trie keyed by SCALE `Compact<u32>` index. */
export function orderedTrieRoot(values: Uint8Array[], version: TrieVersion): Uint8Array {
  return trieRoot(
    values.map((value, i) => [compactToU8a(i), value] as const),
    version,
  );
}

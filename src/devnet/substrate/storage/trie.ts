import { compactToU8a } from '@polkadot/util';
import { concatBytes } from '../../../base/bytes.js';
import { blake2_256 } from '../../../crypto/hash.js';

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

const EMPTY_TRIE = 0x00;
const LEAF = 0x40; // 0b01 << 6
const BRANCH_NO_VALUE = 0x80; // 0b10 << 6
const BRANCH_WITH_VALUE = 0xc0; // 0b11 << 6
const HASHED_VALUE_LEAF = 0x20; // 0b001 << 5
const HASHED_VALUE_BRANCH = 0x10; // 0b0001 << 4
const VALUE_NODE_THRESHOLD = 33;

function header(prefix: number, prefixBits: number, nibbleCount: number): number[] {
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

function nibbles(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 0x0f;
  }
  return out;
}

/** Nibbles packed two to a byte; an odd count puts the first nibble alone in the low half. */
function packPartial(n: Uint8Array, from: number, to: number): number[] {
  const out: number[] = [];
  let i = from;
  if ((to - from) % 2 === 1) out.push(n[i++]!);
  for (; i < to; i += 2) out.push((n[i]! << 4) | n[i + 1]!);
  return out;
}

type Item = { n: Uint8Array; value: Uint8Array };

function encodeValue(value: Uint8Array, version: TrieVersion): { bytes: Uint8Array; hashed: boolean } {
  if (version === 1 && value.length >= VALUE_NODE_THRESHOLD)
    return { bytes: blake2_256(value), hashed: true };
  return { bytes: concatBytes(compactToU8a(value.length), value), hashed: false };
}

function childReference(encoded: Uint8Array): Uint8Array {
  const ref = encoded.length < 32 ? encoded : blake2_256(encoded);
  return concatBytes(compactToU8a(ref.length), ref);
}

function encodeNode(items: Item[], lo: number, hi: number, depth: number, version: TrieVersion): Uint8Array {
  if (hi - lo === 1) {
    const { n, value } = items[lo]!;
    const v = encodeValue(value, version);
    const count = n.length - depth;
    const head = v.hashed ? header(HASHED_VALUE_LEAF, 3, count) : header(LEAF, 2, count);
    return concatBytes(Uint8Array.from(head), Uint8Array.from(packPartial(n, depth, n.length)), v.bytes);
  }
  // The longest prefix (from `depth`) that every key in the range shares.
  const first = items[lo]!.n;
  const last = items[hi - 1]!.n;
  let end = depth;
  while (end < first.length && end < last.length && first[end] === last[end]) end++;
  let i = lo;
  let value: Uint8Array | null = null;
  if (first.length === end) {
    value = items[lo]!.value;
    i++;
  }
  const children: (Uint8Array | null)[] = new Array(16).fill(null);
  let bitmap = 0;
  while (i < hi) {
    const nibble = items[i]!.n[end]!;
    let j = i + 1;
    while (j < hi && items[j]!.n[end] === nibble) j++;
    children[nibble] = childReference(encodeNode(items, i, j, end + 1, version));
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
    Uint8Array.from(packPartial(first, depth, end)),
    Uint8Array.of(bitmap & 0xff, bitmap >> 8),
  ];
  if (v) parts.push(v.bytes);
  for (const child of children) if (child) parts.push(child);
  return concatBytes(...parts);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The trie root of a set of key/value pairs (unsorted input is sorted; duplicate keys keep the last). */
export function trieRoot(entries: Iterable<TrieEntry>, version: TrieVersion): Uint8Array {
  const sorted = [...entries].sort((a, b) => compareBytes(a[0], b[0]));
  const items: Item[] = [];
  for (const [key, value] of sorted) {
    const n = nibbles(key);
    const previous = items[items.length - 1];
    if (previous && compareBytes(previous.n, n) === 0) previous.value = value;
    else items.push({ n, value });
  }
  if (items.length === 0) return blake2_256(Uint8Array.of(EMPTY_TRIE));
  return blake2_256(encodeNode(items, 0, items.length, 0, version));
}

/** The extrinsics root: a trie keyed by SCALE `Compact<u32>` index. */
export function orderedTrieRoot(values: Uint8Array[], version: TrieVersion): Uint8Array {
  return trieRoot(
    values.map((value, i) => [compactToU8a(i), value] as const),
    version,
  );
}

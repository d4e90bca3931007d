import { concatBytes, toHex } from '../../../src/base/bytes.js';
import {
  BRANCH_NO_VALUE,
  BRANCH_WITH_VALUE,
  HASHED_VALUE_BRANCH,
  HASHED_VALUE_LEAF,
  LEAF,
  type TrieEntry,
  type TrieVersion,
  childReference,
  encodeValue,
  hash,
  header,
} from '../../../src/devnet/substrate/storage/trie.js';

/**
 * Test-only: the dev trie's nodes kept as a tree (trie.ts only computes roots), so tests can cut
 * read proofs out of it the way `state_getReadProof` does: the root, every node on each key's
 * path that its parent references by hash, and hashed value nodes (LayoutV1).
 */

export type TrieNodeTree = {
  encoded: Uint8Array;
  partial: number[];
  value: Uint8Array | null;
  children: (TrieNodeTree | null)[];
};

const nib = (key: Uint8Array, i: number): number => (i & 1 ? key[i >> 1]! & 0x0f : key[i >> 1]! >> 4);

function pack(nibbles: number[]): Uint8Array {
  const out = new Uint8Array((nibbles.length + 1) >> 1);
  let o = 0;
  let i = 0;
  if (nibbles.length & 1) out[o++] = nibbles[i++]!;
  for (; i < nibbles.length; i += 2) out[o++] = (nibbles[i]! << 4) | nibbles[i + 1]!;
  return out;
}

function build(
  items: TrieEntry[],
  lo: number,
  hi: number,
  depth: number,
  version: TrieVersion,
): TrieNodeTree {
  const first = items[lo]![0];
  if (hi - lo === 1) {
    const [key, value] = items[lo]!;
    const partial = Array.from({ length: key.length * 2 - depth }, (_, i) => nib(key, depth + i));
    const v = encodeValue(value, version);
    const head = v.hashed ? header(HASHED_VALUE_LEAF, 3, partial.length) : header(LEAF, 2, partial.length);
    return {
      encoded: concatBytes(Uint8Array.from(head), pack(partial), v.bytes),
      partial,
      value,
      children: [],
    };
  }
  const last = items[hi - 1]![0];
  let end = depth;
  while (end < first.length * 2 && end < last.length * 2 && nib(first, end) === nib(last, end)) end++;
  let i = lo;
  let value: Uint8Array | null = null;
  if (first.length * 2 === end) {
    value = items[lo]![1];
    i++;
  }
  const children: (TrieNodeTree | null)[] = new Array(16).fill(null);
  const refs: Uint8Array[] = [];
  let bitmap = 0;
  while (i < hi) {
    const nibble = nib(items[i]![0], end);
    let j = i + 1;
    while (j < hi && nib(items[j]![0], end) === nibble) j++;
    const child = build(items, i, j, end + 1, version);
    children[nibble] = child;
    refs.push(childReference(child.encoded));
    bitmap |= 1 << nibble;
    i = j;
  }
  const partial = Array.from({ length: end - depth }, (_, k) => nib(first, depth + k));
  const v = value ? encodeValue(value, version) : null;
  const head = !v
    ? header(BRANCH_NO_VALUE, 2, partial.length)
    : v.hashed
      ? header(HASHED_VALUE_BRANCH, 4, partial.length)
      : header(BRANCH_WITH_VALUE, 2, partial.length);
  const parts = [Uint8Array.from(head), pack(partial), Uint8Array.of(bitmap & 0xff, bitmap >> 8)];
  if (v) parts.push(v.bytes);
  return { encoded: concatBytes(...parts, ...refs), partial, value, children };
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export type TestTrie = { root: Uint8Array; tree: TrieNodeTree | null; version: TrieVersion };

export function buildTrie(entries: TrieEntry[], version: TrieVersion): TestTrie {
  const items = [...entries].sort((a, b) => compare(a[0], b[0]));
  if (items.length === 0) return { root: hash(Uint8Array.of(0)), tree: null, version };
  const tree = build(items, 0, items.length, 0, version);
  return { root: hash(tree.encoded), tree, version };
}

/** The nodes a verifier needs to read `keys` (present or absent), without duplicates. */
export function readProof(trie: TestTrie, keys: Uint8Array[]): Uint8Array[] {
  if (!trie.tree) return [Uint8Array.of(0)];
  const out = new Map<string, Uint8Array>();
  const add = (bytes: Uint8Array) => out.set(toHex(bytes), bytes);
  const addValue = (value: Uint8Array | null) => {
    if (value && encodeValue(value, trie.version).hashed) add(value);
  };
  for (const key of keys) {
    let node: TrieNodeTree | null = trie.tree;
    let depth = 0;
    let byHash = true;
    while (node) {
      if (byHash) add(node.encoded);
      const matches = node.partial.every((n, i) => depth + i < key.length * 2 && nib(key, depth + i) === n);
      if (!matches) break;
      depth += node.partial.length;
      if (depth === key.length * 2) {
        addValue(node.value);
        break;
      }
      if (node.children.length === 0) break;
      const child: TrieNodeTree | null = node.children[nib(key, depth)] ?? null;
      depth += 1;
      byHash = child !== null && child.encoded.length >= 32;
      node = child;
    }
  }
  return [...out.values()];
}

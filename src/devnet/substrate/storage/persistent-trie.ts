import { concatBytes } from '../../../base/bytes.js';
import {
  BRANCH_NO_VALUE,
  BRANCH_WITH_VALUE,
  EMPTY_TRIE,
  HASHED_VALUE_BRANCH,
  HASHED_VALUE_LEAF,
  LEAF,
  type TrieVersion,
  childReference,
  encodeValue,
  hash,
  header,
} from './trie.js';

/**
 * The state trie kept between blocks, so a block's state root costs the changed paths only
 * (trie.ts recomputes a whole trie, which is linear in the state). Nodes are immutable: an update
 * returns a new root sharing every untouched subtree, so a root computed for a block that is then
 * not imported leaves the committed trie as it was. Node encodings are cached on the node.
 */

type Nibbles = Uint8Array; // one nibble per byte

type Leaf = { kind: 'leaf'; partial: Nibbles; value: Uint8Array; encoded?: Uint8Array };
type Branch = {
  kind: 'branch';
  partial: Nibbles;
  value: Uint8Array | null;
  children: (Node | null)[];
  encoded?: Uint8Array;
};
type Node = Leaf | Branch;

function toNibbles(key: Uint8Array): Nibbles {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 0x0f;
  }
  return out;
}

function commonPrefix(a: Nibbles, b: Nibbles, bFrom: number): number {
  let i = 0;
  while (i < a.length && bFrom + i < b.length && a[i] === b[bFrom + i]) i++;
  return i;
}

function pack(nibbles: Nibbles): Uint8Array {
  const count = nibbles.length;
  const out = new Uint8Array((count + 1) >> 1);
  let o = 0;
  let i = 0;
  if (count & 1) out[o++] = nibbles[i++]!;
  for (; i < count; i += 2) out[o++] = (nibbles[i]! << 4) | nibbles[i + 1]!;
  return out;
}

function leaf(partial: Nibbles, value: Uint8Array): Leaf {
  return { kind: 'leaf', partial, value };
}

function withPartial(node: Node, partial: Nibbles): Node {
  return node.kind === 'leaf' ? leaf(partial, node.value) : { ...node, partial, encoded: undefined };
}

function insert(node: Node | null, key: Nibbles, at: number, value: Uint8Array): Node {
  if (!node) return leaf(key.slice(at), value);
  const c = commonPrefix(node.partial, key, at);
  const rest = key.length - at;
  if (node.kind === 'leaf' && c === node.partial.length && c === rest) return leaf(node.partial, value);
  if (node.kind === 'branch' && c === node.partial.length) {
    if (c === rest) return { ...node, value, encoded: undefined };
    const index = key[at + c]!;
    const children = node.children.slice();
    children[index] = insert(children[index] ?? null, key, at + c + 1, value);
    return { ...node, children, encoded: undefined };
  }
  // Split: a branch at the common prefix holding the old node and the new key.
  const children: (Node | null)[] = new Array(16).fill(null);
  let branchValue: Uint8Array | null = null;
  if (c === node.partial.length) {
    // node is a leaf whose key is a prefix of the new key: its value moves into the branch.
    branchValue = (node as Leaf).value;
  } else {
    children[node.partial[c]!] = withPartial(node, node.partial.slice(c + 1));
  }
  if (c === rest) branchValue = value;
  else children[key[at + c]!] = leaf(key.slice(at + c + 1), value);
  return { kind: 'branch', partial: node.partial.slice(0, c), value: branchValue, children };
}

function remove(node: Node | null, key: Nibbles, at: number): Node | null {
  if (!node) return null;
  const c = commonPrefix(node.partial, key, at);
  if (c !== node.partial.length) return node;
  const rest = key.length - at;
  if (node.kind === 'leaf') return c === rest ? null : node;
  let next: Branch;
  if (c === rest) {
    if (node.value === null) return node;
    next = { ...node, value: null, encoded: undefined };
  } else {
    const index = key[at + c]!;
    const child = node.children[index] ?? null;
    const updated = remove(child, key, at + c + 1);
    if (updated === child) return node;
    const children = node.children.slice();
    children[index] = updated;
    next = { ...node, children, encoded: undefined };
  }
  return normalize(next);
}

/** A branch with one child and no value merges into the child; with no child it is a leaf. */
function normalize(branch: Branch): Node | null {
  let count = 0;
  let only = -1;
  for (let i = 0; i < 16; i++) {
    if (branch.children[i]) {
      count++;
      only = i;
    }
  }
  if (count === 0) return branch.value === null ? null : leaf(branch.partial, branch.value);
  if (count === 1 && branch.value === null) {
    const child = branch.children[only]!;
    const partial = new Uint8Array(branch.partial.length + 1 + child.partial.length);
    partial.set(branch.partial, 0);
    partial[branch.partial.length] = only;
    partial.set(child.partial, branch.partial.length + 1);
    return withPartial(child, partial);
  }
  return branch;
}

function encode(node: Node, version: TrieVersion): Uint8Array {
  if (node.encoded) return node.encoded;
  let out: Uint8Array;
  if (node.kind === 'leaf') {
    const v = encodeValue(node.value, version);
    const head = v.hashed
      ? header(HASHED_VALUE_LEAF, 3, node.partial.length)
      : header(LEAF, 2, node.partial.length);
    out = concatBytes(Uint8Array.from(head), pack(node.partial), v.bytes);
  } else {
    const v = node.value ? encodeValue(node.value, version) : null;
    const count = node.partial.length;
    const head = !v
      ? header(BRANCH_NO_VALUE, 2, count)
      : v.hashed
        ? header(HASHED_VALUE_BRANCH, 4, count)
        : header(BRANCH_WITH_VALUE, 2, count);
    let bitmap = 0;
    const refs: Uint8Array[] = [];
    node.children.forEach((child, i) => {
      if (!child) return;
      bitmap |= 1 << i;
      refs.push(childReference(encode(child, version)));
    });
    const parts = [Uint8Array.from(head), pack(node.partial), Uint8Array.of(bitmap & 0xff, bitmap >> 8)];
    if (v) parts.push(v.bytes);
    out = concatBytes(...parts, ...refs);
  }
  node.encoded = out;
  return out;
}

export class PersistentTrie {
  private constructor(
    private readonly root: Node | null,
    readonly version: TrieVersion,
  ) {}

  static empty(version: TrieVersion): PersistentTrie {
    return new PersistentTrie(null, version);
  }

  /** A new trie with these changes (null removes the key); this one is unchanged. */
  update(changes: Iterable<readonly [Uint8Array, Uint8Array | null]>): PersistentTrie {
    let root = this.root;
    for (const [key, value] of changes) {
      const nibbles = toNibbles(key);
      root = value === null ? remove(root, nibbles, 0) : insert(root, nibbles, 0, value);
    }
    return root === this.root ? this : new PersistentTrie(root, this.version);
  }

  rootHash(): Uint8Array {
    if (!this.root) return hash(Uint8Array.of(EMPTY_TRIE));
    return hash(encode(this.root, this.version));
  }

  /**
   * Looks `key` up the way sp-trie's recorder sees it: `record` gets every node a verifier must
   * be given to repeat the walk — the root, each node referenced by hash on the path (encodings
   * under 32 bytes are inlined in their parent, so they come with it), and with LayoutV1 a value
   * of 33 bytes or more, which the leaf or branch holds by hash. The walk stops where the key's
   * absence shows. Returns the value, or null.
   */
  lookupRecording(key: Uint8Array, record: (node: Uint8Array) => void): Uint8Array | null {
    // An empty trie is its root hash alone: sp-trie answers without fetching a node.
    let node = this.root;
    const nibbles = toNibbles(key);
    let at = 0;
    let isRoot = true;
    while (node) {
      const encoded = encode(node, this.version);
      if (isRoot || encoded.length >= 32) record(encoded);
      isRoot = false;
      const c = commonPrefix(node.partial, nibbles, at);
      if (c !== node.partial.length) return null;
      at += c;
      let value: Uint8Array | null;
      if (node.kind === 'leaf') value = at === nibbles.length ? node.value : null;
      else if (at === nibbles.length) value = node.value;
      else {
        node = node.children[nibbles[at]!] ?? null;
        at++;
        continue;
      }
      if (value && encodeValue(value, this.version).hashed) record(value);
      return value;
    }
    return null;
  }
}

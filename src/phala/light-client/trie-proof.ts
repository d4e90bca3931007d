import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { LightClientError } from './errors.js';
import { ScaleReader } from './scale.js';

/**
 * Verification of Substrate storage read proofs (`state_getReadProof`): an unordered set of
 * encoded trie nodes, checked by walking from the state root and looking each referenced node up
 * by its blake2-256 hash. The node codec is sp-trie's (LayoutV0 and V1):
 *
 *   header (kind + partial-key nibble count) ‖ partial key ‖ [bitmap u16 LE] ‖ [value] ‖ children
 *
 * Children are referenced by hash (32 bytes) or inlined (< 32 bytes); LayoutV1 stores values of
 * 33 bytes or more as a separate value node, referenced by its hash. Written here because no
 * maintained npm package verifies these proofs (the archived @polkadot/trie-db predates LayoutV1
 * and has no proof checking; smoldot verifies them only inside its own networked light client).
 */

type NodeValue = { kind: 'inline'; value: Uint8Array } | { kind: 'hashed'; hash: Hex };
type ChildRef = { kind: 'hash'; hash: Hex } | { kind: 'inline'; node: Uint8Array };

export type TrieNode =
  | { kind: 'empty' }
  | { kind: 'leaf'; partial: Uint8Array; value: NodeValue }
  | { kind: 'branch'; partial: Uint8Array; value: NodeValue | null; children: (ChildRef | null)[] };

/** The largest partial key sp-trie decodes (its NIBBLE_SIZE_BOUND). */
const NIBBLE_SIZE_BOUND = 0xffff;

function nibbleCount(r: ScaleReader, first: number, prefixBits: number): number {
  const max = 0xff >> prefixBits;
  let count = first & max;
  if (count < max) return count;
  count -= 1;
  for (;;) {
    const n = r.u8();
    if (n < 255) return count + n + 1;
    count += 255;
    if (count > NIBBLE_SIZE_BOUND) r.fail('partial key too long');
  }
}

function readPartial(r: ScaleReader, count: number): Uint8Array {
  const bytes = r.take((count + 1) >> 1);
  const out = new Uint8Array(count);
  let o = 0;
  let i = 0;
  if (count & 1) {
    // An odd count puts the first nibble alone in the low half; the high half is padding.
    if (bytes[0]! >> 4 !== 0) r.fail('non-zero partial key padding');
    out[o++] = bytes[i++]! & 0x0f;
  }
  for (; i < bytes.length; i++) {
    out[o++] = bytes[i]! >> 4;
    out[o++] = bytes[i]! & 0x0f;
  }
  return out;
}

function readValue(r: ScaleReader, hashed: boolean): NodeValue {
  return hashed ? { kind: 'hashed', hash: toHex(r.take(32)) } : { kind: 'inline', value: r.vecU8() };
}

/** Decodes one trie node; anything off is a `malformed-node` LightClientError. */
export function decodeTrieNode(bytes: Uint8Array): TrieNode {
  const r = new ScaleReader(bytes, 'trie node', 'malformed-node');
  const first = r.u8();
  let node: TrieNode;
  if (first === 0) {
    node = { kind: 'empty' };
  } else {
    const kind = first >> 6;
    let isLeaf: boolean;
    let hasValue: boolean;
    let hashed = false;
    let count: number;
    if (kind === 0b01) {
      [isLeaf, hasValue, count] = [true, true, nibbleCount(r, first, 2)];
    } else if (kind === 0b10 || kind === 0b11) {
      [isLeaf, hasValue, count] = [false, kind === 0b11, nibbleCount(r, first, 2)];
    } else if (first >> 5 === 0b001) {
      [isLeaf, hasValue, hashed, count] = [true, true, true, nibbleCount(r, first, 3)];
    } else if (first >> 4 === 0b0001) {
      [isLeaf, hasValue, hashed, count] = [false, true, true, nibbleCount(r, first, 4)];
    } else {
      return r.fail(`unknown node header 0x${first.toString(16)}`);
    }
    const partial = readPartial(r, count);
    if (isLeaf) {
      node = { kind: 'leaf', partial, value: readValue(r, hashed) };
    } else {
      const bitmap = r.u16le();
      if (bitmap === 0) r.fail('branch without children');
      const value = hasValue ? readValue(r, hashed) : null;
      const children: (ChildRef | null)[] = [];
      for (let i = 0; i < 16; i++) {
        if (!(bitmap & (1 << i))) {
          children.push(null);
          continue;
        }
        const length = r.compact();
        if (length === 0 || length > 32) r.fail(`child reference of ${length} bytes`);
        const ref = r.take(length);
        children.push(length === 32 ? { kind: 'hash', hash: toHex(ref) } : { kind: 'inline', node: ref });
      }
      node = { kind: 'branch', partial, value, children };
    }
  }
  r.end();
  return node;
}

export type VerifyReadProofParameters = {
  stateRoot: Hex | Uint8Array;
  proof: readonly Uint8Array[];
  keys: readonly Uint8Array[];
};

/**
 * Verifies a read proof for `keys` against `stateRoot`: each key maps (by its 0x-hex) to its value,
 * or to `null` when the proof shows it absent. Refuses with `root-not-in-proof` (a proof for
 * another state), `incomplete-proof` (a node the walk needs is missing) or `malformed-node`.
 */
export function verifyReadProof(p: VerifyReadProofParameters): Map<Hex, Uint8Array | null> {
  const root =
    typeof p.stateRoot === 'string' ? toHex(fromHex(p.stateRoot, 'stateRoot', 32)) : toHex(p.stateRoot);
  const db = new Map<Hex, Uint8Array>();
  for (const node of p.proof) db.set(toHex(blake2_256(node)), node);
  if (!db.has(root)) {
    throw new LightClientError('root-not-in-proof', 'The read proof is not for this state root.', {
      details: `no node of the ${p.proof.length} hashes to ${root}`,
    });
  }
  const decoded = new Map<Hex, TrieNode>();
  const byHash = (hash: Hex, what: string): Uint8Array => {
    const bytes = db.get(hash);
    if (!bytes) {
      throw new LightClientError('incomplete-proof', 'The read proof lacks a node it needs.', {
        details: `${what} ${hash} is missing`,
      });
    }
    return bytes;
  };
  const nodeByHash = (hash: Hex): TrieNode => {
    let node = decoded.get(hash);
    if (!node) {
      node = decodeTrieNode(byHash(hash, 'trie node'));
      decoded.set(hash, node);
    }
    return node;
  };
  const valueBytes = (v: NodeValue): Uint8Array =>
    v.kind === 'inline' ? v.value : byHash(v.hash, 'value node');

  const lookup = (key: Uint8Array): Uint8Array | null => {
    const nibbles = new Uint8Array(key.length * 2);
    for (let i = 0; i < key.length; i++) {
      nibbles[2 * i] = key[i]! >> 4;
      nibbles[2 * i + 1] = key[i]! & 0x0f;
    }
    let node = nodeByHash(root);
    let depth = 0;
    for (;;) {
      if (node.kind === 'empty') return null;
      const { partial } = node;
      if (nibbles.length - depth < partial.length) return null;
      for (let i = 0; i < partial.length; i++) if (nibbles[depth + i] !== partial[i]) return null;
      depth += partial.length;
      if (node.kind === 'leaf') return depth === nibbles.length ? valueBytes(node.value) : null;
      if (depth === nibbles.length) return node.value ? valueBytes(node.value) : null;
      const child = node.children[nibbles[depth]!];
      if (!child) return null;
      depth += 1;
      node = child.kind === 'hash' ? nodeByHash(child.hash) : decodeTrieNode(child.node);
    }
  };

  const out = new Map<Hex, Uint8Array | null>();
  for (const key of p.keys) out.set(toHex(key), lookup(key));
  return out;
}

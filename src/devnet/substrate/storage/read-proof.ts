import { u8aToHex } from '@polkadot/util';
import type { PersistentTrie } from './persistent-trie.js';

/**
 * `state_getReadProof`'s proof: the trie nodes from the state root to each key's value (or to
 * where its absence shows), as sp-trie's StorageProof holds them — a set of node encodings,
 * deduplicated across keys and listed in byte order (a BTreeSet<Vec<u8>> there), with LayoutV1
 * hashed values as nodes of their own. A verifier finds the root node by the header's state root
 * (blake2-256) and every further node by the hash its parent references.
 *
 * Written here because the node's trie is its own (storage/persistent-trie.ts); no npm package
 * builds sp-trie proofs.
 */
export function readProof(trie: PersistentTrie, keys: Iterable<Uint8Array>): Uint8Array[] {
  const nodes = new Map<string, Uint8Array>();
  const record = (node: Uint8Array) => {
    nodes.set(u8aToHex(node), node);
  };
  for (const key of keys) trie.lookupRecording(key, record);
  // Lower-case hex of equal-prefixed strings sorts as the bytes do (shorter prefix first).
  return [...nodes.keys()].sort().map((hex) => nodes.get(hex)!);
}

import { equalBytes } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { keccak256 } from './hash.js';

/**
 * Sorted-pair keccak256 Merkle tree, verifiable with OpenZeppelin's MerkleProof: each parent is
 * keccak256 of its two children in ascending byte order; an odd node moves up unchanged.
 */
function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  const aFirst = compare(a, b) <= 0;
  out.set(aFirst ? a : b, 0);
  out.set(aFirst ? b : a, 32);
  return keccak256(out);
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export type MerkleTree = { root: Uint8Array; layers: Uint8Array[][] };

export function buildMerkleTree(leaves: Uint8Array[]): MerkleTree {
  if (leaves.length === 0) throw new InvalidInputError('leaves', 'at least one leaf');
  for (const leaf of leaves) if (leaf.length !== 32) throw new InvalidInputError('leaf', '32 bytes');
  const layers: Uint8Array[][] = [leaves];
  let layer = leaves;
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2)
      next.push(i + 1 < layer.length ? hashPair(layer[i]!, layer[i + 1]!) : layer[i]!);
    layers.push(next);
    layer = next;
  }
  return { root: layer[0]!, layers };
}

export function merkleProof(tree: MerkleTree, index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= tree.layers[0]!.length)
    throw new InvalidInputError('index', 'a leaf index');
  const proof: Uint8Array[] = [];
  for (let level = 0; level < tree.layers.length - 1; level++) {
    const layer = tree.layers[level]!;
    const sibling = index ^ 1;
    if (sibling < layer.length) proof.push(layer[sibling]!);
    index >>= 1;
  }
  return proof;
}

export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: Uint8Array[]): boolean {
  let node = leaf;
  for (const sibling of proof) node = hashPair(node, sibling);
  return equalBytes(node, root);
}

import { PersistentTrie } from './persistent-trie.js';
import type { TrieVersion } from './trie.js';

/**
 * The chain's key-value state with its history: every key keeps the list of (block, value)
 * versions it had, so the state at any block of this (fork-free) chain can be read. Keys are
 * lower-case 0x-hex, which sorts exactly as the bytes do.
 */

export type StateChanges = Map<string, Uint8Array | null>;

type Version = { block: number; value: Uint8Array | null };

export interface StorageReader {
  get(key: string): Uint8Array | null;
  /** Keys with this prefix, in order, that have a value; at most `limit`, strictly after `after`. */
  keys(prefix: string, limit: number, after?: string): string[];
}

export class StateDb {
  readonly #versions = new Map<string, Version[]>();
  readonly #head = new Map<string, Uint8Array>();
  #sorted: string[] = [];
  #unsortedNew: string[] = [];
  #headBlock = -1;
  #trie: PersistentTrie;
  /** The trie `rootWith` computed for changes about to be committed. */
  #pending: { changes: StateChanges; trie: PersistentTrie } | null = null;

  constructor(readonly trieVersion: TrieVersion) {
    this.#trie = PersistentTrie.empty(trieVersion);
  }

  get headBlock(): number {
    return this.#headBlock;
  }

  /** Records the changes made by block `block` (blocks are committed in order, genesis is 0). */
  commit(block: number, changes: StateChanges): void {
    if (block !== this.#headBlock + 1)
      throw new Error(`state: expected block ${this.#headBlock + 1}, got ${block}`);
    for (const [key, value] of changes) {
      let list = this.#versions.get(key);
      if (!list) {
        if (value === null) continue;
        list = [];
        this.#versions.set(key, list);
        this.#unsortedNew.push(key);
      }
      const last = list[list.length - 1];
      if (last && last.block === block) last.value = value;
      else list.push({ block, value });
      if (value === null) this.#head.delete(key);
      else this.#head.set(key, value);
    }
    this.#trie =
      this.#pending?.changes === changes ? this.#pending.trie : this.#trie.update(trieChanges(changes));
    this.#pending = null;
    this.#headBlock = block;
  }

  get(key: string, block = this.#headBlock): Uint8Array | null {
    if (block === this.#headBlock) return this.#head.get(key) ?? null;
    const list = this.#versions.get(key);
    if (!list) return null;
    // The last version at or before `block`.
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.block <= block) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? null : list[found]!.value;
  }

  #sortedKeys(): string[] {
    if (this.#unsortedNew.length) {
      this.#sorted = [...this.#sorted, ...this.#unsortedNew].sort();
      this.#unsortedNew = [];
    }
    return this.#sorted;
  }

  keys(prefix: string, limit: number, after: string | undefined, block = this.#headBlock): string[] {
    const sorted = this.#sortedKeys();
    const start = after && after > prefix ? after : prefix;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < sorted.length && out.length < limit; i++) {
      const key = sorted[i]!;
      if (!key.startsWith(prefix)) break;
      if (after !== undefined && key <= after) continue;
      if (this.get(key, block) !== null) out.push(key);
    }
    return out;
  }

  reader(block = this.#headBlock): StorageReader {
    return {
      get: (key) => this.get(key, block),
      keys: (prefix, limit, after) => this.keys(prefix, limit, after, block),
    };
  }

  /** The trie root of the state at the head. */
  headRoot(): Uint8Array {
    return this.#trie.rootHash();
  }

  /** The trie root the head state would have after `changes`, without committing them. */
  rootWith(changes: StateChanges): Uint8Array {
    const trie = this.#trie.update(trieChanges(changes));
    this.#pending = { changes, trie };
    return trie.rootHash();
  }

  /** Number of keys with a value at the head. */
  get size(): number {
    return this.#head.size;
  }
}

const hexCache = new Map<string, Uint8Array>();
export function hexBytes(hex: string): Uint8Array {
  let bytes = hexCache.get(hex);
  if (!bytes) {
    bytes = new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
    if (hexCache.size > 200_000) hexCache.clear();
    hexCache.set(hex, bytes);
  }
  return bytes;
}

function trieChanges(changes: StateChanges): [Uint8Array, Uint8Array | null][] {
  return [...changes].map(([k, v]) => [hexBytes(k), v]);
}

import { PersistentTrie } from './persistent-trie.js';
import type { TrieVersion } from './trie.js';
import { BaseError, type Retry } from '../../../base/errors.js';

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
  #prunedBefore = 0;
  #trie: PersistentTrie;
  /** The trie `rootWith` computed for changes about to be committed. */
  #pending: { changes: StateChanges; trie: PersistentTrie } | null = null;
  /**
   * The tries of the most recent blocks, for read proofs (they share every unchanged subtree, so
   * one more costs the paths its block changed). Older blocks' tries are rebuilt from their state.
   */
  readonly #recentTries = new Map<number, PersistentTrie>();
  readonly #rebuiltTries = new Map<number, PersistentTrie>();

  constructor(
    readonly trieVersion: TrieVersion,
    /** How many recent blocks keep their trie (read proofs there cost only the walk). */
    readonly trieHistory = 256,
  ) {
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
    this.#recentTries.set(block, this.#trie);
    this.#recentTries.delete(block - this.trieHistory);
  }

  /** The state trie at `block` (throws StateDiscardedError for pruned state). */
  trieAt(block = this.#headBlock): PersistentTrie {
    if (block < 0 || block > this.#headBlock) throw new RangeError(`state: no block ${block}`);
    if (block < this.#prunedBefore && block !== this.#headBlock) throw new StateDiscardedError(block);
    const kept = this.#recentTries.get(block) ?? this.#rebuiltTries.get(block);
    if (kept) return kept;
    // Linear in the state, so the last few rebuilt are kept for the next proof at the same block.
    const entries: [Uint8Array, Uint8Array][] = [];
    for (const key of this.keys('0x', Number.POSITIVE_INFINITY, undefined, block))
      entries.push([hexBytes(key), this.get(key, block)!]);
    const trie = PersistentTrie.empty(this.trieVersion).update(entries);
    if (this.#rebuiltTries.size >= 4) this.#rebuiltTries.delete(this.#rebuiltTries.keys().next().value!);
    this.#rebuiltTries.set(block, trie);
    return trie;
  }

  get(key: string, block = this.#headBlock): Uint8Array | null {
    if (block === this.#headBlock) return this.#head.get(key) ?? null;
    if (block < this.#prunedBefore) throw new StateDiscardedError(block);
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

  /** The first block whose state can still be read. */
  get oldestState(): number {
    return this.#prunedBefore;
  }

  /**
   * Forgets the state of blocks before `before` (each key keeps the last version at or before
   * it, so state from `before` on is intact). Reading older state throws StateDiscardedError.
   */
  prune(before: number): void {
    if (before <= this.#prunedBefore) return;
    const removed = new Set<string>();
    for (const [key, list] of this.#versions) {
      let keepFrom = 0;
      for (let i = 0; i < list.length; i++) if (list[i]!.block <= before) keepFrom = i;
      if (keepFrom > 0) list.splice(0, keepFrom);
      if (list.length === 1 && list[0]!.value === null && list[0]!.block <= before) {
        this.#versions.delete(key);
        removed.add(key);
      }
    }
    if (removed.size) {
      this.#sorted = this.#sorted.filter((k) => !removed.has(k));
      this.#unsortedNew = this.#unsortedNew.filter((k) => !removed.has(k));
    }
    this.#prunedBefore = before;
    for (const block of this.#rebuiltTries.keys()) if (block < before) this.#rebuiltTries.delete(block);
  }

  reader(block = this.#headBlock): StorageReader {
    if (block < this.#prunedBefore && block !== this.#headBlock) throw new StateDiscardedError(block);
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

export class StateDiscardedError extends BaseError {
  /** Pruned state does not come back. */
  static override readonly retry: Retry = 'never';
  override name = 'StateDiscardedError';
  constructor(readonly block: number) {
    super(`State already discarded for block ${block}`);
  }
}

import type { StateChanges, StorageReader } from './state-db.js';

/**
 * Uncommitted writes over a base state, in nested transactional layers: a dispatch runs in its
 * own layer and is rolled back as a whole when it fails, as FRAME's `#[transactional]` does.
 */
/** Something else that must follow the storage transactions (the block's event list). */
export type TransactionParticipant = { begin(): void; commit(): void; rollback(): void };

export class StorageOverlay implements StorageReader {
  readonly #layers: StateChanges[] = [new Map()];
  readonly #participants: TransactionParticipant[] = [];

  constructor(readonly base: StorageReader) {}

  get depth(): number {
    return this.#layers.length;
  }

  get(key: string): Uint8Array | null {
    for (let i = this.#layers.length - 1; i >= 0; i--) {
      const layer = this.#layers[i]!;
      if (layer.has(key)) return layer.get(key) ?? null;
    }
    return this.base.get(key);
  }

  set(key: string, value: Uint8Array | null): void {
    this.#layers[this.#layers.length - 1]!.set(key, value);
  }

  /** Keys with a value under this prefix (base and overlay merged), in order. */
  keys(prefix: string, limit: number, after?: string): string[] {
    const written = new Map<string, boolean>();
    for (const layer of this.#layers) {
      for (const [key, value] of layer) {
        if (key.startsWith(prefix) && (after === undefined || key > after)) written.set(key, value !== null);
      }
    }
    const out = new Set<string>();
    // Ask the base for enough keys to fill the page after dropping ones deleted here.
    let cursor = after;
    for (;;) {
      const page = this.base.keys(prefix, limit + written.size, cursor);
      for (const key of page) if (written.get(key) !== false) out.add(key);
      if (page.length < limit + written.size || out.size >= limit) break;
      cursor = page[page.length - 1];
    }
    for (const [key, present] of written) if (present) out.add(key);
    return [...out].sort().slice(0, limit);
  }

  participate(participant: TransactionParticipant): void {
    this.#participants.push(participant);
  }

  begin(): void {
    this.#layers.push(new Map());
    for (const p of this.#participants) p.begin();
  }

  commit(): void {
    if (this.#layers.length < 2) throw new Error('storage: no transaction to commit');
    const top = this.#layers.pop()!;
    const below = this.#layers[this.#layers.length - 1]!;
    for (const [k, v] of top) below.set(k, v);
    for (const p of this.#participants) p.commit();
  }

  rollback(): void {
    if (this.#layers.length < 2) throw new Error('storage: no transaction to roll back');
    this.#layers.pop();
    for (const p of this.#participants) p.rollback();
  }

  /** Runs `fn` in a layer: kept if it returns normally, rolled back if it throws. */
  transactional<T>(fn: () => T): T {
    this.begin();
    try {
      const result = fn();
      this.commit();
      return result;
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  /** All writes (only outside a transaction). */
  changes(): StateChanges {
    if (this.#layers.length !== 1) throw new Error('storage: a transaction is still open');
    return new Map(this.#layers[0]);
  }
}

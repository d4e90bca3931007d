import type { Hex } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import { isFinal, type TrackedXcm, type XcmCursor } from './types.js';

/** The tracker's state after one block or one `expect`, written as one unit. */
export type XcmTrackerChange = {
  records: TrackedXcm[];
  /** transport hash → message id */
  aliases: [Hex, Hex][];
  /** Records folded into another one (they were keyed by a transport hash). */
  deleted: Hex[];
  cursor?: { chain: string; cursor: XcmCursor } | undefined;
};

/**
 * Where the tracker keeps messages, hash aliases and per-chain cursors. One tracker writes to a
 * store (prefix) at a time; readers (status commands, waiters in other processes) may be many.
 */
export interface XcmTrackerStore {
  get(id: Hex): Promise<TrackedXcm | null>;
  resolve(hash: Hex): Promise<Hex | null>;
  cursor(chain: string): Promise<XcmCursor | null>;
  commit(change: XcmTrackerChange): Promise<void>;
  /** Messages not yet processed or failed, oldest update first. */
  open(limit?: number): Promise<TrackedXcm[]>;
}

export class XcmTrackerStoreError extends BaseError {
  /** The prefix or the stored records must be fixed. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'XcmTrackerStoreError';
}

/** In memory, for tests and single-process tools; values are copied in and out. */
export class MemoryXcmTrackerStore implements XcmTrackerStore {
  readonly #records = new Map<Hex, TrackedXcm>();
  readonly #aliases = new Map<Hex, Hex>();
  readonly #cursors = new Map<string, XcmCursor>();

  async get(id: Hex): Promise<TrackedXcm | null> {
    const rec = this.#records.get(id);
    return rec ? structuredClone(rec) : null;
  }

  async resolve(hash: Hex): Promise<Hex | null> {
    return this.#aliases.get(hash) ?? null;
  }

  async cursor(chain: string): Promise<XcmCursor | null> {
    const c = this.#cursors.get(chain);
    return c ? { ...c } : null;
  }

  async commit(change: XcmTrackerChange): Promise<void> {
    for (const id of change.deleted) this.#records.delete(id);
    for (const rec of change.records) this.#records.set(rec.id, structuredClone(rec));
    for (const [hash, id] of change.aliases) this.#aliases.set(hash, id);
    if (change.cursor) this.#cursors.set(change.cursor.chain, { ...change.cursor.cursor });
  }

  async open(limit = 100): Promise<TrackedXcm[]> {
    return [...this.#records.values()]
      .filter((r) => !isFinal(r.status))
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }
}

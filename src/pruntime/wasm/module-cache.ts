import type { WasmRefusalReason } from './errors.js';
import type { InstancePool } from './instance-pool.js';

/** What a code hash loads to: a compiled module with its instances, or a refusal. */
export type LoadedModule =
  | { ok: true; pool: InstancePool }
  | {
      ok: false;
      reason: WasmRefusalReason;
      details: string;
      /** Gas the refusal cost (the start function's budget when it ran out). */
      loadGas: number;
    };

/**
 * Loaded modules of one engine thread by code hash, least recently used evicted first (their
 * instances wiped). Refusals are cached too: a refused module is not parsed again on every call.
 */
export class ModuleCache {
  readonly #entries = new Map<string, LoadedModule>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#entries.size;
  }

  get(codeHash: string): LoadedModule | undefined {
    const entry = this.#entries.get(codeHash);
    if (entry) {
      this.#entries.delete(codeHash);
      this.#entries.set(codeHash, entry);
    }
    return entry;
  }

  set(codeHash: string, entry: LoadedModule): void {
    const previous = this.#entries.get(codeHash);
    if (previous?.ok && previous !== entry) previous.pool.clear();
    this.#entries.delete(codeHash);
    this.#entries.set(codeHash, entry);
    while (this.#entries.size > this.capacity) {
      const [oldest, evicted] = this.#entries.entries().next().value as [string, LoadedModule];
      this.#entries.delete(oldest);
      if (evicted.ok) evicted.pool.clear();
    }
  }

  delete(codeHash: string): void {
    const entry = this.#entries.get(codeHash);
    if (entry?.ok) entry.pool.clear();
    this.#entries.delete(codeHash);
  }
}

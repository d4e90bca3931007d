/**
 * How many of one contract's requests (or queries) the worker holds at once
 * (docs/pruntime-worker.md#fair-share). The engine already runs each contract within its share of
 * the threads (src/pruntime/engine/scheduler.ts); this keeps the layers above from defeating it:
 * without it, one contract's burst would fill every queue slot the worker takes from BullMQ (or
 * every query slot of the HTTP API) while its calls wait their turn in the engine, and another
 * contract's request would wait in Redis behind them.
 */
export type Place = { ok: true; release: () => void } | { ok: false; why: 'total' | 'tenant' };

export type AdmissionOptions = {
  /** How many over every tenant (default: no limit). */
  maxTotal?: number;
  /** How long another tenant counts as present after it last entered (ms, default 5 s). */
  othersWindowMs?: number;
  now?: () => number;
};

export class Admission {
  readonly #share: (tenant: string, active: number) => number;
  readonly #maxTotal: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #held = new Map<string, number>();
  /** When each tenant last entered: who else has been here lately. */
  readonly #seen = new Map<string, number>();
  /** Per tenant, callers waiting for one of its places, first come first served. */
  readonly #waiting = new Map<string, ((place: Place) => void)[]>();
  #total = 0;

  /**
   * `share(tenant, active)`: how many of a tenant's items may be held at once, given how many
   * tenants (counting this one) hold items now.
   */
  constructor(share: (tenant: string, active: number) => number, options: AdmissionOptions = {}) {
    this.#share = share;
    this.#maxTotal = options.maxTotal ?? Number.POSITIVE_INFINITY;
    this.#windowMs = options.othersWindowMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** Items held now, over every tenant. */
  get total(): number {
    return this.#total;
  }

  /**
   * Takes a place for `tenant`: the release function, or why not (`total`: the worker is full,
   * `tenant`: this tenant holds its share already).
   */
  enter(tenant: string): Place {
    this.#seen.set(tenant, this.#now());
    if (this.#total >= this.#maxTotal) return { ok: false, why: 'total' };
    const held = this.#held.get(tenant) ?? 0;
    const active = this.#held.size + (held === 0 ? 1 : 0);
    if (held >= this.#share(tenant, active)) return { ok: false, why: 'tenant' };
    this.#held.set(tenant, held + 1);
    this.#total++;
    return { ok: true, release: this.#releaser(tenant) };
  }

  /**
   * Whether no other tenant has entered within the window: then a tenant at its share may wait
   * in the worker for its next place (`waitFor`) instead of going back to the queue, since the
   * place kept spare has nobody else to serve, and a lone contract's burst would otherwise cycle
   * every queued job through the queue's delayed set.
   */
  isAlone(tenant: string): boolean {
    const since = this.#now() - this.#windowMs;
    for (const [other, at] of this.#seen) {
      if (other === tenant) continue;
      if (at >= since) return false;
      this.#seen.delete(other);
    }
    return true;
  }

  /** A place for `tenant` once one of its own is released (handed over directly, in order). */
  waitFor(tenant: string): Promise<Extract<Place, { ok: true }>> {
    return new Promise((resolve) => {
      const queue = this.#waiting.get(tenant) ?? [];
      queue.push(resolve as (place: Place) => void);
      this.#waiting.set(tenant, queue);
    });
  }

  #releaser(tenant: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.get(tenant)?.shift();
      if (next) {
        // The place goes to the next waiter of the same tenant: held and total stay as they are.
        if (this.#waiting.get(tenant)!.length === 0) this.#waiting.delete(tenant);
        next({ ok: true, release: this.#releaser(tenant) });
        return;
      }
      this.#total--;
      const left = (this.#held.get(tenant) ?? 1) - 1;
      if (left === 0) this.#held.delete(tenant);
      else this.#held.set(tenant, left);
    };
  }
}

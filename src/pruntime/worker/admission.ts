/**
 * How many of one contract's requests (or queries) the worker holds at once
 * (docs/pruntime-worker.md#fair-share). The engine already runs each contract within its share of
 * the threads (src/pruntime/engine/scheduler.ts); this keeps the layers above from defeating it:
 * without it, one contract's burst would fill every queue slot the worker takes from BullMQ (or
 * every query slot of the HTTP API) while its calls wait their turn in the engine, and another
 * contract's request would wait in Redis behind them.
 */
export class Admission {
  readonly #share: (tenant: string, active: number) => number;
  readonly #maxTotal: number;
  readonly #held = new Map<string, number>();
  #total = 0;

  /**
   * `share(tenant, active)`: how many of a tenant's items may be held at once, given how many
   * tenants (counting this one) hold items now; `maxTotal`: how many over every tenant.
   */
  constructor(share: (tenant: string, active: number) => number, maxTotal = Number.POSITIVE_INFINITY) {
    this.#share = share;
    this.#maxTotal = maxTotal;
  }

  /** Items held now, over every tenant. */
  get total(): number {
    return this.#total;
  }

  /**
   * Takes a place for `tenant`: the release function, or why not (`total`: the worker is full,
   * `tenant`: this tenant holds its share already).
   */
  enter(tenant: string): { ok: true; release: () => void } | { ok: false; why: 'total' | 'tenant' } {
    if (this.#total >= this.#maxTotal) return { ok: false, why: 'total' };
    const held = this.#held.get(tenant) ?? 0;
    const active = this.#held.size + (held === 0 ? 1 : 0);
    if (held >= this.#share(tenant, active)) return { ok: false, why: 'tenant' };
    this.#held.set(tenant, held + 1);
    this.#total++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        const left = (this.#held.get(tenant) ?? 1) - 1;
        if (left === 0) this.#held.delete(tenant);
        else this.#held.set(tenant, left);
      },
    };
  }
}

/**
 * Fair share of an engine's threads between tenants (docs/pruntime.md#fair-share).
 *
 * Each tenant (a contract id: see the docs for why not the code hash) has its own FIFO queue;
 * tenants are served round-robin, and a tenant may have at most `shareOf` calls running at once:
 * ceil(slots / active tenants), at least 1, and — when there is more than one slot — at most
 * slots − 1, so one slot is always left for a tenant that is not running yet. A burst of one
 * contract therefore never puts another contract's call behind it; it only waits for a slot that
 * the burst is not allowed to hold.
 *
 * Written here rather than taken from a queue library (p-queue, bottleneck): those bound
 * concurrency per queue or globally, not "a share of one pool that shrinks as tenants arrive",
 * and the engine needs the slot accounting to stay in step with its threads.
 */
export class FairScheduler<T> {
  readonly slots: number;
  readonly #tenants = new Map<string, { queue: T[]; running: number }>();
  /** Tenants in round-robin order; the next search starts after the tenant served last. */
  #ring: string[] = [];
  #cursor = 0;
  #running = 0;

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError('slots: a positive integer');
    this.slots = slots;
  }

  /** Tenants with a call queued or running. */
  get activeTenants(): number {
    return this.#tenants.size;
  }

  /** Calls running, over every tenant. */
  get running(): number {
    return this.#running;
  }

  /** How many calls `tenant` may run at once, counting it as active. */
  shareOf(tenant: string): number {
    const active = this.#tenants.size + (this.#tenants.has(tenant) ? 0 : 1);
    return shareFor(this.slots, active);
  }

  /** Calls of `tenant` running plus queued. */
  backlog(tenant: string): number {
    const t = this.#tenants.get(tenant);
    return t ? t.running + t.queue.length : 0;
  }

  enqueue(tenant: string, item: T): void {
    let t = this.#tenants.get(tenant);
    if (!t) {
      t = { queue: [], running: 0 };
      this.#tenants.set(tenant, t);
      this.#ring.push(tenant);
    }
    t.queue.push(item);
  }

  /**
   * The next call to start, round-robin over the tenants that are under their share, or null when
   * no slot is free or every tenant with queued calls is at its share. The caller runs it and
   * calls `done(tenant)` when the slot is free again.
   */
  next(): { tenant: string; item: T } | null {
    if (this.#running >= this.slots || this.#ring.length === 0) return null;
    const share = shareFor(this.slots, this.#tenants.size);
    for (let i = 0; i < this.#ring.length; i++) {
      const index = (this.#cursor + i) % this.#ring.length;
      const tenant = this.#ring[index]!;
      const t = this.#tenants.get(tenant)!;
      if (t.queue.length === 0 || t.running >= share) continue;
      const item = t.queue.shift()!;
      t.running++;
      this.#running++;
      this.#cursor = index + 1;
      return { tenant, item };
    }
    return null;
  }

  /** A call of `tenant` started by `next` finished: its slot is free. */
  done(tenant: string): void {
    const t = this.#tenants.get(tenant);
    if (!t || t.running === 0) throw new RangeError(`done(${tenant}) without a running call`);
    t.running--;
    this.#running--;
    this.#forgetIfIdle(tenant);
  }

  /** Takes every queued call out (the engine is closing); running calls keep their slots. */
  drain(): T[] {
    const all: T[] = [];
    for (const [tenant, t] of this.#tenants) {
      all.push(...t.queue);
      t.queue = [];
      this.#forgetIfIdle(tenant);
    }
    return all;
  }

  #forgetIfIdle(tenant: string): void {
    const t = this.#tenants.get(tenant);
    if (!t || t.running > 0 || t.queue.length > 0) return;
    this.#tenants.delete(tenant);
    const index = this.#ring.indexOf(tenant);
    this.#ring.splice(index, 1);
    if (index < this.#cursor) this.#cursor--;
    if (this.#cursor >= this.#ring.length) this.#cursor = 0;
  }
}

/** ceil(slots / active), at least 1, leaving one slot free when there is more than one. */
export function shareFor(slots: number, active: number): number {
  const even = Math.ceil(slots / Math.max(1, active));
  return slots > 1 ? Math.max(1, Math.min(slots - 1, even)) : 1;
}

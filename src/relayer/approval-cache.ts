/**
 * Remembers "this worker is approved for this cluster" for a few seconds, so that accepting a
 * stream of results does not read the destination chain once per result. Only approvals are
 * remembered: an unknown or refused signer is asked about again every time. A worker revoked
 * within the window can still get a result accepted here, but not delivered: every destination
 * checks the worker's registration itself when the result is submitted.
 */
export class ApprovalCache {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #approvedUntil = new Map<string, number>();

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  async isApproved(key: string, check: () => Promise<boolean>): Promise<boolean> {
    const now = this.#now();
    const until = this.#approvedUntil.get(key);
    if (until !== undefined && until > now) return true;
    const approved = await check();
    if (approved) {
      if (this.#approvedUntil.size > 10_000) this.#approvedUntil.clear();
      this.#approvedUntil.set(key, now + this.#ttlMs);
    } else this.#approvedUntil.delete(key);
    return approved;
  }
}

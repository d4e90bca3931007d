/**
 * Remembers "this worker is approved for this cluster" for a few seconds, so that accepting a
 * stream of results does not read the destination chain once per result. Only approvals are
 * remembered: an unknown or refused signer is asked about again every time.
 *
 * Revocations come first: a worker the Phala-style chain revoked (its finalized `WorkerRevoked`,
 * seen by this process's watcher and noted in `WorkerRevocations`) is refused at once, with the
 * named reason `WorkerRevoked`, whatever the cache or the destination still says (the gateway
 * learns of it a block or two later). Every destination also checks the worker's registration
 * itself when the result is submitted.
 */
export type ApprovalVerdict =
  | { approved: true }
  | { approved: false; reason: 'WorkerRevoked'; detail: string }
  | { approved: false; reason: 'WorkerNotApproved'; detail: string };

/**
 * Workers revoked on the Phala-style chain, by lowercase Ethereum-style address (what results
 * name). A later approval of the same key (a new registration) lifts the mark. Bounded: the oldest
 * marks go first past `max`, after which the destination's own check still refuses them.
 */
export class WorkerRevocations {
  readonly #max: number;
  readonly #revoked = new Map<string, string>();

  constructor(options: { max?: number } = {}) {
    this.#max = options.max ?? 100_000;
  }

  revoke(address: string, reason: string): void {
    const key = address.toLowerCase();
    this.#revoked.delete(key);
    if (this.#revoked.size >= this.#max) this.#revoked.delete(this.#revoked.keys().next().value!);
    this.#revoked.set(key, reason);
  }

  reinstate(address: string): void {
    this.#revoked.delete(address.toLowerCase());
  }

  /** The revocation's reason, or undefined when the worker is not known revoked. */
  reasonFor(address: string): string | undefined {
    return this.#revoked.get(address.toLowerCase());
  }

  get size(): number {
    return this.#revoked.size;
  }
}

/**
 * The process's revocations: the Phala watcher writes them (src/relayer/chains/build.ts), every
 * result check in the process reads them. A process without the watcher's lease has none and
 * relies on the destination's check (reason `WorkerNotApproved` there).
 */
export const processRevocations = new WorkerRevocations();

export class ApprovalCache {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #revocations: WorkerRevocations;
  readonly #approvedUntil = new Map<string, number>();

  constructor(options: { ttlMs?: number; now?: () => number; revocations?: WorkerRevocations } = {}) {
    this.#ttlMs = options.ttlMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    this.#revocations = options.revocations ?? processRevocations;
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

  /** The refusal of a worker known revoked, or null (no chain read: a lookup in memory). */
  revoked(worker: { address: string }): Extract<ApprovalVerdict, { reason: 'WorkerRevoked' }> | null {
    const reason = this.#revocations.reasonFor(worker.address);
    if (reason === undefined) return null;
    return {
      approved: false,
      reason: 'WorkerRevoked',
      detail: `WorkerRevoked: worker ${worker.address} was revoked on the Phala-style chain (${reason})`,
    };
  }

  /** Whether `worker` may have its result accepted: revoked workers first, then the cached check. */
  async verdict(
    worker: { address: string },
    key: string,
    check: () => Promise<boolean>,
  ): Promise<ApprovalVerdict> {
    const revoked = this.revoked(worker);
    if (revoked) {
      this.#approvedUntil.delete(key);
      return revoked;
    }
    if (await this.isApproved(key, check)) return { approved: true };
    return {
      approved: false,
      reason: 'WorkerNotApproved',
      detail: 'signer is not an approved, unexpired worker of the cluster',
    };
  }
}

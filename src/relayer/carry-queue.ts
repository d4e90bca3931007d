import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { BaseError, type Retry, errorMessage } from '../base/errors.js';
import { retryOf } from '../base/retry.js';

/**
 * Cross-chain work found while watching one chain (gatekeeper signatures, worker approvals and
 * revocations carried to another chain) runs here, one queue per target chain, never on the
 * watcher's block: the block completes at once and a dead target chain only delays its own queue.
 *
 * Tasks are keyed: scheduling a key already waiting replaces its work (a "carry what is ready"
 * task is coalesced into one), a new key goes to the back. One task runs at a time, in order; a
 * task that fails with an error a retry can help (or one that says nothing) is tried again after
 * a growing pause; one that can never succeed is dropped, logged and counted. At most `limit`
 * tasks wait: when full the oldest is dropped (logged, counted), so memory stays bounded however
 * long the target is down. Nothing is persisted: what the carried messages need survives in the
 * source chain's own state, as before (the pools of signatures were already in memory).
 */
export type CarryMetrics = ReturnType<typeof createCarryMetrics>;

const metricsByRegistry = new WeakMap<Registry, ReturnType<typeof makeCarryMetrics>>();

/** The carriers' and cached reads' metrics on the relayer's registry (made once per registry). */
export function createCarryMetrics(registry: Registry) {
  let metrics = metricsByRegistry.get(registry);
  if (!metrics) {
    metrics = makeCarryMetrics(registry);
    metricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

function makeCarryMetrics(registry: Registry) {
  return {
    pending: new Gauge({
      name: 'phala_bridge_carry_pending',
      help: 'Cross-chain carry tasks waiting per target chain',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
    attempts: new Counter({
      name: 'phala_bridge_carry_attempts_total',
      help: 'Cross-chain carry attempts per target chain and outcome (ok, retry, dropped, overflow)',
      labelNames: ['target', 'outcome'] as const,
      registers: [registry],
    }),
    readAge: new Gauge({
      name: 'phala_bridge_cross_chain_read_age_seconds',
      help: 'Age of the cached value of a cross-chain read (grows while its chain does not answer)',
      labelNames: ['read'] as const,
      registers: [registry],
    }),
    readFailures: new Counter({
      name: 'phala_bridge_cross_chain_read_failures_total',
      help: 'Background refreshes of a cross-chain read that failed (the stale value stays in use)',
      labelNames: ['read'] as const,
      registers: [registry],
    }),
  };
}

export type CarryQueueParameters = {
  /** The chain the work goes to (metrics label, logs). */
  target: string;
  logger: Logger;
  metrics: CarryMetrics;
  /** Most tasks waiting at once; default 1,000. */
  limit?: number;
  /** Pause after the first failure, doubled on each further one up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
};

type Task = { run: () => Promise<unknown>; attempts: number };

export class CarryQueue {
  readonly target: string;
  readonly #p: CarryQueueParameters;
  readonly #limit: number;
  readonly #tasks = new Map<string, Task>();
  #running: Promise<void> | null = null;
  /** The key of the task under way. */
  #current: string | null = null;
  #sleeping: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  #stopped = false;

  constructor(parameters: CarryQueueParameters) {
    this.#p = parameters;
    this.target = parameters.target;
    this.#limit = parameters.limit ?? 1_000;
  }

  get size(): number {
    return this.#tasks.size;
  }

  /** Hands `run` to the background; returns at once. False when the queue is stopped. */
  schedule(key: string, run: () => Promise<unknown>): boolean {
    if (this.#stopped) return false;
    const waiting = this.#tasks.get(key);
    if (waiting && key === this.#current) waiting.run = run;
    else if (waiting) {
      // To the back: work scheduled since (an approval) keeps its place before this newer work.
      this.#tasks.delete(key);
      this.#tasks.set(key, { run, attempts: 0 });
    } else {
      if (this.#tasks.size >= this.#limit) {
        // The oldest waiting one (the task under way finishes).
        const oldest = [...this.#tasks.keys()].find((k) => k !== this.#current);
        this.#tasks.delete(oldest!);
        this.#p.metrics.attempts.inc({ target: this.target, outcome: 'overflow' });
        this.#p.logger.error(
          { target: this.target, task: oldest, limit: this.#limit },
          'cross-chain carry queue full; dropped its oldest task',
        );
      }
      this.#tasks.set(key, { run, attempts: 0 });
    }
    this.#p.metrics.pending.set({ target: this.target }, this.#tasks.size);
    this.#kick();
    return true;
  }

  #kick(): void {
    if (this.#running || this.#stopped || this.#tasks.size === 0) return;
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      // A task scheduled between the last look and here would otherwise wait for the next one.
      this.#kick();
    });
  }

  /** Resolves when nothing waits (for tests and orderly shutdowns); false when `timeoutMs` passed first. */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.#running && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.#running === null;
  }

  /** Takes no more work, ends a pause at once, and waits at most `graceMs` for a task under way. */
  async stop(graceMs = 2_000): Promise<void> {
    this.#stopped = true;
    this.#sleeping?.wake();
    const running = this.#running;
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#tasks.entries().next();
      if (next.done) return;
      const [key, task] = next.value;
      const run = task.run;
      task.attempts++;
      this.#current = key;
      try {
        await run();
        // Rescheduled while running: the new work stays queued, under the same key.
        if (this.#tasks.get(key) === task && task.run === run) this.#tasks.delete(key);
        else task.attempts = 0;
        this.#p.metrics.attempts.inc({ target: this.target, outcome: 'ok' });
      } catch (error) {
        const retry = retryOf(error);
        if (retry === 'never') {
          if (this.#tasks.get(key) === task && task.run === run) this.#tasks.delete(key);
          this.#p.metrics.attempts.inc({ target: this.target, outcome: 'dropped' });
          this.#p.logger.error(
            { target: this.target, task: key, err: errorMessage(error) },
            'cross-chain carry task cannot succeed; dropped',
          );
        } else {
          this.#p.metrics.attempts.inc({ target: this.target, outcome: 'retry' });
          const pauseMs = Math.min(
            (this.#p.initialBackoffMs ?? 500) * 2 ** Math.min(task.attempts - 1, 16),
            this.#p.maxBackoffMs ?? 30_000,
          );
          this.#p.logger.warn(
            { target: this.target, task: key, attempt: task.attempts, pauseMs, err: errorMessage(error) },
            'cross-chain carry failed; trying again later',
          );
          this.#current = null;
          await this.#pause(pauseMs);
        }
      } finally {
        this.#current = null;
      }
      this.#p.metrics.pending.set({ target: this.target }, this.#tasks.size);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleeping = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleeping = { timer, wake };
    });
  }
}

export type RefreshedReadParameters<T> = {
  /** The read's name (metrics label, logs): `<chain>:<what>`. */
  name: string;
  read: () => Promise<T>;
  /** How often the value is read again in the background once someone asked for it. */
  ttlMs: number;
  logger: Logger;
  metrics: CarryMetrics;
  /** Called when a refresh reads a value that `same` says differs from the one before. */
  onChange?: ((value: T) => void) | undefined;
  same?: ((a: T, b: T) => boolean) | undefined;
};

/**
 * A value read from another chain, kept and refreshed in the background every `ttlMs` from the
 * first time it is asked for: callers get the last value read, however old, while that chain
 * does not answer (the age is a metric). Only the very first read waits on the chain.
 */
export class RefreshedRead<T> {
  readonly #p: RefreshedReadParameters<T>;
  #value: { value: T; at: number } | null = null;
  #first: Promise<T> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(parameters: RefreshedReadParameters<T>) {
    this.#p = parameters;
  }

  /** The last value read, or null before the first read succeeded. */
  get cached(): { value: T; ageMs: number } | null {
    return this.#value && { value: this.#value.value, ageMs: Date.now() - this.#value.at };
  }

  /** The last value read (stale while the chain is down); reads once if there is none yet. */
  async get(): Promise<T> {
    if (this.#value) return this.#value.value;
    this.#first ??= this.#refresh().finally(() => {
      this.#first = null;
    });
    return this.#first;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #refresh(): Promise<T> {
    try {
      const value = await this.#p.read();
      const previous = this.#value;
      this.#value = { value, at: Date.now() };
      if (previous && !(this.#p.same ?? Object.is)(previous.value, value)) this.#p.onChange?.(value);
      this.#p.metrics.readAge.set({ read: this.#p.name }, 0);
      return value;
    } catch (error) {
      this.#p.metrics.readFailures.inc({ read: this.#p.name });
      if (this.#value)
        this.#p.metrics.readAge.set({ read: this.#p.name }, (Date.now() - this.#value.at) / 1000);
      this.#p.logger.warn(
        { read: this.#p.name, err: errorMessage(error), staleMs: this.#value && Date.now() - this.#value.at },
        'cross-chain read failed; the last value stays in use',
      );
      throw error;
    } finally {
      this.#schedule();
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#refresh().catch(() => undefined), this.#p.ttlMs).unref();
  }
}

/**
 * Carrying a message to another chain failed. Whether a retry helps is the cause's answer (a
 * dead RPC: yes; a refusal by the target's runtime or contract: no); an unknown cause is retried.
 */
export class CarryFailedError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'CarryFailedError';
  readonly target: string;
  constructor(target: string, what: string, cause: unknown) {
    super(`Could not carry ${what} to ${target}.`, {
      details: `${errorMessage(cause)}; the relayer tries again while a retry can help (carry queue of ${target})`,
      cause,
      retry: retryOf(cause) ?? 'retry',
    });
    this.target = target;
  }
}

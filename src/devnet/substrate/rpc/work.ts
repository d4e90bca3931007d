import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Keeps long RPC work from monopolizing the event loop: work gives the loop back once it has run
 * for a slice (`pause`), and calls above the heavy cost run a few at a time (`heavy`), so a
 * cheap call on another connection (`system_health`) waits at most a couple of slices.
 */
export class WorkScheduler {
  #sliceStart = performance.now();
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly sliceMs: number,
    readonly maxHeavy: number,
  ) {}

  #resetQueued = false;

  /**
   * Yields to the event loop if the slice of this turn is used up. The slice is shared by all
   * work of a turn (not one per resumed call): a new slice starts with the next turn's check
   * phase, so a hundred connections resuming together still use one slice between two polls
   * for I/O.
   */
  async pause(): Promise<void> {
    if (performance.now() - this.#sliceStart < this.sliceMs) return;
    if (!this.#resetQueued) {
      this.#resetQueued = true;
      setImmediate(() => {
        this.#resetQueued = false;
        this.#sliceStart = performance.now();
      });
    }
    await nextTurn();
  }

  /** Runs `fn` once fewer than `maxHeavy` heavy calls are running. */
  async heavy<T>(fn: () => Promise<T> | T): Promise<T> {
    while (this.#running >= this.maxHeavy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      await this.pause();
      return await fn();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  /**
   * Runs queued tasks (notification sends) a slice at a time, in order; what does not fit in the
   * slice waits for the next turn of the loop.
   */
  defer(task: () => void): void {
    this.#tasks.push(task);
    if (!this.#draining) {
      this.#draining = true;
      setImmediate(() => this.#drain());
    }
  }

  readonly #tasks: (() => void)[] = [];
  #draining = false;
  #head = 0;

  #drain(): void {
    const start = performance.now();
    while (this.#head < this.#tasks.length) {
      const task = this.#tasks[this.#head++]!;
      try {
        task();
      } catch {
        // A send to a closed connection; nothing to do.
      }
      if (performance.now() - start >= this.sliceMs) break;
    }
    if (this.#head >= this.#tasks.length) {
      this.#tasks.length = 0;
      this.#head = 0;
      this.#draining = false;
    } else {
      setImmediate(() => this.#drain());
    }
  }
}

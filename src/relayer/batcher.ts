/**
 * Collects items and hands them to `flush` in groups of at most `maxSize`, at the latest
 * `maxDelayMs` after the first item of a group arrived. Each caller gets its own item's outcome.
 */
export type BatcherParameters<T, R> = {
  maxSize: number;
  maxDelayMs: number;
  flush: (items: T[]) => Promise<R[]>;
};

type Pending<T, R> = { item: T; resolve: (r: R) => void; reject: (e: unknown) => void };

export class Batcher<T, R> {
  readonly #p: BatcherParameters<T, R>;
  #group: Pending<T, R>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();

  constructor(parameters: BatcherParameters<T, R>) {
    this.#p = parameters;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#group.push({ item, resolve, reject });
      if (this.#group.length >= this.#p.maxSize) this.#flushNow();
      else this.#timer ??= setTimeout(() => this.#flushNow(), this.#p.maxDelayMs);
    });
  }

  #flushNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const group = this.#group;
    this.#group = [];
    if (group.length === 0) return;
    const run = this.#p
      .flush(group.map((g) => g.item))
      .then((results) => {
        group.forEach((g, i) => {
          if (i < results.length) g.resolve(results[i]!);
          else g.reject(new Error('batch returned fewer outcomes than items'));
        });
      })
      .catch((error: unknown) => {
        for (const g of group) g.reject(error);
      })
      .finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
  }

  /** Flushes what is waiting and resolves when every batch in flight has finished. */
  async drain(): Promise<void> {
    this.#flushNow();
    await Promise.allSettled([...this.#inFlight]);
  }
}

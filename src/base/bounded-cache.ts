/**
 * Values computed once per key and kept, at most `limit` of them (the oldest goes first when
 * full): for pure computations over a few keys seen over and over, such as worker keys, gateway
 * domains and certificates.
 */
export class BoundedCache<K, V> {
  readonly #limit: number;
  readonly #values = new Map<K, V>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#values.size;
  }

  /** The value kept for `key`, or `make()`'s, kept from now on. */
  get(key: K, make: () => V): V {
    if (this.#values.has(key)) return this.#values.get(key) as V;
    const value = make();
    if (this.#values.size >= this.#limit) this.#values.delete(this.#values.keys().next().value as K);
    this.#values.set(key, value);
    return value;
  }
}

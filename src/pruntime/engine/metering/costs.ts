/**
 * Gas for work done inside native builtins (docs/pruntime.md#metering-builtins). The interpreter
 * charges 1 gas per QuickJS poll (a branch or a call, counted 10,000 at a time); a native builtin
 * such as `Float64Array.prototype.sort` runs without polling, so the prelude's wrappers
 * (metering/wrappers.ts) charge these amounts instead, by input or output size.
 *
 * Calibration (bench/suites/pruntime.ts, "gas per ms of CPU"): plain interpreted code runs at
 * about 10,000–13,000 gas per ms on the reference machine (2 shared AMD EPYC cores, Node 20.20),
 * i.e. one gas is about 90 ns. Each constant below is the measured nanoseconds per unit of its
 * family divided by those 90 ns, rounded up to a simple value, so every family lands within a
 * small factor of plain code (the bench prints the spread; it must stay at or below 10×; measured
 * 5.9×). Gas is summed unrounded and rounded up when reported, and a unit is counted from sizes
 * the wrapper can read without running contract code, so the gas is the same on every worker.
 *
 * `n·log n` is `n × bitLength(n)` (an integer, no floating-point logarithm).
 */
export const BUILTIN_COSTS = Object.freeze({
  /** Typed-array sort without a comparator, per n·log n (measured ≈ 38 ns). */
  typedSort: 0.5,
  /**
   * Array sort without a comparator (compares as strings), per n·log n (≈ 120–130 ns): set at
   * twice the plain-code rate so the burn contract (1,000 sorts of 300k numbers) stops
   * after one sort, well under 2 s.
   */
  arraySort: 3,
  /**
   * Any sort with a comparator, per n·log n, on top of the callbacks' own polls: calling a JS
   * comparator from native code costs about 400 ns, far more than the one poll it counts.
   */
  comparatorSort: 2,
  /** Typed-array bulk work per element: fill, set, copyWithin, reverse, slice, indexOf (≈ 0.5 ns). */
  typedElement: 0.01,
  /** Array bulk work per element: slice, splice, reverse, fill, indexOf, shift… (≈ 10–40 ns). */
  arrayElement: 0.5,
  /** Per element copied one by one through the generic path: concat, flat, Array.from (≈ 150–230 ns). */
  copyElement: 2,
  /** Per element join/toLocaleString turn into a string (number formatting ≈ 300 ns). */
  joinElement: 2,
  /** Per UTF-16 unit a string builtin reads or writes (search, copy, case mapping, padding; ≈ 5–12 ns). */
  char: 0.1,
  /** Per element of an array a string builtin returns (split pieces, match results). */
  piece: 3,
  /** Per property enumerated or copied: Object.keys/values/entries/assign/fromEntries (≈ 350 ns). */
  property: 5,
  /**
   * Per call of `RegExp.prototype.exec` (every regex path goes through it): a call from native
   * code into the interpreted wrapper and back costs about 2–3 µs (with the regex work itself).
   */
  regexCall: 30,
  /** Per character a regex scan advances over (short scans never reach the engine's own poll). */
  regexChar: 0.1,
  /** Per character of JSON text parsed or produced (≈ 80 ns). */
  jsonChar: 1.5,
  /** Per character of a BigInt's decimal text. */
  bigintDigit: 0.5,
});

export type BuiltinCosts = typeof BUILTIN_COSTS;

/**
 * Charges smaller than this are collected inside the sandbox and reported to the host in one
 * host call (a host call costs a few microseconds, more than most small builtins); a charge at
 * least this large, and whatever is pending at the end of a call, is reported at once, so a
 * large builtin is refused before it runs.
 */
export const METER_FLUSH_GAS = 1_000;

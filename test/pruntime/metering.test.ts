import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCallLimits, defaultEngineLimits } from '../../src/pruntime/engine/limits.js';
import { BUILTIN_COSTS } from '../../src/pruntime/engine/metering/costs.js';
import { Sandbox, type SandboxOutcome } from '../../src/pruntime/engine/sandbox.js';
import { REQUEST_ID, SEED, expectFailure, expectOk, text } from './helpers.js';

// The sandbox (the engine thread's synchronous core) is driven directly: these tests are about
// what a call costs, not about threads.
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await Sandbox.create({ ...defaultEngineLimits });
});

function run(code: string, input: unknown = null, gas = defaultCallLimits.gas): Promise<SandboxOutcome> {
  return sandbox.call({
    code,
    kind: 'handle',
    input: new TextEncoder().encode(JSON.stringify(input)),
    state: null,
    requestId: REQUEST_ID,
    origin: null,
    randomSeed: SEED,
    limits: { ...defaultCallLimits, gas },
  });
}

/** A contract that builds data of size `n` with `setup`, then runs `op` (or not) `reps` times. */
function family(setup: string, op: string) {
  return `export function handle(input, ctx) {
    const { n, reps, doOp } = ctx.json.decode(input);
    ${setup};
    let out;
    if (doOp) for (let k = 0; k < reps; k++) out = (${op});
    return { public: 'done' };
  }`;
}

async function opGas(code: string, n: number, reps: number): Promise<number> {
  const withOp = expectOk(await run(code, { n, reps, doOp: true }, 200_000_000)).gasUsed;
  const without = expectOk(await run(code, { n, reps, doOp: false }, 200_000_000)).gasUsed;
  return withOp - without;
}

// Each family: data of size n built without the metered builtin, then the builtin on it.
const families: [name: string, setup: string, op: string][] = [
  [
    'TypedArray sort',
    'const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = (i * 7919) % 1000003',
    'a.sort()',
  ],
  [
    'Array sort',
    'const a = []; for (let i = 0; i < n; i++) a.push((i * 7919) % 1000003)',
    'a.slice().sort()',
  ],
  [
    'Array sort with comparator',
    'const a = []; for (let i = 0; i < n; i++) a.push(i % 7)',
    'a.sort((x, y) => x - y)',
  ],
  ['join', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'a.join(",")'],
  ['Array toString (through join)', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'String(a)'],
  ['split', "const s = 'ab,'.repeat(n)", "s.split(',')"],
  ['replace (regex)', "const s = 'ab,'.repeat(n)", "s.replace(/,/g, ';')"],
  ['replaceAll (string)', "const s = 'ab,'.repeat(n)", "s.replaceAll(',', ';')"],
  ['RegExp test', "const s = 'ab,'.repeat(n)", 's.match(/b,/g)'],
  [
    'JSON.parse',
    'const a = []; for (let i = 0; i < n; i++) a.push(i); const t = JSON.stringify(a)',
    'JSON.parse(t)',
  ],
  ['JSON.stringify', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'JSON.stringify(a)'],
  ['TypedArray fill', 'const a = new Uint8Array(n * 100)', 'a.fill(7)'],
  ['TypedArray set', 'const a = new Uint8Array(n * 100), b = new Uint8Array(n * 100)', 'a.set(b)'],
  ['TypedArray indexOf', 'const a = new Uint8Array(n * 100)', 'a.indexOf(1)'],
  ['Array indexOf', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'a.indexOf(-1)'],
  ['Array concat', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'a.concat(a)'],
  ['Array reverse', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'a.reverse()'],
  ['Array.from', 'const a = new Uint8Array(n)', 'Array.from(a)'],
  ['String repeat', '', "'abc'.repeat(n)"],
  ['String padStart', '', "'x'.padStart(n * 3)"],
  ['String indexOf', "const s = 'ab,'.repeat(n)", "s.indexOf('zz')"],
  ['Object.keys', 'const o = {}; for (let i = 0; i < n; i++) o["k" + i] = i', 'Object.keys(o)'],
  ['Object.assign', 'const o = {}; for (let i = 0; i < n; i++) o["k" + i] = i', 'Object.assign({}, o)'],
  [
    'TypedArray constructor from an array',
    'const a = []; for (let i = 0; i < n; i++) a.push(i)',
    'new Float64Array(a)',
  ],
  ['Map constructor', 'const a = []; for (let i = 0; i < n; i++) a.push([i, i])', 'new Map(a)'],
  ['Set constructor from a Set', 'const a = new Set(); for (let i = 0; i < n; i++) a.add(i)', 'new Set(a)'],
  [
    'ctx.json.decode',
    'const a = []; for (let i = 0; i < n; i++) a.push(i); const t = JSON.stringify(a)',
    'ctx.json.decode(t)',
  ],
];

describe('metering builtins: every family is charged by input size', () => {
  it.each(families)('%s', async (_name, setup, op) => {
    const code = family(setup, op);
    const small = await opGas(code, 20_000, 5);
    const large = await opGas(code, 80_000, 5);
    // Interpreter gas moves in steps of 10,000: the charge must stand well above that noise and
    // grow with the input (4× the size: at least 2.5× the gas).
    expect(small).toBeGreaterThan(15_000);
    expect(large).toBeGreaterThan(2.5 * small);
  });

  it('charges a sort by n·log n before it runs: a sort beyond the budget ends OutOfGas', async () => {
    const n = 400_000;
    const expected = Math.ceil(n * (32 - Math.clz32(n)) * BUILTIN_COSTS.typedSort);
    const code = `export function handle(input, ctx) {
      const a = new Float64Array(${n});
      let sorted = 0;
      try { a.sort(); sorted = 1; } catch (e) {}
      ctx.log('sorted ' + sorted);
      return { public: 'x' };
    }`;
    const failure = expectFailure(await run(code, null, expected - 1));
    expect(failure.error.code).toBe('OutOfGas');
    expect(failure.logs).toEqual([]);
    expect(expectOk(await run(code, null, expected + 100_000)).gasUsed).toBeGreaterThan(expected);
  });
});

// Indirect eval: Node (V8) evaluates the same expressions in its global scope for the reference.
// biome-ignore lint/security/noGlobalEval: the reference results are Node's own evaluation
const nodeEval = globalThis.eval as (source: string) => unknown;

describe('metering builtins: semantics are those of the builtins', () => {
  // The same expressions evaluated by Node (V8) give the reference results.
  const expressions = [
    '[5, 1, 10, 2].sort()',
    '[5, 1, 10, 2].sort((a, b) => b - a)',
    'Array.from(new Float64Array([3, -0, 0, NaN, -1]).sort())',
    '[1, [2, [3]], "x", null, undefined].join("-")',
    '"a,b,,c".split(",")',
    '"a1b22c333".split(/\\d+/)',
    '"a1b22c333".replace(/\\d+/g, (m) => "<" + m.length + ">")',
    '"aaa".replaceAll("a", "$&$&")',
    '"x-y-z".match(/-(\\w)/)',
    '[..."a1b2c3".matchAll(/[a-z](\\d)/g)].map((m) => m[1] + m.index)',
    '"hello".search(/l+/)',
    '(() => { const r = /o/g; r.lastIndex = 5; const m = r.exec("foo boo"); return [m && m.index, r.lastIndex]; })()',
    '(() => { const r = /b/y; return [r.test("ab"), r.lastIndex, (r.lastIndex = 1, r.test("ab")), r.lastIndex]; })()',
    'JSON.parse(\'{"a":[1,2,{"b":null}]}\', (k, v) => (typeof v === "number" ? v * 2 : v))',
    'JSON.stringify({ b: [1, "x"], a: { c: true } }, null, 2)',
    '"abc".repeat(3) + "x".padStart(4, "12") + "x".padEnd(3) + "ab".concat(1, null)',
    '[String.prototype.indexOf.call(12345, 3), "abc".includes("c"), "abc".lastIndexOf("b")]',
    '"İstanbul".toLowerCase() + "ß".toUpperCase() + "e\\u0301".normalize("NFC").length',
    'Object.entries(Object.assign({ x: 1 }, { y: 2 }, [7], null))',
    'Object.keys([4, 5, 6]).concat(Object.values({ q: 9 }))',
    '[1, [2, [3, [4]]]].flat(2)',
    '[[1, 2, 3].map((x) => x * 2), [1, 2, 3].filter((x) => x > 1), [1, 2].reduce((a, b) => a + b), [[1], [2]].reduce((a, b) => a.concat(b)), [1, 2].reduceRight((a, b) => a + b, "")]',
    '(() => { try { return [].reduce((a, b) => a); } catch (e) { return e.constructor.name; } })()',
    '[[1, 2].some((x) => x > 1), [1, 2].every((x) => x > 1), [5, 6].find((x) => x > 5), [5, 6].findLastIndex((x) => x > 9), [1, 2].flatMap((x) => [x, x])]',
    'Array.from({ length: 3 }, (_, i) => i * i)',
    'Array.from(new Set([3, 1, 3]))',
    '[Array.prototype.sort.name, Array.prototype.sort.length, String.prototype.padStart.length, RegExp.prototype.exec.name]',
    '(10n ** 30n).toString() + (255n).toString(16)',
    '[1, 2, 3].indexOf(2) + [1, 2, 3].includes(4) + new Uint8Array([1, 2, 3]).lastIndexOf(3)',
    'Array.from(new Uint8Array([1, 2, 3, 4, 5]).copyWithin(0, 3))',
    // Array methods on array-likes.
    'Array.prototype.sort.call({ length: 3, 0: "c", 1: "a", 2: "b" })',
    '[Array.prototype.indexOf.call({ length: 3, 2: "x" }, "x"), Array.prototype.join.call("abc", "-")]',
    '(() => { let reads = 0; const o = { get length() { reads++; return 2; }, 0: 1, 1: 2 }; return [Array.prototype.slice.call(o), reads > 0]; })()',
    // Wrapped constructors keep identity, statics, subclassing and species.
    '(() => { const t = new Uint8Array([1, 2, 3]); class M extends Map {} const m = new M([[1, 2]]); return [t instanceof Uint8Array, t.constructor === Uint8Array, Object.getPrototypeOf(t) === Uint8Array.prototype, Uint8Array.BYTES_PER_ELEMENT, Array.from(Uint8Array.from([4, 5])), t.subarray(1).constructor === Uint8Array, m instanceof M, m instanceof Map, m.get(1), Map.name, Map.length, typeof Map.prototype.get, Array.from(new Set([1, 1, 2])), new Float64Array(new ArrayBuffer(16), 8).length]; })()',
    '(() => { try { Map(); return "no error"; } catch (e) { return e.constructor.name; } })()',
    // Builtins for which a missing argument and an explicit undefined differ.
    '[[1, 2, 1].lastIndexOf(1), [1, 2, 1].lastIndexOf(1, undefined), new Uint8Array([1, 2, 1]).lastIndexOf(1)]',
    '(() => { const a = [1, 2, 3, 4], b = [1, 2, 3, 4]; return [a.splice(1), b.splice(1, undefined), a, b]; })()',
    '[[1, 2].concat(3, [4], [[5]]), "a".concat(1, 2, 3), [3, 4].unshift(1, 2)]',
    '[JSON.stringify({ a: 1, b: [1, 2] }, ["a"]), JSON.stringify([1, { x: 2 }], null, "--")]',
  ];
  it('gives the results Node gives for the same expressions', async () => {
    const code = `export function handle(input, ctx) {
      const results = [${expressions.map((e) => `(() => ${e})()`).join(',\n')}];
      return { public: JSON.stringify(results) };
    }`;
    const outcome = expectOk(await run(code));
    const expected = expressions.map((e) => nodeEval(`(() => ${e})()`));
    expect(JSON.parse(text(outcome.public))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  const throwing = [
    'Array.prototype.sort.call(null)',
    '[].sort(5)',
    '"a".repeat(-1)',
    'JSON.parse("{")',
    'JSON.parse({ toString() { return "[1,"; } })',
    'RegExp.prototype.exec.call({}, "x")',
    'RegExp.prototype.exec.call(RegExp.prototype, "x")',
    'String.prototype.indexOf.call(undefined, "x")',
    '"abc".indexOf(Symbol())',
    'String.prototype.trim.call(Symbol())',
    'new Uint8Array(2).set([1, 2, 3])',
    'Float64Array.prototype.sort.call([3, 1])',
    'new ([].sort)()',
    'JSON.stringify(1n)',
    'Object.keys(null)',
  ];
  it('throws the errors Node throws', async () => {
    const code = `export function handle(input, ctx) {
      const names = [${throwing.map((e) => `(() => { try { ${e}; return 'no error'; } catch (err) { return err.constructor.name; } })()`).join(',\n')}];
      return { public: JSON.stringify(names) };
    }`;
    const outcome = expectOk(await run(code));
    const expected = throwing.map((e) => {
      try {
        nodeEval(e);
        return 'no error';
      } catch (error) {
        return (error as Error).constructor.name;
      }
    });
    expect(JSON.parse(text(outcome.public))).toEqual(expected);
  });
});

describe('metering builtins: contract code cannot get around the wrappers', () => {
  const n = 200_000;
  const sortCharge = Math.ceil(n * (32 - Math.clz32(n)) * BUILTIN_COSTS.typedSort);
  // Each attempt first takes what it can reach, then tampers, then sorts with what it took.
  const attempts: [string, string][] = [
    ['delete', 'const sort = TA.sort; delete TA.sort; sort.call(a)'],
    ['reassignment', 'const sort = TA.sort; TA.sort = function () { return this; }; sort.call(a)'],
    [
      'defineProperty',
      "const sort = TA.sort; Object.defineProperty(TA, 'sort', { value() { return this; } }); sort.call(a)",
    ],
    ['setPrototypeOf on the instance', 'Object.setPrototypeOf(a, Object.create(TA)); a.sort()'],
    ['Reflect.get + apply', "Reflect.apply(Reflect.get(TA, 'sort'), a, [])"],
    ['property descriptor', "Object.getOwnPropertyDescriptor(TA, 'sort').value.call(a)"],
    ['Function.prototype.call.bind', 'Function.prototype.call.bind(Uint8Array.prototype.sort)(a)'],
    ['bound function', 'TA.sort.bind(a)()'],
    ['from Array.prototype', 'Array.prototype.sort.call(Array.from(a))'],
    ['from another prototype path', 'Object.getPrototypeOf(Int32Array.prototype).sort.call(a)'],
    ['through the constructor of an instance', 'new a.constructor(a).sort()'],
    ['toSorted', 'a.toSorted()'],
  ];
  it.each(attempts)('%s still pays for the sort', async (_name, attempt) => {
    const code = `export function handle(input, ctx) {
      const { doOp } = ctx.json.decode(input);
      const TA = Object.getPrototypeOf(Uint8Array.prototype);
      const a = new Float64Array(${n});
      if (doOp) { ${attempt}; }
      return { public: 'x' };
    }`;
    const withOp = expectOk(await run(code, { doOp: true })).gasUsed;
    const without = expectOk(await run(code, { doOp: false })).gasUsed;
    // (the inputs differ by one byte, which costs a few gas to decode)
    expect(withOp - without).toBeGreaterThanOrEqual(sortCharge - 10);
  });

  it.each([
    ['a data length', 'Array.prototype.indexOf.call({ length: 1e9 }, 1)'],
    ['an accessor length', 'Array.prototype.includes.call({ get length() { return 1e9; } }, 1)'],
    ['an inherited length', 'Array.prototype.lastIndexOf.call(Object.create({ length: 1e9 }), 1)'],
    ['a sort', 'Array.prototype.sort.call({ length: 1e9 })'],
    ['a sparse array and forEach', 'const a = []; a.length = 1e9; a.forEach(() => {})'],
    ['a sparse array and concat', 'const a = []; a.length = 1e9; [].concat(a)'],
    ['a sparse array and reduce', 'const a = []; a.length = 1e9; a.reduce((x) => x, 0)'],
  ])('an array-like receiver with %s pays for its length: OutOfGas at once', async (_name, attempt) => {
    const started = performance.now();
    const failure = expectFailure(
      await run(`export function handle() { ${attempt}; return { public: 'x' }; }`),
    );
    expect(failure.error.code).toBe('OutOfGas');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('keeps RegExp.prototype.exec locked, and a regex with its own non-callable exec still pays', async () => {
    const code = `export function handle(input, ctx) {
      const { doOp } = ctx.json.decode(input);
      const d = Object.getOwnPropertyDescriptor(RegExp.prototype, 'exec');
      let deleted;
      try { deleted = delete RegExp.prototype.exec; } catch (e) { deleted = e.constructor.name; }
      const s = 'ab,'.repeat(100000);
      const r = /,/g;
      Object.defineProperty(r, 'exec', { value: undefined });
      let out = '';
      if (doOp) for (let k = 0; k < 5; k++) out = s.replace(r, ';');
      return { public: JSON.stringify([d.writable, d.configurable, deleted, typeof RegExp.prototype.exec]) };
    }`;
    const withOp = expectOk(await run(code, { doOp: true }));
    const without = expectOk(await run(code, { doOp: false }));
    expect(JSON.parse(text(withOp.public))).toEqual([false, false, 'TypeError', 'function']);
    // Five replaces over 300,000 characters, charged by subject and result size at least.
    expect(withOp.gasUsed - without.gasUsed).toBeGreaterThan(5 * 300_000 * BUILTIN_COSTS.regexChar);
  });
});

describe('metering builtins: the burn contracts of issue 14 end in OutOfGas quickly', () => {
  const burns: [string, string][] = [
    [
      '200 sorts of a 2M-element Float64Array',
      'const a = new Float64Array(2e6); for (let i = 0; i < a.length; i += 1000) a[i] = i % 7; for (let k = 0; k < 200; k++) a.sort();',
    ],
    [
      '1,000 sorts of 300k numbers',
      'const a = []; for (let i = 0; i < 3e5; i++) a.push((i * 7919) % 1000003); for (let k = 0; k < 1000; k++) a.slice().sort();',
    ],
  ];
  // The bound is 2 s, or, when other work slows this machine down, 1.5× the time plain
  // interpreted code takes to burn the same default budget (measured just before): the burn may
  // never take longer than its gas says.
  async function plainBurnMs() {
    const started = performance.now();
    const failure = expectFailure(
      await run('export function handle() { let s = 0; for (;;) s = (s + 1) | 0; }'),
    );
    expect(failure.error.code).toBe('OutOfGas');
    return performance.now() - started;
  }
  it.each(burns)('%s: OutOfGas at the default limit in under 2 s', async (_name, body) => {
    const code = `export function handle() { ${body} return { public: 'x' }; }`;
    const reference = await plainBurnMs();
    const started = performance.now();
    const failure = expectFailure(await run(code));
    const elapsed = performance.now() - started;
    expect(failure.error.code).toBe('OutOfGas');
    expect(failure.gasUsed).toBe(defaultCallLimits.gas);
    expect(elapsed).toBeLessThan(Math.max(2000, 1.5 * reference));
  });

  it('sorts with a comparator end OutOfGas too (the callbacks poll; the native part is charged)', async () => {
    const code = `export function handle() {
      const a = []; for (let i = 0; i < 3e5; i++) a.push((i * 7919) % 1000003);
      for (let k = 0; k < 1000; k++) a.slice().sort((x, y) => x - y);
      return { public: 'x' };
    }`;
    expect(expectFailure(await run(code)).error.code).toBe('OutOfGas');
  });

  it('a catastrophic regex is stopped by gas (QuickJS polls while backtracking)', async () => {
    const code = `export function handle() { return { public: String(/^(a+)+$/.test('a'.repeat(40) + 'b')) }; }`;
    expect(expectFailure(await run(code, null, 2_000_000)).error.code).toBe('OutOfGas');
  });
});

describe('metering builtins: deterministic', () => {
  it('the same call costs the same gas every time, and on a second sandbox', async () => {
    const code = family(
      families[0]![1] + '; const s = "ab,".repeat(n)',
      'a.sort() && s.split(",").join(";").replace(/;/g, ",") && JSON.stringify(Object.keys(JSON.parse(JSON.stringify({ s }))))',
    );
    const input = { n: 30_000, reps: 3, doOp: true };
    const first = expectOk(await run(code, input)).gasUsed;
    const second = expectOk(await run(code, input)).gasUsed;
    const other = await Sandbox.create({ ...defaultEngineLimits });
    const third = expectOk(
      await other.call({
        code,
        kind: 'handle',
        input: new TextEncoder().encode(JSON.stringify(input)),
        state: null,
        requestId: REQUEST_ID,
        origin: null,
        randomSeed: SEED,
        limits: { ...defaultCallLimits },
      }),
    ).gasUsed;
    expect(second).toBe(first);
    expect(third).toBe(first);
  });
});

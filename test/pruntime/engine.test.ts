import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/base/bytes.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { EngineFailureError } from '../../src/pruntime/engine/errors.js';
import { ContractState, EMPTY_STATE } from '../../src/pruntime/engine/state.js';
import { REQUEST_ID, SEED, call, expectFailure, expectOk, text } from './helpers.js';

const TRIVIAL = 'export function handle(input) { return { public: input }; }';

let engine: ContractEngine;

beforeAll(async () => {
  // The wall-clock watchdog has tests of its own (`hasty` below). Under a loaded CI machine its
  // default 5 s ended a slow recursion bomb first (OutOfGas by the clock), hiding the
  // StackOverflow these tests look for.
  engine = await ContractEngine.start({ callTimeoutMs: 60_000 });
});
afterAll(async () => {
  await engine?.close();
});

async function stillServes() {
  const outcome = expectOk(await call(engine, TRIVIAL, { input: Uint8Array.of(4, 2) }));
  expect([...outcome.public]).toEqual([4, 2]);
}

describe('contract engine: the ctx API', () => {
  it('passes input bytes, request id and origin, and returns public and sealed bytes', async () => {
    const outcome = expectOk(
      await call(
        engine,
        `export function handle(input, ctx) {
          return { public: ctx.json.encode({ n: input.length, id: ctx.requestId, origin: ctx.origin, kind: ctx.kind }),
                   sealed: new Uint8Array([input[0] + 1]) };
        }`,
        { input: Uint8Array.of(9, 8, 7), origin: { kind: 'evm', chainId: 31337 } },
      ),
    );
    expect(text(outcome.public)).toBe(
      `{"id":"${REQUEST_ID}","kind":"handle","n":3,"origin":{"chainId":31337,"kind":"evm"}}`,
    );
    expect([...outcome.sealed]).toEqual([10]);
    expect(outcome.stateChanged).toBe(false);
    expect(outcome.gasUsed).toBeGreaterThan(0);
  });

  it('keeps state values as bytes or strings, as they were set, and serializes canonically', async () => {
    const code = `export function handle(input, ctx) {
      ctx.state.set('b', new Uint8Array([1, 2]));
      ctx.state.set(new Uint8Array([0x61]), 'text');
      ctx.state.set('gone', 'x');
      const deleted = ctx.state.delete('gone');
      const a = ctx.state.get('a');
      const b = ctx.state.get('b');
      return { public: ctx.json.encode({ a, bIsBytes: b instanceof Uint8Array, b: ctx.hex.encode(b), has: ctx.state.has('b'),
                                        missing: ctx.state.get('missing'), deleted }) };
    }`;
    const outcome = expectOk(await call(engine, code));
    expect(text(outcome.public)).toBe(
      '{"a":"text","b":"0x0102","bIsBytes":true,"deleted":true,"has":true,"missing":null}',
    );
    expect(outcome.stateChanged).toBe(true);
    const state = ContractState.parse(outcome.state);
    expect(state.entries().map((e) => [text(e.key), e.type, toHex(e.value)])).toEqual([
      ['a', 'string', '0x74657874'],
      ['b', 'bytes', '0x0102'],
    ]);
  });

  it('starts from the given state and leaves it untouched in a query (read-only)', async () => {
    const start = ContractState.empty();
    start.set(new TextEncoder().encode('count'), 'string', new TextEncoder().encode('41'));
    const code = `
      export function handle(input, ctx) { const n = Number(ctx.state.get('count')) + 1; ctx.state.set('count', String(n)); return { public: String(n) }; }
      export function query(input, ctx) {
        let refused = '';
        try { ctx.state.set('count', '0'); } catch (e) { refused = e.message; }
        return { count: ctx.state.get('count'), refused };
      }`;
    const handled = expectOk(await call(engine, code, { state: start.serialize() }));
    expect(text(handled.public)).toBe('42');
    const queried = expectOk(await call(engine, code, { kind: 'query', state: handled.state }));
    expect(text(queried.sealed)).toBe('{"count":"42","refused":"state is read-only in a query"}');
    expect(queried.stateChanged).toBe(false);
    expect(queried.state).toEqual(handled.state);
  });

  it('draws ctx.random from the seed: same seed and order, same bytes; another seed, other bytes', async () => {
    const code = `export function handle(input, ctx) { return { public: ctx.hex.encode(ctx.random(5)) + ctx.hex.encode(ctx.random(40)) }; }`;
    const a = expectOk(await call(engine, code));
    const b = expectOk(await call(engine, code));
    const c = expectOk(await call(engine, code, { randomSeed: new Uint8Array(32).fill(8) }));
    expect(text(a.public)).toBe(text(b.public));
    expect(text(a.public)).not.toBe(text(c.public));
    expect(text(a.public)).toMatch(/^0x[0-9a-f]{10}0x[0-9a-f]{80}$/);
  });

  it('encodes and decodes ABI, SCALE, canonical JSON, hex and UTF-8', async () => {
    const code = `export function handle(input, ctx) {
      const abi = ctx.abi.encode('uint256, bytes, (address, bool)', [5n, new Uint8Array([0xab]), ['0x0000000000000000000000000000000000000001', true]]);
      const [n, data, [addr, flag]] = ctx.abi.decode(['uint256', 'bytes', '(address,bool)'], abi);
      const scale = ctx.scale.encode('(u32, Compact<u128>, Vec<u8>, Option<Text>, [u8; 2])', [1, 300n, new Uint8Array([7]), 'hé', new Uint8Array([1, 2])]);
      const back = ctx.scale.decode('(u32, Compact<u128>, Vec<u8>, Option<Text>, [u8; 2])', scale);
      return { public: ctx.json.encode({
        abiLength: abi.length, n: String(n), data: ctx.hex.encode(data), addr, flag,
        scale: ctx.hex.encode(scale), back0: back[0], back1: String(back[1]), back2: ctx.hex.encode(back[2]), back3: back[3],
        json: ctx.utf8.decode(ctx.json.encode({ z: 1, a: [true, null], m: { y: 'x', b: 2 } })),
        hex: ctx.hex.encode(ctx.hex.decode('0xDEADbeef')),
      }) };
    }`;
    const outcome = expectOk(await call(engine, code));
    expect(JSON.parse(text(outcome.public))).toEqual({
      abiLength: 192,
      n: '5',
      data: '0xab',
      addr: '0x0000000000000000000000000000000000000001',
      flag: true,
      scale: '0x01000000b1040407010c68c3a90102',
      back0: 1,
      back1: '300',
      back2: '0x07',
      back3: 'hé',
      json: '{"a":[true,null],"m":{"b":2,"y":"x"},"z":1}',
      hex: '0xdeadbeef',
    });
  });

  it('reports codec misuse as catchable TypeErrors', async () => {
    const code = `export function handle(input, ctx) {
      const errors = [];
      for (const f of [() => ctx.abi.encode('uint8', [256]), () => ctx.scale.decode('u32', new Uint8Array(3)),
                       () => ctx.hex.decode('0x123'), () => ctx.utf8.decode(new Uint8Array([0xff])), () => ctx.json.encode(1n)]) {
        try { f(); errors.push('no error'); } catch (e) { errors.push(e.name); }
      }
      return { public: errors.join(',') };
    }`;
    expect(text(expectOk(await call(engine, code)).public)).toBe(
      'TypeError,TypeError,TypeError,TypeError,TypeError',
    );
  });
});

describe('contract engine: limits end the call with a named error, and the engine keeps serving', () => {
  it('OutOfGas: while (true) with the default budget', async () => {
    const failure = expectFailure(await call(engine, 'export function handle() { while (true) {} }'));
    expect(failure.error.code).toBe('OutOfGas');
    expect(failure.gasUsed).toBe(20_000_000);
    await stillServes();
  });

  it('OutOfGas: a small budget, and a contract that catches the error cannot continue', async () => {
    const code = `export function handle() { try { while (true) {} } catch (e) {} return { public: 'escaped' }; }`;
    const failure = expectFailure(await call(engine, code, { limits: { gas: 200_000 } }));
    expect(failure.error.code).toBe('OutOfGas');
    expect(failure.gasUsed).toBe(200_000);
    await stillServes();
  });

  it('OutOfGas: host calls are charged too', async () => {
    const code = `export function handle(i, ctx) { for (let j = 0; j < 100000; j++) { try { ctx.random(0); } catch (e) {} } return {}; }`;
    expect(expectFailure(await call(engine, code, { limits: { gas: 50_000 } })).error.code).toBe('OutOfGas');
  });

  it('OutOfMemory: growing arrays past the memory cap', async () => {
    const code =
      'export function handle() { const keep = []; while (true) keep.push(new Uint8Array(1 << 20)); }';
    expect(expectFailure(await call(engine, code)).error.code).toBe('OutOfMemory');
    await stillServes();
  });

  it('OutOfMemory: one huge allocation, strings and maps', async () => {
    for (const body of [
      'new Uint8Array(1e9)',
      'let s = "x"; const keep = []; while (true) { s = s + s.slice(0, 1 << 20); keep.push(s); }',
      'const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: "v" + i });',
    ]) {
      const outcome = expectFailure(await call(engine, `export function handle() { ${body}; return {}; }`));
      expect(outcome.error.code).toBe('OutOfMemory');
    }
    await stillServes();
  });

  it('StackOverflow: recursion bombs of several kinds', async () => {
    for (const body of [
      'function f() { return f() + 1; } f();',
      'const o = { get x() { return this.x; } }; o.x;',
      'class A { constructor() { new A(); } } new A();',
      'let a = []; for (let i = 0; i < 1e5; i++) a = [a]; JSON.stringify(a);',
      'JSON.parse("[".repeat(1e5) + "]".repeat(1e5));',
      'let a = []; for (let i = 0; i < 1e5; i++) a = [a]; String(a);',
      'const t = { toString() { return String(u); } }; const u = { toString() { return String(t); } }; String(t);',
    ]) {
      const outcome = expectFailure(await call(engine, `export function handle() { ${body} return {}; }`));
      expect(outcome.error.code, body).toBe('StackOverflow');
    }
    await stillServes();
  });

  it('a contract may catch a stack overflow and go on', async () => {
    const code = `export function handle() { let depth = 0; function f() { depth++; f(); } try { f(); } catch (e) {} return { public: String(depth > 100) }; }`;
    expect(text(expectOk(await call(engine, code)).public)).toBe('true');
  });

  it('OutputTooLarge: public or sealed longer than the limit', async () => {
    const big = 'export function handle() { return { public: new Uint8Array(70000) }; }';
    expect(expectFailure(await call(engine, big)).error.code).toBe('OutputTooLarge');
    const sealed = "export function handle() { return { sealed: 'x'.repeat(2000) }; }";
    expect(expectFailure(await call(engine, sealed, { limits: { outputBytes: 1000 } })).error.code).toBe(
      'OutputTooLarge',
    );
    await stillServes();
  });

  it('StateTooLarge: writes past the state limit, even when the contract catches the error', async () => {
    const code = `export function handle(i, ctx) {
      for (let j = 0; j < 100; j++) { try { ctx.state.set('k' + j, new Uint8Array(20000)); } catch (e) {} }
      return { public: 'done' };
    }`;
    const failure = expectFailure(await call(engine, code, { limits: { stateBytes: 100_000 } }));
    expect(failure.error.code).toBe('StateTooLarge');
    await stillServes();
  });

  it('InputTooLarge', async () => {
    const failure = expectFailure(
      await call(engine, TRIVIAL, { input: new Uint8Array(2000), limits: { inputBytes: 1000 } }),
    );
    expect(failure.error.code).toBe('InputTooLarge');
  });
});

describe('contract engine: hostile and broken contracts', () => {
  it('cannot compile code at run time: eval and every Function constructor are gone', async () => {
    const code = `export function handle() {
      const attempts = [
        () => eval('1'), () => (0, eval)('1'), () => globalThis.eval('1'), () => Function('return this')(),
        () => (function () {}).constructor('return globalThis')(), () => Object.getPrototypeOf(function* () {}).constructor('yield 1'),
        () => Object.getPrototypeOf(async function () {}).constructor('return 1'), () => Reflect.construct(Function, ['return 1']),
        () => new Function('return 1'),
      ];
      return { public: attempts.map((f) => { try { f(); return 'ran'; } catch (e) { return e.name; } }).join(',') };
    }`;
    expect(text(expectOk(await call(engine, code)).public)).toBe(Array(9).fill('EvalError').join(','));
  });

  it('sees no host objects, no clock and no ambient randomness', async () => {
    const code = `export function handle() {
      const names = ['process', 'require', 'module', 'Buffer', 'fetch', 'setTimeout', 'Date', 'WeakRef',
                     'FinalizationRegistry', 'SharedArrayBuffer', 'Atomics', 'performance', 'console', 'std', 'os'];
      let random = 'ran'; try { Math.random(); } catch (e) { random = e.name; }
      let dynamicImport = typeof import('node:fs');
      return { public: names.map((n) => typeof globalThis[n]).join(',') + '|' + random + '|' + dynamicImport };
    }`;
    expect(text(expectOk(await call(engine, code)).public)).toBe(
      `${Array(15).fill('undefined').join(',')}|EvalError|object`,
    );
  });

  it('prototype pollution and global changes do not survive into the next call, of this or another contract', async () => {
    const polluter = `export function handle() {
      Object.prototype.polluted = 'yes'; Array.prototype.push = () => 0; JSON.stringify = () => 'hijacked';
      globalThis.leak = 'x'; Uint8Array.prototype.slice = () => null; return { public: 'polluted' };
    }`;
    expect(text(expectOk(await call(engine, polluter)).public)).toBe('polluted');
    const probe = `export function handle() {
      const a = []; a.push(1);
      return { public: [String(({}).polluted), a.length, JSON.stringify([1]), typeof globalThis.leak].join(',') };
    }`;
    expect(text(expectOk(await call(engine, probe)).public)).toBe('undefined,1,[1],undefined');
    // The polluting contract itself starts clean too.
    const again = polluter.replace(
      "Object.prototype.polluted = 'yes';",
      "if (({}).polluted) return { public: 'dirty' };",
    );
    expect(text(expectOk(await call(engine, again)).public)).toBe('polluted');
  });

  it('module-level variables do not carry over between calls', async () => {
    const code = 'let calls = 0; export function handle() { calls++; return { public: String(calls) }; }';
    expect(text(expectOk(await call(engine, code)).public)).toBe('1');
    expect(text(expectOk(await call(engine, code)).public)).toBe('1');
  });

  it('cannot tamper with ctx', async () => {
    const code = `export function handle(i, ctx) {
      const r = [];
      try { ctx.state = null; r.push('assigned'); } catch (e) { r.push(e.name); }
      try { ctx.state.get = () => 'x'; r.push('assigned'); } catch (e) { r.push(e.name); }
      return { public: r.join(',') };
    }`;
    expect(text(expectOk(await call(engine, code)).public)).toBe('TypeError,TypeError');
  });

  it('names broken contracts: syntax errors, missing exports, top-level await and throws, promises, bad results', async () => {
    const cases: [string, string][] = [
      ['export function handle( {', 'InvalidContract'],
      ['export function query() { return 1; }', 'InvalidContract'],
      ['await 0; export function handle() { return {}; }', 'InvalidContract'],
      ['throw new Error("at load"); export function handle() {}', 'ContractThrew'],
      ['export function handle() { throw new RangeError("nope"); }', 'ContractThrew'],
      ['export function handle() { throw null; }', 'ContractThrew'],
      ['export async function handle() { return {}; }', 'InvalidResult'],
      ['export function handle() { return 42; }', 'InvalidResult'],
      [
        'export function handle() { return { get public() { throw new Error("getter"); } }; }',
        'ContractThrew',
      ],
      ['while (true) {} export function handle() {}', 'OutOfGas'],
    ];
    for (const [code, expected] of cases) {
      expect(expectFailure(await call(engine, code, { limits: { gas: 1_000_000 } })).error.code, code).toBe(
        expected,
      );
    }
    const thrown = expectFailure(
      await call(engine, 'export function handle() { throw new RangeError("nope"); }'),
    );
    expect(thrown.error.message).toBe('RangeError: nope');
    await stillServes();
  });

  it('refuses malformed parameters with one clear error', async () => {
    await expect(call(engine, TRIVIAL, { requestId: '0x12' as `0x${string}` })).rejects.toThrow(/requestId/);
    await expect(call(engine, TRIVIAL, { randomSeed: new Uint8Array(3) })).rejects.toThrow(/randomSeed/);
    await expect(call(engine, TRIVIAL, { limits: { gas: -1 } })).rejects.toThrow(/limits\.gas/);
  });
});

describe('contract engine: determinism', () => {
  const busy = `
    export function handle(input, ctx) {
      const m = new Map(); const words = [];
      for (let i = 0; i < 2000; i++) { m.set('k' + (i * 7919 % 1000), i); }
      for (const [k, v] of m) if (v % 97 === 0) words.push(k);
      words.sort();
      const f = new Float64Array([Math.sin(1e6), Math.exp(-3.3), 0.1 + 0.2, 0 / 0, Math.sqrt(-1)]);
      const counter = Number(ctx.state.get('c') ?? '0') + 1;
      ctx.state.set('c', String(counter));
      ctx.state.set(ctx.random(8), ctx.random(16));
      const o = {}; for (const w of words.slice(0, 20)) o[w.split('').reverse().join('')] = w.length;
      return {
        public: ctx.json.encode({ words: words.length, o, counter, re: 'a1b22c333'.replace(/\\d+/g, (d) => d.length) }),
        sealed: new Uint8Array(f.buffer),
      };
    }`;

  it('two separate engines give the same bytes, gas and state for the same code, state and input', async () => {
    const other = await ContractEngine.start();
    try {
      let stateA: Uint8Array | null = null;
      let stateB: Uint8Array | null = null;
      for (let round = 0; round < 3; round++) {
        const a = expectOk(await call(engine, busy, { state: stateA, input: Uint8Array.of(round) }));
        const b = expectOk(await call(other, busy, { state: stateB, input: Uint8Array.of(round) }));
        expect(toHex(a.public)).toBe(toHex(b.public));
        expect(toHex(a.sealed)).toBe(toHex(b.sealed));
        expect(toHex(a.state)).toBe(toHex(b.state));
        expect(a.gasUsed).toBe(b.gasUsed);
        stateA = a.state;
        stateB = b.state;
      }
      // Failures are deterministic too, gas included.
      const oomA = await call(
        engine,
        'export function handle() { const k = []; for (;;) k.push("x".repeat(4096) + k.length); }',
      );
      const oomB = await call(
        other,
        'export function handle() { const k = []; for (;;) k.push("x".repeat(4096) + k.length); }',
      );
      expect(oomA).toEqual(oomB);
    } finally {
      await other.close();
    }
  });

  it('NaN has one bit pattern', async () => {
    const outcome = expectOk(await call(engine, busy));
    const nanBytes = toHex(outcome.sealed.subarray(24, 32));
    expect(toHex(outcome.sealed.subarray(32, 40))).toBe(nanBytes);
  });

  it('an empty state serializes to the documented bytes', () => {
    expect(toHex(EMPTY_STATE)).toBe('0x504253540100000000');
  });
});

describe('contract engine: memory snapshots (run with whole-memory verification after every restore)', () => {
  it('restores a byte-identical memory after ordinary, failing and heavy calls', async () => {
    const verifying = await ContractEngine.start({ verifyRestore: true, memoryBytes: 8 * 1024 * 1024 });
    try {
      const codes = [
        TRIVIAL,
        'export function handle(i, ctx) { ctx.state.set("a", "b".repeat(1000)); return { public: ctx.random(32) }; }',
        'export function handle() { const k = []; while (true) k.push(new Uint8Array(65536)); }',
        'export function handle() { function f() { f(); } f(); }',
        'export function handle() { let s = 0; for (let i = 0; i < 1e5; i++) s += i; return { public: String(s) }; }',
        'export function handle() { const a = []; for (let i = 0; i < 30000; i++) a.push({ i }); a.length = 0; return { public: "freed" }; }',
        'export function handle() { throw new Error("x"); }',
        TRIVIAL,
      ];
      for (const code of codes) {
        const outcome = await call(verifying, code, { limits: { gas: 5_000_000 } });
        expect(outcome).toBeDefined();
      }
      const stats = await verifying.stats();
      expect(stats.calls).toBe(codes.length);
      expect(stats.instances).toBe(1);
    } finally {
      await verifying.close();
    }
  });

  it('caps memory at the configured size', async () => {
    const small = await ContractEngine.start({ memoryBytes: 4 * 1024 * 1024 });
    try {
      const grab = (mib: number) =>
        `export function handle() { const k = []; for (let i = 0; i < ${mib * 16}; i++) k.push(new Uint8Array(65536)); return { public: 'ok' }; }`;
      expectOk(await call(small, grab(3)));
      expect(expectFailure(await call(small, grab(8))).error.code).toBe('OutOfMemory');
      expectOk(await call(engine, grab(8)));
    } finally {
      await small.close();
    }
  });
});

describe('contract engine: engine faults', () => {
  it('a call that outlives the watchdog ends as OutOfGas (a contract outcome) and a fresh thread takes over', async () => {
    // 20 ms for the default gas is 2 s for 2·10⁹, which interpretation takes a minute or more to use.
    const hasty = await ContractEngine.start({ callTimeoutMs: 20 });
    try {
      const slow = 'export function handle() { let x = 0; for (;;) x++; }';
      const timedOut = expectFailure(await call(hasty, slow, { limits: { gas: 2_000_000_000 } }));
      expect(timedOut.error.code).toBe('OutOfGas');
      expect(timedOut.gasUsed).toBe(2_000_000_000);
      const outcome = expectOk(
        await call(hasty, TRIVIAL, { input: Uint8Array.of(1), limits: { gas: 2_000_000_000 } }),
      );
      expect([...outcome.public]).toEqual([1]);
    } finally {
      await hasty.close();
    }
  });

  it('a closed engine refuses calls', async () => {
    const closing = await ContractEngine.start();
    await closing.close();
    await expect(call(closing, TRIVIAL)).rejects.toBeInstanceOf(EngineFailureError);
  });
});

describe('contract engine: throughput sanity', () => {
  it('runs a few hundred trivial calls with a fresh snapshot each', async () => {
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        call(engine, TRIVIAL, { input: Uint8Array.of(i & 0xff), randomSeed: SEED }),
      ),
    );
    const elapsed = performance.now() - started;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcomes.map((o) => (o.ok ? o.public[0] : -1))).toEqual(
      Array.from({ length: 300 }, (_, i) => i & 0xff),
    );
    expect(elapsed).toBeLessThan(30_000);
  });
});

describe('contract engine: caller errors', () => {
  it('a malformed state is refused as the caller’s error and the thread keeps its instance', async () => {
    const before = await engine.stats();
    await expect(call(engine, TRIVIAL, { state: Uint8Array.of(1, 2, 3) })).rejects.toThrow(
      /state: expected a canonical contract state/,
    );
    await stillServes();
    expect((await engine.stats()).instances).toBe(before.instances);
  });
});

import asc from 'assemblyscript/asc';
import { beforeAll, describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { Worker } from 'node:worker_threads';
import { BinaryWriter } from '../../../src/pruntime/wasm/binary-writer.js';
import { type WasmRefusalReason, WasmModuleRefusedError } from '../../../src/pruntime/wasm/errors.js';
import { HOST_FUNCTIONS } from '../../../src/pruntime/wasm/host-interface.js';
import { type InstrumentedModule, instrumentModule } from '../../../src/pruntime/wasm/instrument.js';
import { FUEL_PER_GAS, GAS_PER_PAGE, MAX_START_GAS, WASM_LIMITS } from '../../../src/pruntime/wasm/limits.js';

// The project compiles without the DOM lib: the few WebAssembly parts these tests use.
type Exports = Record<string, (...args: never[]) => unknown>;
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      validate(bytes: Uint8Array): boolean;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (
        module: object,
        imports: Record<string, Record<string, unknown>>,
      ) => { exports: Exports };
      RuntimeError: new () => Error;
    };
  }
).WebAssembly;

const CAP = 512; // pages: the engine's default 32 MiB
let wabt: Awaited<ReturnType<typeof wabtInit>>;
beforeAll(async () => {
  wabt = await wabtInit();
});

const features = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  multi_memory: true,
  memory64: true,
};

function wat(text: string): Uint8Array {
  const module = wabt.parseWat('test.wat', text, features);
  try {
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

function instrument(bytes: Uint8Array, maxMemoryPages = CAP): InstrumentedModule {
  return instrumentModule(bytes, { maxMemoryPages });
}

function refusal(bytes: Uint8Array, maxMemoryPages = CAP): WasmModuleRefusedError {
  try {
    instrument(bytes, maxMemoryPages);
  } catch (error) {
    if (error instanceof WasmModuleRefusedError) return error;
    throw error;
  }
  throw new Error('the module was accepted');
}

/** A host import table with every host function (no-ops): modules importing them can link. */
const phala = Object.fromEntries(Object.keys(HOST_FUNCTIONS).map((name) => [name, () => 0]));

function instantiate(module: InstrumentedModule): Exports {
  return new Wasm.Instance(new Wasm.Module(module.bytes), { phala }).exports;
}

/** Calls `name` with `fuel` and returns the fuel it used (or throws what the call threw). */
function fuelOf(exports: Exports, name: string, args: unknown[] = [], fuel = 1_000_000n) {
  (exports.__pb_reset as (f: bigint) => void)(fuel);
  const value = (exports[name] as (...a: unknown[]) => unknown)(...args);
  return { value, used: fuel - (exports.__pb_fuel_get as () => bigint)() };
}

const MEMORY = '(memory (export "memory") 1)';

const many = (n: number, text: string) => Array.from({ length: n }, () => text).join(' ');

describe('refusals', () => {
  const cases: { name: string; module: () => Uint8Array; reason: WasmRefusalReason; names?: string }[] = [
    {
      name: 'an import outside "phala"',
      module: () => wat(`(module (import "env" "foo" (func)) ${MEMORY})`),
      reason: 'import-not-allowed',
      names: 'env.foo',
    },
    {
      name: 'a "phala" function that is not a host function',
      module: () => wat(`(module (import "phala" "clock" (func (result i64))) ${MEMORY})`),
      reason: 'import-not-allowed',
      names: 'phala.clock',
    },
    {
      name: 'a host function with another signature',
      module: () => wat(`(module (import "phala" "input" (func (param i32) (result i32))) ${MEMORY})`),
      reason: 'import-not-allowed',
      names: 'phala.input',
    },
    {
      name: 'a memory import',
      module: () => wat('(module (import "phala" "memory" (memory 1)) (export "memory" (memory 0)))'),
      reason: 'import-not-allowed',
      names: 'phala.memory',
    },
    {
      name: 'a global import',
      module: () => wat(`(module (import "phala" "g" (global i32)) ${MEMORY})`),
      reason: 'import-not-allowed',
      names: 'phala.g',
    },
    {
      name: 'a shared memory',
      module: () => wat('(module (memory (export "memory") 1 1 shared))'),
      reason: 'threads',
    },
    {
      name: 'an atomic instruction',
      module: () => wat(`(module ${MEMORY} (func (export "handle") i32.const 0 i32.atomic.load drop))`),
      reason: 'threads',
    },
    {
      name: 'a SIMD instruction',
      module: () => wat(`(module ${MEMORY} (func (export "handle") v128.const i32x4 1 2 3 4 drop))`),
      reason: 'simd',
    },
    {
      name: 'a v128 local',
      module: () => wat(`(module ${MEMORY} (func (export "handle") (local v128)))`),
      reason: 'simd',
    },
    {
      name: 'a reference-types instruction',
      module: () => wat(`(module ${MEMORY} (func (export "handle") ref.null func drop))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'table.size',
      module: () => wat(`(module ${MEMORY} (table 1 funcref) (func (export "handle") table.size 0 drop))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'an externref table',
      module: () => wat(`(module ${MEMORY} (table 1 externref))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'a passive data segment',
      module: () => wat(`(module ${MEMORY} (data "abc"))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'memory.init',
      module: () =>
        wat(
          `(module ${MEMORY} (data $d "abc") (func (export "handle") i32.const 0 i32.const 0 i32.const 1 memory.init $d))`,
        ),
      reason: 'unsupported-feature',
    },
    {
      name: 'a passive element segment',
      module: () => wat(`(module ${MEMORY} (table 1 funcref) (func $f) (elem func $f))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'two memories',
      module: () => wat('(module (memory (export "memory") 1) (memory 1))'),
      reason: 'unsupported-feature',
    },
    {
      name: 'a 64-bit memory',
      module: () => wat('(module (memory (export "memory") i64 1))'),
      reason: 'unsupported-feature',
    },
    {
      name: 'a tail call',
      module: () => wat(`(module ${MEMORY} (func $f (export "handle") return_call $f))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'exceptions',
      module: () => wat(`(module ${MEMORY} (tag $e) (func (export "handle") throw $e))`),
      reason: 'unsupported-feature',
    },
    {
      name: 'an export named __pb_…',
      module: () => wat(`(module ${MEMORY} (func (export "__pb_reset")))`),
      reason: 'reserved-export',
      names: '__pb_reset',
    },
    { name: 'no memory', module: () => wat('(module (func (export "handle")))'), reason: 'no-memory-export' },
    {
      name: 'a memory not exported as "memory"',
      module: () => wat('(module (memory (export "mem") 1))'),
      reason: 'no-memory-export',
    },
    {
      name: 'an initial memory past the cap',
      module: () => wat(`(module (memory (export "memory") ${CAP + 1}))`),
      reason: 'memory-too-large',
    },
    {
      name: 'a huge table',
      module: () => wat(`(module ${MEMORY} (table ${WASM_LIMITS.tableEntries + 1} funcref))`),
      reason: 'table-too-large',
    },
    {
      name: 'too many globals',
      module: () => wat(`(module ${MEMORY} ${many(WASM_LIMITS.globals + 1, '(global i32 (i32.const 0))')})`),
      reason: 'too-many-globals',
    },
    {
      name: 'too many locals',
      module: () =>
        wat(`(module ${MEMORY} (func (local ${many(WASM_LIMITS.localsPerFunction + 1, 'i32')})))`),
      reason: 'too-many-locals',
    },
    {
      name: 'too many locals with parameters',
      module: () =>
        wat(
          `(module ${MEMORY} (func (param i32 i32) (local ${many(WASM_LIMITS.localsPerFunction - 1, 'i64')})))`,
        ),
      reason: 'too-many-locals',
    },
    {
      name: 'a function body past the limit',
      module: () =>
        wat(`(module ${MEMORY} (func ${many(WASM_LIMITS.functionBodyBytes / 3 + 1, 'i32.const 1 drop')}))`),
      reason: 'function-too-large',
    },
    {
      name: 'too many functions',
      module: () => manyFunctions(WASM_LIMITS.functions + 1),
      reason: 'too-many-functions',
    },
    {
      name: 'bytes that are not WebAssembly',
      module: () => new TextEncoder().encode('export function handle() {}'),
      reason: 'malformed',
    },
    {
      name: 'a truncated module',
      module: () => wat(`(module ${MEMORY} (func (export "handle")))`).subarray(0, 30),
      reason: 'malformed',
    },
    {
      name: 'a body that does not type-check',
      module: () => wat(`(module ${MEMORY} (func (export "handle") (result i32)))`),
      reason: 'malformed',
    },
    {
      name: 'handle with parameters',
      module: () => wat(`(module ${MEMORY} (func (export "handle") (param i32)))`),
      reason: 'malformed',
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}: ${c.reason}`, () => {
      const error = refusal(c.module());
      expect(error.reason).toBe(c.reason);
      expect(error.retry).toBe('never');
      expect(error.docsPath).toBe('/docs/wasm-host-interface.md#refusals');
      expect(error.shortMessage).toContain(c.reason);
      if (c.names) expect(error.shortMessage).toContain(c.names);
    });
  }

  it('refuses a 50 MB module before reading it, in well under 100 ms', () => {
    const bytes = new Uint8Array(50 * 1024 * 1024);
    bytes.set(wat(`(module ${MEMORY})`));
    const started = performance.now();
    const error = refusal(bytes);
    const elapsed = performance.now() - started;
    expect(error.reason).toBe('module-too-large');
    expect(error.shortMessage).toContain(String(WASM_LIMITS.moduleBytes));
    expect(elapsed).toBeLessThan(100);
  });

  it('refuses damaged modules by name, or instruments them into valid ones: nothing else', () => {
    const source = wat(`(module (import "phala" "log" (func $log (param i32 i32))) ${MEMORY}
      (table 2 funcref) (elem (i32.const 0) $a $b) (global $g (mut i64) (i64.const 7))
      (data (i32.const 8) "data")
      (func $a (param i32) (result i32 i32) local.get 0 i32.const 1 br_if 0 drop i32.const 2)
      (func $b (param f64) (result f64) local.get 0 f64.sqrt f64.const 1 f64.div)
      (func (export "handle") (local i32)
        block loop local.get 0 i32.const 1 i32.add local.tee 0 i32.const 9 i32.lt_u br_if 0 end end
        local.get 0 br_table 0 0
        i32.const 0 i32.const 0 i32.const 4 memory.copy
        i32.const 1 memory.grow drop
        i32.const 0 call $a i32.add i32.const 0 call_indirect (param i32) (result i32 i32) drop drop
        global.get $g i64.extend32_s global.set $g))`);
    let seed = 1;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const outcomes = new Set<string>();
    for (let k = 0; k < 3000; k++) {
      const damaged = Uint8Array.from(source);
      for (let f = 0; f <= random(3); f++) damaged[random(damaged.length)] = random(256);
      try {
        expect(Wasm.validate(instrument(damaged).bytes)).toBe(true);
        outcomes.add('instrumented');
      } catch (error) {
        expect(error).toBeInstanceOf(WasmModuleRefusedError);
        // Never the instrumenter's own fault: what it accepts, it rewrites into a valid module.
        expect((error as WasmModuleRefusedError).shortMessage).not.toContain('instrumented module');
        outcomes.add((error as WasmModuleRefusedError).reason);
      }
    }
    expect(outcomes).toContain('instrumented');
    expect(outcomes).toContain('malformed');
  });

  it('accepts the limits themselves', () => {
    const atLimits = wat(`(module ${MEMORY} (table ${WASM_LIMITS.tableEntries} funcref)
      ${many(WASM_LIMITS.globals, '(global i32 (i32.const 0))')}
      (func (param i32 i32) (local ${many(WASM_LIMITS.localsPerFunction - 2, 'i32')})))`);
    expect(Wasm.validate(instrument(atLimits).bytes)).toBe(true);
    expect(instrument(wat(`(module (memory (export "memory") ${CAP}))`)).memory).toEqual({
      initialPages: CAP,
      maxPages: CAP,
    });
  });

  it('accepts every host function with its own signature', () => {
    const imports = Object.entries(HOST_FUNCTIONS)
      .map(
        ([name, sig]) =>
          `(import "phala" "${name}" (func (param ${sig.params.join(' ')}) (result ${sig.results.join(' ')})))`,
      )
      .join('\n');
    const module = instrument(
      wat(`(module ${imports} ${MEMORY} (func (export "handle") i32.const 0 i32.const 0 call 0 drop))`),
    );
    expect(fuelOf(instantiate(module), 'handle').used).toBeGreaterThan(0n);
  });
});

/** A module of `n` empty functions, written directly (a WAT text of 100,001 functions is slow). */
function manyFunctions(n: number): Uint8Array {
  const out = new BinaryWriter().bytes(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  out.section(1, new BinaryWriter().u32(1).bytes(new Uint8Array([0x60, 0, 0])));
  const functions = new BinaryWriter().u32(n);
  const code = new BinaryWriter().u32(n);
  for (let i = 0; i < n; i++) {
    functions.u32(0);
    code.bytes(new Uint8Array([2, 0, 0x0b]));
  }
  out.section(3, functions);
  out.section(5, new BinaryWriter().u32(1).bytes(new Uint8Array([0, 1])));
  out.section(7, new BinaryWriter().u32(1).name('memory').byte(2).u32(0));
  out.section(10, code);
  return out.finish();
}

describe('instrumented modules', () => {
  it('charges each metered block its instruction count (counted by hand)', () => {
    // Metered blocks (`end` and `else` are free): [block loop] 2 once; [local.get i32.eqz br_if] 3
    // per test (n+1 times); [local.get … br] 9 per iteration; the loop's `end` after `br` never
    // runs, nor the block's `end` (left by br_if); [local.get end] 1.
    const module = instrument(
      wat(`(module ${MEMORY}
        (func (export "count") (param $n i32) (result i32) (local $s i32)
          block $out
            loop $top
              local.get $n i32.eqz br_if $out
              local.get $s i32.const 3 i32.add local.set $s
              local.get $n i32.const 1 i32.sub local.set $n
              br $top
            end
          end
          local.get $s))`),
    );
    const exports = instantiate(module);
    for (const n of [0, 1, 10, 1000]) {
      expect(fuelOf(exports, 'count', [n])).toEqual({ value: 3 * n, used: BigInt(6 + 12 * n) });
    }
  });

  it('charges only the branch an if takes', () => {
    // [local.get if] 2; then [i32.const else] 1, or else [i32.const i32.const i32.add end] 3;
    // after both: [end] 0.
    const module = instrument(
      wat(`(module ${MEMORY}
        (func (export "pick") (param i32) (result i32)
          local.get 0 if (result i32) i32.const 7 else i32.const 8 i32.const 1 i32.add end))`),
    );
    const exports = instantiate(module);
    expect(fuelOf(exports, 'pick', [1])).toEqual({ value: 7, used: 3n });
    expect(fuelOf(exports, 'pick', [0])).toEqual({ value: 9, used: 5n });

    // Nested: [local.get if] 2, then [local.get if] 2 with [i32.const else] 1 or
    // [i32.const i32.const i32.add end] 3, then [else] 0; or else [… end] 5; [end] 0.
    const nested = instantiate(
      instrument(
        wat(`(module ${MEMORY}
          (func (export "nest") (param i32 i32) (result i32)
            local.get 0
            if (result i32)
              local.get 1 if (result i32) i32.const 1 else i32.const 2 i32.const 0 i32.add end
            else
              i32.const 3 i32.const 4 i32.add i32.const 5 i32.add
            end))`),
      ),
    );
    expect(fuelOf(nested, 'nest', [1, 1])).toEqual({ value: 1, used: 5n });
    expect(fuelOf(nested, 'nest', [1, 0])).toEqual({ value: 2, used: 7n });
    expect(fuelOf(nested, 'nest', [0, 0])).toEqual({ value: 12, used: 7n });
  });

  it('ends an endless loop with the fuel below zero', () => {
    const exports = instantiate(instrument(wat(`(module ${MEMORY} (func (export "handle") (loop br 0)))`)));
    expect(() => fuelOf(exports, 'handle', [], 100_000n)).toThrow(Wasm.RuntimeError);
    expect((exports.__pb_fuel_get as () => bigint)()).toBeLessThan(0n);
  });

  it('stops recursion past the call-depth limit, and counts back down on return', () => {
    const exports = instantiate(
      instrument(
        wat(`(module ${MEMORY}
          (func $down (export "down") (param i32)
            local.get 0 if local.get 0 i32.const 1 i32.sub call $down end)
          (func $forever (export "handle") call $forever)
          (func $early (export "early") (param i32) (result i32)
            local.get 0 if i32.const 1 return end
            block i32.const 2 br 1 end unreachable))`),
      ),
    );
    const depth = exports.__pb_depth as () => number;
    fuelOf(exports, 'down', [WASM_LIMITS.callDepth - 1]); // exactly callDepth frames
    expect(depth()).toBe(0);
    expect(fuelOf(exports, 'early', [1]).value).toBe(1); // return
    expect(fuelOf(exports, 'early', [0]).value).toBe(2); // br to the function's label
    expect(depth()).toBe(0);
    expect(() => fuelOf(exports, 'down', [WASM_LIMITS.callDepth])).toThrow(Wasm.RuntimeError);
    expect(depth()).toBeGreaterThan(WASM_LIMITS.callDepth);
    expect(() => fuelOf(exports, 'handle', [], 10n ** 12n)).toThrow(Wasm.RuntimeError);
    expect(depth()).toBeGreaterThan(WASM_LIMITS.callDepth);
    (exports.__pb_reset as (f: bigint) => void)(1n);
    expect(depth()).toBe(0);
  });

  it('counts large frames as several, so the depth limit fires before V8 runs out of stack', async () => {
    // The engine threads' stack (src/pruntime/engine/engine.ts THREAD_STACK_MB).
    const stackSizeMb = 64;
    const deepest = {
      locals: `(func $f (export "handle") (local ${many(WASM_LIMITS.localsPerFunction, 'f64')}) call $f)`,
      operands: `(func $f (export "handle") ${many(80_000, 'i64.const 1')} call $f ${many(80_000, 'drop')})`,
    };
    for (const [name, func] of Object.entries(deepest)) {
      const module = instrument(wat(`(module ${MEMORY} ${func})`));
      const worker = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
        const exports = new WebAssembly.Instance(new WebAssembly.Module(workerData), {}).exports;
        exports.__pb_reset(10n ** 15n);
        let error;
        try { exports.handle(); } catch (e) { error = e.constructor.name; }
        parentPort.postMessage({ error, depth: exports.__pb_depth() });`,
        { eval: true, workerData: module.bytes, resourceLimits: { stackSizeMb } },
      );
      try {
        const outcome = await new Promise((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        expect({ name, outcome }).toEqual({
          name,
          outcome: {
            error: 'RuntimeError',
            depth: expect.toSatisfy((d: number) => d > WASM_LIMITS.callDepth),
          },
        });
      } finally {
        await worker.terminate();
      }
    }
  });

  it('lowers the declared maximum memory to the cap; memory.grow past it returns -1 and sets oom', () => {
    const module = instrument(
      wat(`(module (memory (export "memory") 1 100)
        (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))`),
      4,
    );
    expect(module.memory).toEqual({ initialPages: 1, maxPages: 4 });
    const exports = instantiate(module);
    const oom = exports.__pb_oom as () => number;
    const perPage = BigInt(GAS_PER_PAGE * FUEL_PER_GAS);
    // [local.get memory.grow end] 2 instructions, then the pages asked for.
    expect(fuelOf(exports, 'grow', [3], 10n ** 9n)).toEqual({ value: 1, used: 2n + 3n * perPage });
    expect(oom()).toBe(0);
    expect(fuelOf(exports, 'grow', [1], 10n ** 9n)).toEqual({ value: -1, used: 2n + perPage });
    expect(oom()).toBe(1);
    expect(() => fuelOf(exports, 'grow', [5], perPage)).toThrow(Wasm.RuntimeError);
    (exports.__pb_reset as (f: bigint) => void)(1n);
    expect(oom()).toBe(0);
  });

  it('charges memory.fill and memory.copy one fuel per 8 bytes, rounded up', () => {
    const exports = instantiate(
      instrument(
        wat(`(module ${MEMORY}
          (func (export "fill") (param i32) i32.const 0 i32.const 7 local.get 0 memory.fill)
          (func (export "copy") (param i32) i32.const 100 i32.const 0 local.get 0 memory.copy))`),
      ),
    );
    // 4 instructions, then ceil(len / 8).
    for (const [len, bulk] of [
      [0, 0],
      [1, 1],
      [8, 1],
      [9, 2],
      [65_000, 8_125],
    ] as const) {
      expect(fuelOf(exports, 'fill', [len]).used).toBe(BigInt(4 + bulk));
      expect(fuelOf(exports, 'copy', [len]).used).toBe(BigInt(4 + bulk));
    }
  });

  it('replaces NaN float results by the canonical NaN', () => {
    const exports = instantiate(
      instrument(
        wat(`(module ${MEMORY}
          (func (export "div32") (param f32 f32) (result i32) local.get 0 local.get 1 f32.div i32.reinterpret_f32)
          (func (export "div64") (param f64 f64) (result i64) local.get 0 local.get 1 f64.div i64.reinterpret_f64)
          (func (export "sqrt64") (param f64) (result i64) local.get 0 f64.sqrt i64.reinterpret_f64)
          (func (export "demote") (param i64) (result i32) local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
          (func (export "add32") (param f32 f32) (result f32) local.get 0 local.get 1 f32.add)
          (func (export "min64") (param f64 f64) (result f64) local.get 0 local.get 1 f64.min))`),
      ),
    );
    const call = (name: string, ...args: unknown[]) => fuelOf(exports, name, args).value;
    expect(call('div32', 0, 0)).toBe(0x7fc00000);
    expect(call('div64', 0, 0)).toBe(0x7ff8000000000000n);
    expect(call('sqrt64', -1)).toBe(0x7ff8000000000000n);
    expect(call('demote', 0xfff4000000000001n)).toBe(0x7fc00000); // a signalling NaN with a payload
    expect(call('add32', 1.5, 2.25)).toBe(3.75);
    expect(call('min64', -0, 0)).toBe(-0);
    expect(call('div64', 1, 0)).toBe(0x7ff0000000000000n); // infinity is not touched
  });

  it('handles multi-value functions and blocks', () => {
    const exports = instantiate(
      instrument(
        wat(`(module ${MEMORY}
          (func $pair (export "pair") (param i32) (result i32 i32)
            local.get 0 i32.const 1 local.get 0 br_if 0 drop i32.const 2)
          (func (export "sum") (param i32) (result i32)
            local.get 0 call $pair
            block (param i32 i32) (result i32) i32.add end))`),
      ),
    );
    expect(fuelOf(exports, 'pair', [5]).value).toEqual([5, 1]);
    expect(fuelOf(exports, 'sum', [0]).value).toBe(2);
    expect(fuelOf(exports, 'sum', [4]).value).toBe(5);
    expect((exports.__pb_depth as () => number)()).toBe(0);
  });

  it('keeps control flow: if with parameters, br_table, branches to the function label, dead code, tables', () => {
    const logged: number[] = [];
    const module = instrument(
      wat(`(module (import "phala" "log" (func $log (param i32 i32))) ${MEMORY}
        (table 2 funcref) (elem (i32.const 0) $one $two)
        (func $one (result i32) i32.const 1)
        (func $two (result i32) i32.const 2)
        (func $id (param i32) (result i32) local.get 0)
        (func (export "ifp") (param i32) (result i32)
          i32.const 10 local.get 0
          if (param i32) (result i32) i32.const 1 i32.add else i32.const 2 i32.sub end)
        (func (export "sw") (param i32) (result i32)
          block block block local.get 0 br_table 0 1 2 2 end i32.const 10 return end
          i32.const 20 return end i32.const 30)
        (func (export "brf") (param i32) (result i32) i32.const 7 call $id local.get 0 br_table 0 0)
        (func (export "dead") (result i32) i32.const 1 return block i32.const 2 drop end i32.const 3)
        (func (export "ind") (param i32) (result i32) local.get 0 call_indirect (result i32))
        (func (export "leaf") (param i32) local.get 0 i32.const 1 call $log))`),
    );
    const exports = new Wasm.Instance(new Wasm.Module(module.bytes), {
      phala: { ...phala, log: (ptr: number, len: number) => logged.push(ptr, len) },
    }).exports;
    const call = (name: string, ...args: unknown[]) => fuelOf(exports, name, args).value;
    expect([call('ifp', 1), call('ifp', 0)]).toEqual([11, 8]);
    expect([0, 1, 2, 99].map((n) => call('sw', n))).toEqual([10, 20, 30, 30]);
    expect([call('brf', 0), call('brf', 5)]).toEqual([7, 7]);
    expect(call('dead')).toBe(1);
    expect([call('ind', 0), call('ind', 1)]).toEqual([1, 2]);
    call('leaf', 42);
    expect(logged).toEqual([42, 1]);
    expect((exports.__pb_depth as () => number)()).toBe(0);
  });

  it('exports accessors for every mutable global, typed like it', () => {
    const module = instrument(
      wat(`(module ${MEMORY}
        (global $a (mut i32) (i32.const 5)) (global $c i64 (i64.const 1)) (global $b (mut f64) (f64.const 0.5))
        (global $e (export "e") (mut i64) (i64.const 9))
        (func (export "handle") i32.const 6 global.set $a))`),
    );
    expect(module.globals).toEqual([
      { get: '__pb_gget_0', set: '__pb_gset_0' },
      { get: '__pb_gget_2', set: '__pb_gset_2' },
      { get: '__pb_gget_3', set: '__pb_gset_3' },
    ]);
    const exports = instantiate(module);
    fuelOf(exports, 'handle');
    expect((exports.__pb_gget_0 as () => number)()).toBe(6);
    (exports.__pb_gset_0 as (v: number) => void)(5);
    expect((exports.__pb_gget_0 as () => number)()).toBe(5);
    expect((exports.__pb_gget_2 as () => number)()).toBe(0.5);
    (exports.__pb_gset_3 as (v: bigint) => void)(10n);
    expect((exports.__pb_gget_3 as () => bigint)()).toBe(10n);
  });

  it('runs the start function from MAX_START_GAS and traps one that loops', () => {
    const module = instrument(
      wat(`(module ${MEMORY} (global $g (mut i32) (i32.const 0))
        (func $init i32.const 1 global.set $g) (start $init) (func (export "handle")))`),
    );
    expect(module.hasStart).toBe(true);
    expect(module.exports).toEqual({ handle: true, query: false });
    const exports = instantiate(module);
    expect((exports.__pb_fuel_get as () => bigint)()).toBe(BigInt(MAX_START_GAS * FUEL_PER_GAS - 2));
    expect((exports.__pb_gget_0 as () => number)()).toBe(1);

    const looping = instrument(wat(`(module ${MEMORY} (func $init (loop br 0)) (start $init))`));
    expect(() => instantiate(looping)).toThrow(Wasm.RuntimeError);
  });

  it('gives byte-identical output for the same module, and keeps valid modules valid', () => {
    const source = wat(
      `(module ${MEMORY} (func (export "query") (param) (local f32) local.get 0 f32.sqrt drop))`,
    );
    const a = instrument(source);
    const b = instrument(Uint8Array.from(source));
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.exports).toEqual({ handle: false, query: true });
    expect(Wasm.validate(a.bytes)).toBe(true);
  });

  it('instruments and runs an AssemblyScript module', async () => {
    const source = `
      let total: f64 = 0;
      export function compute(n: i32): f64 {
        const values = new Array<f64>(n);
        for (let i = 0; i < n; i++) values[i] = Math.sqrt(<f64>i) / 3.0;
        let sum: f64 = 0;
        for (let i = 0; i < n; i++) sum += values[i];
        total += sum;
        return sum;
      }
      export function handle(): void { compute(100); }`;
    const compiled = await asc.compileString(
      { 'contract.ts': source },
      { optimizeLevel: 3, runtime: 'stub', use: ['abort='] },
    );
    expect(compiled.error).toBeNull();
    const module = instrument(compiled.binary!);
    const exports = instantiate(module);
    let expected = 0;
    for (let i = 0; i < 1000; i++) expected += Math.sqrt(i) / 3;
    const { value, used } = fuelOf(exports, 'compute', [1000], 10n ** 9n);
    expect(value).toBeCloseTo(expected, 9);
    expect(used).toBeGreaterThan(10_000n); // two loops of 1000 iterations, several instructions each
    // A fresh instance does the same work for the same fuel (the first call grows the memory).
    expect(fuelOf(instantiate(module), 'compute', [1000], 10n ** 9n).used).toBe(used);
    expect(used).toBeGreaterThan(BigInt(GAS_PER_PAGE * FUEL_PER_GAS));
    expect(module.globals.length).toBeGreaterThan(0); // the allocator's and `total`
  });
});

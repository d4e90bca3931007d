import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/base/bytes.js';
import { ContractEngine } from '../../../src/pruntime/engine/engine.js';
import { defaultCallLimits } from '../../../src/pruntime/engine/limits.js';
import { expectFailure, expectOk, text } from '../helpers.js';
import { IMPORTS, callWasm, handleDoing, wat } from './engine-helpers.js';

const ECHO = `(module ${IMPORTS}
  (memory (export "memory") 1)
  (func (export "handle")
    (call $output (i32.const 0) (call $input (i32.const 0) (i32.const 1024)) (i32.const 0) (i32.const 0))))`;

let engine: ContractEngine;
let echo: Uint8Array;

beforeAll(async () => {
  // The wall-clock watchdog is tested below with an engine of its own. Under a loaded CI machine
  // its default 5 s ended the endless loop before its gas did, and the thread it replaced was
  // slow to answer next: these tests are about gas and the one thread going on.
  engine = await ContractEngine.start({ callTimeoutMs: 60_000 });
  echo = await wat(ECHO);
});
afterAll(async () => {
  await engine?.close();
});

/**
 * The engine answers a trivial call at once after a hostile one: well within 2 s, where a loop
 * still running would hold the thread until the watchdog (60 s here).
 */
async function answersPromptly() {
  const started = performance.now();
  const outcome = expectOk(await callWasm(engine, echo, { input: utf8('still here') }));
  expect(text(outcome.public)).toBe('still here');
  expect(performance.now() - started).toBeLessThan(2_000);
}

async function refusalOf(module: Uint8Array) {
  const failure = expectFailure(await callWasm(engine, module));
  expect(failure.error.code).toBe('InvalidContract');
  return failure.error.message;
}

describe('hostile WebAssembly modules, against a real engine thread', () => {
  it('an endless loop ends OutOfGas with the whole budget used, and the engine answers the next call', async () => {
    const loop = await wat(handleDoing('(loop $forever (br $forever))'));
    for (const gas of [5_000_000, undefined]) {
      const outcome = expectFailure(await callWasm(engine, loop, { limits: { gas } }));
      expect(outcome.error.code).toBe('OutOfGas');
      expect(outcome.gasUsed).toBe(gas ?? defaultCallLimits.gas);
      await answersPromptly();
    }
  });

  it("the engine's wall-clock watchdog ends a WebAssembly call too, and a fresh thread answers next", async () => {
    const impatient = await ContractEngine.start({ callTimeoutMs: 150 });
    try {
      const loop = await wat(handleDoing('(loop $forever (br $forever))'));
      const outcome = expectFailure(await callWasm(impatient, loop));
      expect(outcome.error.code).toBe('OutOfGas');
      expect(outcome.error.message).toContain('wall-clock');
      expect(outcome.gasUsed).toBe(defaultCallLimits.gas);
      const next = expectOk(await callWasm(impatient, echo, { input: utf8('after') }));
      expect(text(next.public)).toBe('after');
    } finally {
      await impatient.close();
    }
  });

  it('a loop in the start function is refused: start-out-of-gas, and stays refused', async () => {
    const module = await wat(handleDoing('', '(func $start (loop $forever (br $forever))) (start $start)'));
    expect(await refusalOf(module)).toMatch(/^wasm module refused \(start-out-of-gas\): /);
    const started = performance.now();
    expect(await refusalOf(module)).toMatch(/start-out-of-gas/);
    expect(performance.now() - started).toBeLessThan(500);
    await answersPromptly();
  });

  it('a start function that traps is refused: start-trapped', async () => {
    const module = await wat(handleDoing('', '(func $start unreachable) (start $start)'));
    expect(await refusalOf(module)).toMatch(/^wasm module refused \(start-trapped\): /);
    // No call exists yet: a start function calling the host is refused the same way.
    const calling = await wat(
      handleDoing('', '(func $start (call $log (i32.const 0) (i32.const 1))) (start $start)'),
    );
    expect(await refusalOf(calling)).toMatch(/^wasm module refused \(start-trapped\): .*phala\.log/);
  });

  it('memory.grow to the maximum and then a trap ends OutOfMemory', async () => {
    const module = await wat(
      handleDoing(
        `(block $full (loop $more
          (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
          (br $more)))
        unreachable`,
      ),
    );
    const outcome = expectFailure(await callWasm(engine, module));
    expect(outcome.error.code).toBe('OutOfMemory');
    // An allocator that aborts through fail once refused memory ends the same way.
    const aborting = await wat(
      handleDoing(`(drop (memory.grow (i32.const 600))) (call $fail (i32.const 0) (i32.const 3))`),
    );
    expect(expectFailure(await callWasm(engine, aborting)).error.code).toBe('OutOfMemory');
    await answersPromptly();
  });

  it('deep recursion ends StackOverflow', async () => {
    const module = await wat(
      handleDoing(
        '(call $down (i32.const 0))',
        '(func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))',
      ),
    );
    const outcome = expectFailure(await callWasm(engine, module));
    expect(outcome.error.code).toBe('StackOverflow');
    await answersPromptly();
  });

  it('refuses a huge table, an import outside the host interface and a wrong host signature, by name', async () => {
    expect(await refusalOf(await wat(handleDoing('', '(table 1000000 funcref)')))).toMatch(
      /^wasm module refused \(table-too-large\)/,
    );
    const foreign = await wat(
      `(module (import "env" "foo" (func)) (memory (export "memory") 1) (func (export "handle")))`,
    );
    expect(await refusalOf(foreign)).toMatch(/^wasm module refused \(import-not-allowed\): .*env\.foo/);
    const wrong = await wat(
      `(module (import "phala" "input" (func (param i32))) (memory (export "memory") 1) (func (export "handle")))`,
    );
    expect(await refusalOf(wrong)).toMatch(/import-not-allowed/);
    await answersPromptly();
  });

  it('refuses a 50 MB module as module-too-large, quickly', async () => {
    const huge = new Uint8Array(50 * 1024 * 1024);
    huge.set(echo);
    const started = performance.now();
    expect(await refusalOf(huge)).toMatch(/^wasm module refused \(module-too-large\)/);
    // Refused before the bytes are copied to a thread (that copy alone takes about 0.5 s).
    expect(performance.now() - started).toBeLessThan(250);
    await answersPromptly();
  });

  it('float NaN tricks give canonical NaN bits, identical on every run', async () => {
    // Each result is stored as its raw bits: 0/0, sqrt(-1), arithmetic on a NaN with a payload,
    // min with a NaN, promote and demote of payload NaNs; and bit moves, which stay as they are.
    const module = await wat(
      handleDoing(
        `(i32.store (i32.const 0) (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
        (i64.store (i32.const 4) (i64.reinterpret_f64 (f64.sqrt (f64.const -1))))
        (i64.store (i32.const 12) (i64.reinterpret_f64
          (f64.add (f64.reinterpret_i64 (i64.const 0x7ff4000000000001)) (f64.const 1))))
        (i32.store (i32.const 20) (i32.reinterpret_f32
          (f32.min (f32.reinterpret_i32 (i32.const 0xffc12345)) (f32.const 1))))
        (i64.store (i32.const 24) (i64.reinterpret_f64
          (f64.promote_f32 (f32.reinterpret_i32 (i32.const 0x7fa00001)))))
        (i32.store (i32.const 32) (i32.reinterpret_f32
          (f32.demote_f64 (f64.reinterpret_i64 (i64.const 0xfff0000000000abc)))))
        (i64.store (i32.const 36) (i64.reinterpret_f64 (f64.mul (f64.const -inf) (f64.const 0))))
        (i64.store (i32.const 44) (i64.reinterpret_f64 (f64.neg (f64.reinterpret_i64 (i64.const 0x7ff0000000000123)))))
        (call $output (i32.const 0) (i32.const 52) (i32.const 0) (i32.const 0))
        return`,
      ),
    );
    const bits = (bytes: Uint8Array) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const f32 = (at: number) => view.getUint32(at, true).toString(16);
      const f64 = (at: number) => view.getBigUint64(at, true).toString(16);
      return [f32(0), f64(4), f64(12), f32(20), f64(24), f32(32), f64(36), f64(44)];
    };
    const first = expectOk(await callWasm(engine, module));
    const second = expectOk(await callWasm(engine, module));
    expect(bits(first.public)).toEqual([
      '7fc00000',
      '7ff8000000000000',
      '7ff8000000000000',
      '7fc00000',
      '7ff8000000000000',
      '7fc00000',
      '7ff8000000000000',
      'fff0000000000123', // neg flips the sign bit only: deterministic, left alone
    ]);
    expect(second).toEqual(first);
  });
});

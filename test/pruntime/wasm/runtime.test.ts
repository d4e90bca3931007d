import { blake2b } from '@noble/hashes/blake2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../src/base/bytes.js';
import { ContractEngine } from '../../../src/pruntime/engine/engine.js';
import { GAS_PER_CALL } from '../../../src/pruntime/engine/sandbox.js';
import { ContractState } from '../../../src/pruntime/engine/state.js';
import { REQUEST_ID, call, expectFailure, expectOk, text } from '../helpers.js';
import { IMPORTS, callWasm, wat } from './engine-helpers.js';

/** Says hello to its input and remembers it; its query answers from the state. */
const GREETER = `(module ${IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 0) "hello, ")
  (data (i32.const 32) "name")
  (func (export "handle")
    (local $n i32)
    (local.set $n (call $input (i32.const 7) (i32.const 1000)))
    (call $state_set (i32.const 32) (i32.const 4) (i32.const 7) (local.get $n))
    (call $output (i32.const 0) (i32.add (i32.const 7) (local.get $n)) (i32.const 0) (i32.const 0)))
  (func (export "query")
    (local $n i32)
    (local.set $n (call $state_get (i32.const 32) (i32.const 4) (i32.const 7) (i32.const 1000)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (local.set $n (i32.const 0))))
    (call $output (i32.const 0) (i32.const 0) (i32.const 0) (i32.add (i32.const 7) (local.get $n)))))`;

/**
 * Every host function behind one \`handle\`: input byte 0 picks the operation, the rest is its
 * argument; input is read to 4096, outputs are built at 65536.
 */
const PROBE = `(module ${IMPORTS}
  (memory (export "memory") 3)
  (global $g (mut i32) (i32.const 5))
  (global $h (mut i64) (i64.const 7))
  (data (i32.const 100) "\\2a")
  (func $arg (result i32) (i32.load8_u (i32.const 4097)))
  (func $u32 (result i32) (i32.load (i32.const 4097)))
  (func $out (param $ptr i32) (param $len i32)
    (call $output (local.get $ptr) (local.get $len) (i32.const 0) (i32.const 0)))
  (func (export "handle")
    (local $n i32) (local $op i32) (local $len i32) (local $i i32) (local $acc i32)
    (local.set $n (call $input (i32.const 4096) (i32.const 61440)))
    (local.set $op (i32.load8_u (i32.const 4096)))
    ;; 0: context field [1] -> public
    (if (i32.eq (local.get $op) (i32.const 0)) (then
      (local.set $len (call $context (call $arg) (i32.const 65536) (i32.const 4096)))
      (if (i32.lt_s (local.get $len) (i32.const 0)) (then (i32.store8 (i32.const 65536) (i32.const 0xee)) (local.set $len (i32.const 1))))
      (call $out (i32.const 65536) (local.get $len)) (return)))
    ;; 1: hash with algorithm [1] of [2..] -> public
    (if (i32.eq (local.get $op) (i32.const 1)) (then
      (call $hash (call $arg) (i32.const 4098) (i32.sub (local.get $n) (i32.const 2)) (i32.const 65536))
      (call $out (i32.const 65536) (i32.const 32)) (return)))
    ;; 2: u32 [1..5] random bytes -> public
    (if (i32.eq (local.get $op) (i32.const 2)) (then
      (call $random (i32.const 65536) (call $u32))
      (call $out (i32.const 65536) (call $u32)) (return)))
    ;; 3: set key of length [1] at [2..] to the rest
    (if (i32.eq (local.get $op) (i32.const 3)) (then
      (call $state_set (i32.const 4098) (call $arg) (i32.add (i32.const 4098) (call $arg))
        (i32.sub (local.get $n) (i32.add (i32.const 2) (call $arg))))
      (call $out (i32.const 0) (i32.const 0)) (return)))
    ;; 4: get key [1..] -> public (0xff alone when absent; its length first asked with cap 0)
    (if (i32.eq (local.get $op) (i32.const 4)) (then
      (local.set $len (call $state_get (i32.const 4097) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0) (i32.const 0)))
      (if (i32.lt_s (local.get $len) (i32.const 0)) (then
        (i32.store8 (i32.const 65536) (i32.const 0xff)) (call $out (i32.const 65536) (i32.const 1)) (return)))
      (drop (call $state_get (i32.const 4097) (i32.sub (local.get $n) (i32.const 1)) (i32.const 65536) (local.get $len)))
      (call $out (i32.const 65536) (local.get $len)) (return)))
    ;; 5: delete key [1..] -> public [deleted]
    (if (i32.eq (local.get $op) (i32.const 5)) (then
      (i32.store8 (i32.const 65536) (call $state_delete (i32.const 4097) (i32.sub (local.get $n) (i32.const 1))))
      (call $out (i32.const 65536) (i32.const 1)) (return)))
    ;; 6: log [1..], twice
    (if (i32.eq (local.get $op) (i32.const 6)) (then
      (call $log (i32.const 4097) (i32.sub (local.get $n) (i32.const 1)))
      (call $log (i32.const 4097) (i32.sub (local.get $n) (i32.const 1)))
      (call $out (i32.const 0) (i32.const 0)) (return)))
    ;; 7: fail with message [1..]
    (if (i32.eq (local.get $op) (i32.const 7)) (then
      (call $fail (i32.const 4097) (i32.sub (local.get $n) (i32.const 1))) (return)))
    ;; 8: public of u32 [1..5] bytes, sealed of the same
    (if (i32.eq (local.get $op) (i32.const 8)) (then
      (call $output (i32.const 65536) (call $u32) (i32.const 65536) (call $u32)) (return)))
    ;; 9: u32 [1..5] iterations of arithmetic -> public [acc]
    (if (i32.eq (local.get $op) (i32.const 9)) (then
      (local.set $i (call $u32))
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $next)))
      (i32.store (i32.const 65536) (local.get $acc))
      (call $out (i32.const 65536) (i32.const 4)) (return)))
    ;; 10: what is in memory byte 100, globals g and h, and memory size; then change them all
    (if (i32.eq (local.get $op) (i32.const 10)) (then
      (i32.store8 (i32.const 65536) (i32.load8_u (i32.const 100)))
      (i32.store8 (i32.const 65537) (global.get $g))
      (i32.store8 (i32.const 65538) (i32.wrap_i64 (global.get $h)))
      (i32.store8 (i32.const 65539) (memory.size))
      (i32.store8 (i32.const 65540) (i32.load8_u (i32.const 70000)))
      (i32.store8 (i32.const 100) (i32.const 99))
      (i32.store8 (i32.const 70000) (i32.const 98))
      (global.set $g (i32.const 77))
      (global.set $h (i64.const 88))
      (drop (memory.grow (call $arg)))
      (call $out (i32.const 65536) (i32.const 5)) (return)))
    ;; 11: read 8 bytes at u32 [1..5] into the output (an address past the memory)
    (if (i32.eq (local.get $op) (i32.const 11)) (then
      (call $out (call $u32) (i32.const 8)) (return)))
    (call $fail (i32.const 4096) (i32.const 1))))`;

let engine: ContractEngine;
let greeter: Uint8Array;
let probe: Uint8Array;

beforeAll(async () => {
  engine = await ContractEngine.start();
  greeter = await wat(GREETER);
  probe = await wat(PROBE);
});
afterAll(async () => {
  await engine?.close();
});

const u32le = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const op = (code: number, ...rest: (number | Uint8Array)[]) =>
  Uint8Array.from([code, ...rest.flatMap((r) => (typeof r === 'number' ? [r] : [...r]))]);
const run = (input: Uint8Array, extra = {}) => callWasm(engine, probe, { input, ...extra });

describe('WebAssembly contracts in a real engine thread', () => {
  it('answers a greeter-like contract: handle writes state, query reads it back sealed', async () => {
    const handled = expectOk(await callWasm(engine, greeter, { input: utf8('wasm') }));
    expect(text(handled.public)).toBe('hello, wasm');
    expect(handled.sealed.length).toBe(0);
    expect(handled.stateChanged).toBe(true);
    const entry = ContractState.parse(handled.state).get(utf8('name'));
    expect(entry && { type: entry.type, value: text(entry.value) }).toEqual({ type: 'bytes', value: 'wasm' });
    const answered = expectOk(await callWasm(engine, greeter, { kind: 'query', state: handled.state }));
    expect(answered.public.length).toBe(0);
    expect(text(answered.sealed)).toBe('hello, wasm');
    expect(answered.stateChanged).toBe(false);
    expect(answered.state).toEqual(handled.state);
  });

  it('gives every context field, for an EVM-style origin', async () => {
    const requester = `0x${'ab'.repeat(20)}`;
    const endUser = `0x${'cd'.repeat(20)}`;
    const contractId = `0x${'42'.repeat(32)}` as const;
    const origin = { requester, kind: 'evm', endUser, chainId: 31337, nested: { z: 1, a: [true, null] } };
    const field = async (n: number, extra = {}) =>
      expectOk(await run(op(0, n), { origin, contractId, blockNumber: 0x0102030405, ...extra })).public;
    expect(toHex(await field(0))).toBe(REQUEST_ID);
    expect(toHex(await field(1))).toBe(contractId);
    expect([...(await field(2))]).toEqual([0]);
    expect(toHex(await field(3))).toBe(requester);
    expect(toHex(await field(4))).toBe(endUser);
    expect([...(await field(5))]).toEqual([5, 4, 3, 2, 1, 0, 0, 0]);
    expect([...(await field(6))]).toEqual([0]);
    expect(text(await field(7))).toBe(
      `{"chainId":31337,"endUser":"${endUser}","kind":"evm","nested":{"a":[true,null],"z":1},"requester":"${requester}"}`,
    );
    expect([...(await field(8))]).toEqual([0xee]);
    // Without endUser, field 4 is the requester; other kinds; no origin at all.
    expect(toHex(await field(4, { origin: { kind: 'phala', requester } }))).toBe(requester);
    expect([...(await field(2, { origin: { kind: 'phala' } }))]).toEqual([1]);
    expect([...(await field(2, { origin: { kind: 'xcm' } }))]).toEqual([2]);
    expect([...(await field(2, { origin: null }))]).toEqual([255]);
    expect([...(await field(3, { origin: null }))]).toEqual([]);
    expect(toHex(await field(1, { contractId: undefined }))).toBe(`0x${'00'.repeat(32)}`);
  });

  it('hashes like @noble/hashes: blake2b-256, keccak-256, SHA-256; another algorithm throws', async () => {
    const data = utf8('the quick brown fox');
    const digest = async (alg: number) => toHex(expectOk(await run(op(1, alg, data))).public);
    expect(await digest(0)).toBe(toHex(blake2b(data, { dkLen: 32 })));
    expect(await digest(1)).toBe(toHex(keccak_256(data)));
    expect(await digest(2)).toBe(toHex(sha256(data)));
    const bad = expectFailure(await run(op(1, 3, data)));
    expect(bad.error.code).toBe('ContractThrew');
  });

  it('draws the same random bytes as a JavaScript contract given the same seed', async () => {
    const fromWasm = expectOk(await run(op(2, u32le(100)))).public;
    const fromJs = expectOk(
      await call(engine, 'export function handle(input, ctx) { return { public: ctx.random(100) }; }'),
    ).public;
    expect(fromWasm.length).toBe(100);
    expect(toHex(fromWasm)).toBe(toHex(fromJs));
    const other = expectOk(await run(op(2, u32le(100)), { randomSeed: new Uint8Array(32).fill(8) })).public;
    expect(toHex(other)).not.toBe(toHex(fromWasm));
    expect(expectFailure(await run(op(2, u32le(65_537)))).error.code).toBe('ContractThrew');
  });

  it('keeps state through the returned state: set, get, delete; read-only in a query', async () => {
    const set = expectOk(await run(op(3, 3, utf8('key'), utf8('value'))));
    expect(set.stateChanged).toBe(true);
    const got = expectOk(await run(op(4, utf8('key')), { state: set.state }));
    expect(text(got.public)).toBe('value');
    expect(got.stateChanged).toBe(false);
    expect([...expectOk(await run(op(4, utf8('nope')), { state: set.state })).public]).toEqual([0xff]);
    const deleted = expectOk(await run(op(5, utf8('key')), { state: set.state }));
    expect([...deleted.public]).toEqual([1]);
    expect(ContractState.parse(deleted.state).count).toBe(0);
    const again = expectOk(await run(op(5, utf8('key')), { state: deleted.state }));
    expect([...again.public]).toEqual([0]);
    expect(again.stateChanged).toBe(false);
    // The JavaScript engine reads the same state.
    const js = expectOk(
      await call(engine, `export function handle(i, ctx) { return { public: ctx.state.get('key') }; }`, {
        state: set.state,
      }),
    );
    expect(text(js.public)).toBe('value');
    const noQuery = expectFailure(await callWasm(engine, probe, { kind: 'query', input: op(3, 1, 1, 2) }));
    expect(noQuery.error).toEqual({
      code: 'InvalidContract',
      message: 'the module does not export a function named query',
    });
    const greeterQuerySet = await wat(
      GREETER.replace(
        '(local.set $n (call $state_get',
        '(call $state_set (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 1)) (local.set $n (call $state_get',
      ),
    );
    const q = expectFailure(await callWasm(engine, greeterQuerySet, { kind: 'query' }));
    expect(q.error.code).toBe('ContractThrew');
    expect(q.error.message).toContain('read-only');
  });

  it('logs lines, ends a call with fail as ContractThrew, and refuses ranges outside the memory', async () => {
    const logged = expectOk(await run(op(6, utf8('héllo'))));
    expect(logged.logs).toEqual(['héllo', 'héllo']);
    const limited = expectOk(await run(op(6, utf8('x'.repeat(30))), { limits: { logBytes: 40 } }));
    expect(limited.logs).toEqual(['x'.repeat(30), '… (log limit reached)']);
    const failed = expectFailure(await run(op(7, utf8('bid too low'))));
    expect(failed.error).toEqual({ code: 'ContractThrew', message: 'bid too low' });
    const outside = expectFailure(await run(op(11, u32le(3 * 65536 - 4))));
    expect(outside.error.code).toBe('ContractThrew');
    expect(outside.error.message).toContain('outside the memory');
  });

  it('resets memory and globals between calls, and never shares an instance across contracts', async () => {
    const pristine = [42, 5, 7, 3, 0];
    const first = expectOk(await run(op(10, 0)));
    expect([...first.public]).toEqual(pristine);
    const second = expectOk(await run(op(10, 0)));
    expect([...second.public]).toEqual(pristine);
    // Another contract deployed with the same code, and memory that grew in the call before.
    expect([...expectOk(await run(op(10, 2), { contractId: `0x${'01'.repeat(32)}` })).public]).toEqual(
      pristine,
    );
    expect([...expectOk(await run(op(10, 0), { contractId: `0x${'02'.repeat(32)}` })).public]).toEqual(
      pristine,
    );
    // A different module with its own instance: its writes never reach the probe's.
    const other = await wat(PROBE.replace('(data (i32.const 100) "\\2a")', '(data (i32.const 100) "\\2b")'));
    const before = (await engine.stats()).wasm;
    expect([...expectOk(await callWasm(engine, other, { input: op(10, 0) })).public]).toEqual([
      43, 5, 7, 3, 0,
    ]);
    expect([...expectOk(await run(op(10, 0))).public]).toEqual(pristine);
    expect([...expectOk(await callWasm(engine, other, { input: op(10, 0) })).public]).toEqual([
      43, 5, 7, 3, 0,
    ]);
    const after = (await engine.stats()).wasm;
    expect(after.moduleLoads - before.moduleLoads).toBe(1);
    expect(after.instances - before.instances).toBe(1);
  });

  it('is deterministic: the same call twice gives identical bytes, state and gas', async () => {
    const input = op(3, 1, 7, utf8('seven'));
    const a = expectOk(await run(input, { state: null }));
    const b = expectOk(await run(input, { state: null }));
    expect(b).toEqual(a);
    const r1 = expectOk(await run(op(2, u32le(64))));
    const fresh = await ContractEngine.start();
    try {
      const r2 = expectOk(await callWasm(fresh, probe, { input: op(2, u32le(64)) }));
      expect(r2).toEqual(r1);
    } finally {
      await fresh.close();
    }
  });

  it('charges gas that grows with the work done, and bytes moved by host calls', async () => {
    const small = expectOk(await run(op(9, u32le(1_000)))).gasUsed;
    const large = expectOk(await run(op(9, u32le(100_000)))).gasUsed;
    expect(small).toBeGreaterThan(GAS_PER_CALL);
    expect(large - small).toBeGreaterThan((99_000 * 8) / 100);
    const few = expectOk(await run(op(8, u32le(10)))).gasUsed;
    const many = expectOk(await run(op(8, u32le(10_010)))).gasUsed;
    expect(many - few).toBe(20_000);
    const outOfGas = expectFailure(await run(op(9, u32le(100_000)), { limits: { gas: small + 100 } }));
    expect(outOfGas).toMatchObject({ error: { code: 'OutOfGas' }, gasUsed: small + 100 });
  });

  it('holds the call limits: input, output and state', async () => {
    const input = expectFailure(await run(op(9, u32le(1)), { limits: { inputBytes: 4 } }));
    expect(input.error.code).toBe('InputTooLarge');
    const output = expectFailure(await run(op(8, u32le(101)), { limits: { outputBytes: 100 } }));
    expect(output.error.code).toBe('OutputTooLarge');
    expect(expectOk(await run(op(8, u32le(100)), { limits: { outputBytes: 100 } })).public.length).toBe(100);
    const state = expectFailure(await run(op(3, 1, 1, new Uint8Array(200)), { limits: { stateBytes: 100 } }));
    expect(state.error.code).toBe('StateTooLarge');
    const noOutput = expectFailure(
      await callWasm(engine, await wat(`(module (memory (export "memory") 1) (func (export "handle")))`)),
    );
    expect(noOutput.error.code).toBe('InvalidResult');
  });
});

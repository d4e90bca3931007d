import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RELEASE_SYNC, newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten';
import { type Hex, fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { sealEnvelope } from '../../src/crypto/envelope.js';
import { requestContext } from '../../src/crypto/envelope-context.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { Enclave, SimPlatform } from '../../src/pruntime/enclave/index.js';
import { ContractEngine, type RunContractParameters } from '../../src/pruntime/engine/engine.js';
import { defaultCallLimits, defaultEngineLimits } from '../../src/pruntime/engine/limits.js';
import { PRELUDE_SOURCE } from '../../src/pruntime/engine/prelude.js';
import { Sandbox } from '../../src/pruntime/engine/sandbox.js';
import type { BenchReport } from '../index.js';
import { BENCH_WASM, trivialWasmInput, wasmFigures } from '../wasm/figures.js';

export const name = 'pruntime';

const TRIVIAL = 'export function handle(input) { return { public: input }; }';
const LOOP_AND_WRITE = `export function handle(input, ctx) {
  let s = 0;
  for (let i = 0; i < 10000; i++) s = (s + i * input.length) % 1000003;
  ctx.state.set('s', String(s));
  return { public: String(s) };
}`;
const REQUEST_ID = `0x${'11'.repeat(32)}` as Hex;
const SEED = new Uint8Array(32).fill(1);

/** Calls per second: one at a time (latency-bound), and with `depth` calls in flight. */
async function measure(
  engine: ContractEngine,
  code: string | Uint8Array,
  count: number,
  depth: number,
  input: (i: number) => Uint8Array = (i) => Uint8Array.of(i & 0xff, 1, 2),
) {
  const params = (i: number): RunContractParameters => ({
    code,
    input: input(i),
    requestId: REQUEST_ID,
    randomSeed: SEED,
  });
  for (let i = 0; i < 50; i++) await engine.run(params(i));
  let started = performance.now();
  for (let i = 0; i < count; i++) {
    const outcome = await engine.run(params(i));
    if (!outcome.ok) throw new Error(`bench contract failed: ${outcome.error.code}`);
  }
  const sequential = count / ((performance.now() - started) / 1000);
  started = performance.now();
  let next = 0;
  const lanes = Array.from({ length: depth }, async () => {
    while (next < count) await engine.run(params(next++));
  });
  await Promise.all(lanes);
  const pipelined = count / ((performance.now() - started) / 1000);
  return { sequential: Math.round(sequential), pipelined: Math.round(pipelined) };
}

/**
 * The designs the engine did not take, for comparison (same intrinsics, in this process):
 * - a bare context: `newContext` on a shared runtime, disposed again;
 * - a fresh runtime and context per call with the prelude evaluated (the set-up a fresh-context
 *   design pays before the contract's module is even parsed), and the whole trivial call on top.
 */
async function freshContextCosts(iterations: number) {
  const module = await newQuickJSWASMModuleFromVariant(RELEASE_SYNC);
  const intrinsics = {
    BaseObjects: true,
    Eval: true,
    JSON: true,
    TypedArrays: true,
    MapSet: true,
    RegExp: true,
    StringNormalize: true,
    Promise: true,
  };
  const shared = module.newRuntime();
  let bareMs = 0;
  let setupMs = 0;
  let totalMs = 0;
  for (let i = 0; i < iterations + 50; i++) {
    const b0 = performance.now();
    shared.newContext({ intrinsics }).dispose();
    const b1 = performance.now();
    const t0 = performance.now();
    const runtime = module.newRuntime();
    runtime.setInterruptHandler(() => false);
    const vm = runtime.newContext({ intrinsics });
    const host = vm.newFunction('host', () => undefined);
    const factory = vm.unwrapResult(vm.evalCode(PRELUDE_SOURCE, 'prelude.js'));
    const run = vm.unwrapResult(vm.callFunction(factory, vm.undefined, host));
    const t1 = performance.now();
    const ns = vm.unwrapResult(vm.evalCode(TRIVIAL, 'contract.js', { type: 'module' }));
    const input = vm.newArrayBuffer(new Uint8Array([1, 2, 3]).buffer);
    const meta = vm.newString(JSON.stringify({ kind: 'handle', requestId: REQUEST_ID, origin: null }));
    vm.unwrapResult(vm.callFunction(run, vm.undefined, ns, input, meta)).dispose();
    for (const h of [meta, input, ns, run, factory, host]) h.dispose();
    vm.dispose();
    runtime.dispose();
    const t2 = performance.now();
    if (i >= 50) {
      bareMs += b1 - b0;
      setupMs += t1 - t0;
      totalMs += t2 - t0;
    }
  }
  shared.dispose();
  return {
    bareContextUs: (bareMs / iterations) * 1000,
    setupUs: (setupMs / iterations) * 1000,
    callUs: (totalMs / iterations) * 1000,
  };
}

/**
 * Gas per millisecond of CPU for each metered builtin family and for plain interpreted code
 * (docs/pruntime.md#metering-builtins). Each family runs in a contract that builds its data and
 * then applies the builtin `reps` times; the same contract without the builtin is the baseline,
 * and the figure is (gas with − gas without) / (time with − time without), best of three, in the
 * engine's synchronous core on this thread.
 */
const METER_FAMILIES: [family: string, setup: string, op: string, n: number, reps: number][] = [
  ['plain interpreted code', '', 'loop(n)', 200_000, 5],
  [
    'TypedArray sort',
    'const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = (i * 7919) % 1000003',
    'a.slice().sort()',
    200_000,
    3,
  ],
  [
    'Array sort (default)',
    'const a = []; for (let i = 0; i < n; i++) a.push((i * 7919) % 1000003)',
    'a.slice().sort()',
    50_000,
    3,
  ],
  [
    'Array sort (comparator)',
    'const a = []; for (let i = 0; i < n; i++) a.push((i * 7919) % 1000003)',
    'a.slice().sort((x, y) => x - y)',
    50_000,
    3,
  ],
  ['join', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'a.join(",")', 100_000, 5],
  ['split', "const s = 'abcdef,'.repeat(n)", "s.split(',')", 100_000, 5],
  ['replace (regex, global)', "const s = 'abcdef,'.repeat(n)", "s.replace(/,/g, ';')", 50_000, 3],
  ['RegExp test (long scan)', "const s = 'abcdef,'.repeat(n)", 's.match(/z/)', 100_000, 10],
  [
    'JSON.parse',
    'const a = []; for (let i = 0; i < n; i++) a.push(i); const t = JSON.stringify(a)',
    'JSON.parse(t)',
    100_000,
    5,
  ],
  ['JSON.stringify', 'const a = []; for (let i = 0; i < n; i++) a.push(i)', 'JSON.stringify(a)', 100_000, 5],
  [
    'TypedArray bulk (fill, set, indexOf)',
    'const a = new Uint8Array(n), b = new Uint8Array(n)',
    'a.fill(1) && a.set(b) || a.indexOf(9)',
    4_000_000,
    10,
  ],
  [
    'Array bulk (slice, indexOf)',
    'const a = []; for (let i = 0; i < n; i++) a.push(i)',
    'a.slice().indexOf(-1)',
    200_000,
    10,
  ],
  [
    'Array copy (concat, Array.from)',
    'const a = []; for (let i = 0; i < n; i++) a.push(i)',
    'Array.from(a.concat(a))',
    100_000,
    5,
  ],
  [
    'String (repeat, indexOf, padEnd)',
    "const s = 'abc,'.repeat(n)",
    "s.repeat(2).indexOf('zz') + s.padEnd(n * 5).length",
    500_000,
    10,
  ],
  [
    'Object.keys/assign',
    'const o = {}; for (let i = 0; i < n; i++) o["k" + i] = i',
    'Object.keys(Object.assign({}, o))',
    50_000,
    3,
  ],
];

async function meteringTable() {
  const sandbox = await Sandbox.create({ ...defaultEngineLimits });
  const rows: { family: string; gasPerMs: number }[] = [];
  for (const [family, setup, op, n, reps] of METER_FAMILIES) {
    const code = `function loop(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i) | 0; return s; }
    export function handle(input, ctx) {
      const { n, reps, doOp } = ctx.json.decode(input);
      ${setup};
      if (doOp) for (let k = 0; k < reps; k++) (${op});
      return { public: 'done' };
    }`;
    const once = async (doOp: boolean) => {
      const request = {
        code,
        kind: 'handle' as const,
        input: utf8(JSON.stringify({ n, reps, doOp })),
        state: null,
        requestId: REQUEST_ID,
        origin: null,
        randomSeed: SEED,
        limits: { ...defaultCallLimits, gas: 2_000_000_000 },
      };
      let best = Number.POSITIVE_INFINITY;
      let gas = 0;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const outcome = await sandbox.call(request);
        const ms = performance.now() - started;
        if (!outcome.ok) throw new Error(`metering bench ${family}: ${outcome.error.code}`);
        if (ms < best) best = ms;
        gas = outcome.gasUsed;
      }
      return { ms: best, gas };
    };
    const without = await once(false);
    const withOp = await once(true);
    rows.push({
      family,
      gasPerMs: Math.round((withOp.gas - without.gas) / Math.max(withOp.ms - without.ms, 0.01)),
    });
  }
  const rates = rows.map((r) => r.gasPerMs);
  const spread = Math.max(...rates) / Math.min(...rates);
  return { rows, spread: Number(spread.toFixed(2)) };
}

/** Whole requests through the enclave: open the input, run, seal output and state, sign. */
async function enclavePipeline(engine: ContractEngine, count: number) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-pruntime-'));
  try {
    const enclave = await Enclave.open({
      dataDir,
      engine,
      platform: new SimPlatform({
        platformSecret: new Uint8Array(32).fill(1),
        platformCaKey: new Uint8Array(32).fill(2),
        measurement: new Uint8Array(32).fill(3),
      }),
    });
    const contractKey = generateKeyPair('x25519');
    const contractId = new Uint8Array(32).fill(4);
    await enclave.receiveKeyHandover({
      envelope: sealKeyHandover(fromHex(enclave.publicIdentity.x25519), {
        kind: 'contract',
        id: contractId,
        epoch: 1,
        secretKey: contractKey.secretKey,
      }),
      epoch: 1,
    });
    const requester = new Uint8Array(20).fill(5);
    const responseKey = generateKeyPair('x25519').publicKey;
    const sealedInput = sealEnvelope({
      recipientPublicKey: contractKey.publicKey,
      purpose: 'request',
      context: requestContext('evm-1', requester, contractId, responseKey),
      plaintext: utf8('bench'),
    });
    const request = () =>
      enclave.execute({
        contractId: toHex(contractId),
        code: LOOP_AND_WRITE,
        originKey: 'evm-1',
        origin: { kind: 'evm', chainId: 1 },
        requester,
        requestId: REQUEST_ID,
        sealedInput,
        responseKey,
        state: null,
        target: { kind: 'evm', chainId: 1, verifyingContract: '0x0000000000000000000000000000000000000001' },
      });
    for (let i = 0; i < 10; i++) await request();
    const started = performance.now();
    for (let i = 0; i < count; i++) await request();
    return Math.round(count / ((performance.now() - started) / 1000));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchReport> {
  const engine = await ContractEngine.start({ threads: 1 });
  try {
    const before = await engine.stats();
    const trivial = await measure(engine, TRIVIAL, 3000, 16);
    const loop = await measure(engine, LOOP_AND_WRITE, 1000, 16);
    const after = await engine.stats();
    const calls = after.calls - before.calls;
    const restoreUs = ((after.restoreMs - before.restoreMs) / calls) * 1000;
    const benchWasm = new Uint8Array(readFileSync(BENCH_WASM));
    const wasmBefore = await engine.stats();
    const wasmTrivial = await measure(engine, benchWasm, 3000, 16, trivialWasmInput);
    const wasmAfter = await engine.stats();
    const wasmSetupUs =
      ((wasmAfter.wasm.resetMs - wasmBefore.wasm.resetMs) / (wasmAfter.wasm.calls - wasmBefore.wasm.calls)) *
      1000;
    const wasm = await wasmFigures(engine, engine.limits.memoryBytes);
    const fresh = await freshContextCosts(300);
    const pipeline = await enclavePipeline(engine, 200);
    const metering = await meteringTable();
    const figures = {
      threads: 1,
      trivialCallsPerSecond: trivial.pipelined,
      trivialCallsPerSecondSequential: trivial.sequential,
      loop10kStateWriteCallsPerSecond: loop.pipelined,
      loop10kStateWriteCallsPerSecondSequential: loop.sequential,
      perCallSetupMicroseconds: Number(restoreUs.toFixed(1)),
      bareContextMicroseconds: Number(fresh.bareContextUs.toFixed(1)),
      freshContextSetupMicroseconds: Number(fresh.setupUs.toFixed(1)),
      freshContextTrivialCallMicroseconds: Number(fresh.callUs.toFixed(1)),
      enclaveRequestsPerSecond: pipeline,
      meteringGasPerMs: Object.fromEntries(metering.rows.map((r) => [r.family, r.gasPerMs])),
      meteringSpread: metering.spread,
      wasm: {
        ...wasm,
        trivialCallsPerSecond: wasmTrivial.pipelined,
        trivialCallsPerSecondSequential: wasmTrivial.sequential,
        perCallSetupMicroseconds: Number(wasmSetupUs.toFixed(2)),
      },
    };
    return {
      table: [
        { measure: 'trivial contract, 16 in flight (calls/s)', value: figures.trivialCallsPerSecond },
        {
          measure: 'trivial contract, one at a time (calls/s)',
          value: figures.trivialCallsPerSecondSequential,
        },
        {
          measure: '10,000 iterations + state write, 16 in flight (calls/s)',
          value: figures.loop10kStateWriteCallsPerSecond,
        },
        {
          measure: '10,000 iterations + state write, one at a time (calls/s)',
          value: figures.loop10kStateWriteCallsPerSecondSequential,
        },
        { measure: 'per-call set-up: snapshot restore (µs)', value: figures.perCallSetupMicroseconds },
        {
          measure: 'per-call set-up: fresh runtime+context+prelude (µs, not taken)',
          value: figures.freshContextSetupMicroseconds,
        },
        {
          measure: 'trivial call with a fresh context, module eval included (µs, not taken)',
          value: figures.freshContextTrivialCallMicroseconds,
        },
        {
          measure: 'whole requests through the enclave: open, run, seal, sign (req/s)',
          value: figures.enclaveRequestsPerSecond,
        },
        {
          measure: 'WASM trivial contract, 16 in flight (calls/s; QuickJS above; target ≥ 5,000)',
          value: figures.wasm.trivialCallsPerSecond,
        },
        {
          measure: 'WASM trivial contract, one at a time (calls/s)',
          value: figures.wasm.trivialCallsPerSecondSequential,
        },
        {
          measure: 'WASM per-call set-up: instance reset + host set-up (µs; QuickJS restore above)',
          value: figures.wasm.perCallSetupMicroseconds,
        },
        { measure: 'fib(30): plain JS in V8 (ms)', value: wasm.v8FibMs },
        { measure: 'fib(30): WASM contract, engine.run (ms)', value: wasm.wasmFibMs },
        { measure: 'fib(30): QuickJS contract, engine.run (ms)', value: wasm.quickjsFibMs },
        { measure: 'wasmToV8Ratio fib(30) (target ≤ 2)', value: wasm.wasmToV8Ratio.fib30 },
        { measure: 'QuickJS ÷ V8 fib(30)', value: wasm.quickjsToV8Ratio.fib30 },
        { measure: 'SHA-256 of 1 MiB: plain JS in V8 (ms)', value: wasm.v8Sha256Ms },
        { measure: 'SHA-256 of 1 MiB: WASM contract, engine.run (ms)', value: wasm.wasmSha256Ms },
        { measure: 'wasmToV8Ratio SHA-256 1 MiB (target ≤ 2)', value: wasm.wasmToV8Ratio.sha256_1MiB },
        { measure: 'meteringOverheadRatio fib(30) (target ≤ 1.3)', value: wasm.meteringOverheadRatio.fib30 },
        {
          measure: 'meteringOverheadRatio SHA-256 1 MiB (target ≤ 1.3)',
          value: wasm.meteringOverheadRatio.sha256_1MiB,
        },
        ...metering.rows.map((r) => ({ measure: `gas per ms of CPU: ${r.family}`, value: r.gasPerMs })),
        { measure: 'gas per ms of CPU: spread max/min (must be ≤ 10)', value: metering.spread },
      ],
      figures,
    };
  } finally {
    await engine.close();
  }
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { equalBytes } from '../../src/base/bytes.js';
import type { ContractEngine, RunContractParameters } from '../../src/pruntime/engine/engine.js';
import { MAX_GAS } from '../../src/pruntime/engine/limits.js';
import { instrumentModule } from '../../src/pruntime/wasm/instrument.js';
import { Wasm, type WasmMemory } from '../../src/pruntime/wasm/wasm-api.js';
import { benchBytes, fib, sha256 } from './reference.js';

/**
 * WebAssembly figures of the pruntime bench (issue 18): contract time against plain V8, the
 * metering instrumentation's own cost, and QuickJS beside them. The contract is helper B's
 * AssemblyScript bench (examples/wasm/bench.ts, built to examples/wasm/build/bench.wasm): input
 * byte 0 picks fib (1, then n as u32 LE) or SHA-256 of the rest (2); anything else is trivial.
 */
export const BENCH_WASM = fileURLToPath(new URL('../../examples/wasm/build/bench.wasm', import.meta.url));

const FIB_N = 30;
const REQUEST_ID = `0x${'11'.repeat(32)}` as const;
const SEED = new Uint8Array(32).fill(1);

export function fibInput(n: number): Uint8Array {
  const input = new Uint8Array(5);
  input[0] = 1;
  new DataView(input.buffer).setUint32(1, n, true);
  return input;
}

export function shaInput(data: Uint8Array): Uint8Array {
  const input = new Uint8Array(data.length + 1);
  input[0] = 2;
  input.set(data, 1);
  return input;
}

/** Best of `times` runs of `fn`, in milliseconds (after one warm-up run). */
async function best(times: number, fn: () => unknown): Promise<number> {
  await fn();
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn();
    min = Math.min(min, performance.now() - started);
  }
  return min;
}

/**
 * Best times of two functions measured in alternation, after enough runs for V8 to tier both
 * modules up from its baseline compiler: a ratio of the two is then not a ratio of tiers, nor of
 * a moment when the machine's other work ran. Each run is prepared untimed (`prepare` returns
 * the work to time).
 */
function interleaved(a: () => () => void, b: () => () => void): [number, number] {
  const time = (prepare: () => () => void) => {
    const work = prepare();
    const started = performance.now();
    work();
    return performance.now() - started;
  };
  for (let i = 0; i < 10; i++) {
    time(a);
    time(b);
  }
  let bestA = Number.POSITIVE_INFINITY;
  let bestB = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 30; i++) {
    bestA = Math.min(bestA, time(a));
    bestB = Math.min(bestB, time(b));
  }
  return [bestA, bestB];
}

/** One engine call that must succeed and answer `expected` publicly. */
async function contractMs(
  engine: ContractEngine,
  code: string | Uint8Array,
  input: Uint8Array,
  expected: Uint8Array,
) {
  const params: RunContractParameters = {
    code,
    input,
    requestId: REQUEST_ID,
    randomSeed: SEED,
    limits: { gas: MAX_GAS, inputBytes: 2 * 1024 * 1024 },
  };
  let gasUsed = 0;
  const ms = await best(8, async () => {
    const outcome = await engine.run(params);
    if (!outcome.ok)
      throw new Error(`bench contract failed: ${outcome.error.code}: ${outcome.error.message}`);
    if (!equalBytes(outcome.public, expected)) throw new Error('bench contract answered a wrong result');
    gasUsed = outcome.gasUsed;
  });
  return { ms, gasUsed };
}

/**
 * `handle` of a module instantiated straight in this process (no engine, no thread), with a
 * minimal host: input, output and fail. Every run gets a fresh instance (made untimed, as the
 * engine resets one between calls: an allocator that never frees would otherwise fill the
 * memory); instrumented modules are given all the fuel they want.
 */
function rawRunner(bytes: Uint8Array, instrumented: boolean) {
  const module = new Wasm.Module(bytes);
  return (data: Uint8Array, expected: Uint8Array) => () => {
    let memory: WasmMemory | null = null;
    let output = new Uint8Array(0);
    const bytesOf = () => new Uint8Array(memory!.buffer);
    const host: Record<string, unknown> = {
      input: (ptr: number, cap: number) => {
        if (data.length <= cap) bytesOf().set(data, ptr);
        return data.length;
      },
      output: (p: number, pl: number) => {
        output = bytesOf().slice(p, p + pl);
      },
      fail: () => {
        throw new Error('bench contract failed');
      },
    };
    const instance = new Wasm.Instance(module, { phala: host });
    memory = instance.exports.memory as WasmMemory;
    const handle = instance.exports.handle as () => void;
    const reset = instance.exports.__pb_reset as ((fuel: bigint) => void) | undefined;
    if (instrumented) reset!(2n ** 62n);
    return () => {
      handle();
      if (!equalBytes(output, expected)) throw new Error('raw bench module answered a wrong result');
    };
  };
}

export async function wasmFigures(engine: ContractEngine, memoryBytes: number) {
  const original = new Uint8Array(readFileSync(BENCH_WASM));
  const instrumented = instrumentModule(original, { maxMemoryPages: Math.floor(memoryBytes / 65536) }).bytes;
  const data = benchBytes();
  const fibExpected = new Uint8Array(4);
  new DataView(fibExpected.buffer).setUint32(0, fib(FIB_N), true);
  const shaExpected = sha256(data);

  const v8FibMs = await best(15, () => fib(FIB_N));
  const v8ShaMs = await best(15, () => sha256(data));

  const wasmFib = await contractMs(engine, original, fibInput(FIB_N), fibExpected);
  const wasmSha = await contractMs(engine, original, shaInput(data), shaExpected);

  const plain = rawRunner(original, false);
  const metered = rawRunner(instrumented, true);
  const [rawFib, meteredFib] = interleaved(
    plain(fibInput(FIB_N), fibExpected),
    metered(fibInput(FIB_N), fibExpected),
  );
  const [rawSha, meteredSha] = interleaved(
    plain(shaInput(data), shaExpected),
    metered(shaInput(data), shaExpected),
  );

  const quickjsFib = await contractMs(
    engine,
    `function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
     export function handle(input) {
       const n = input[1] | (input[2] << 8) | (input[3] << 16) | (input[4] << 24);
       const out = new Uint8Array(4);
       new DataView(out.buffer).setUint32(0, fib(n), true);
       return { public: out };
     }`,
    fibInput(FIB_N),
    fibExpected,
  );

  const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
  return {
    module: 'examples/wasm/build/bench.wasm (AssemblyScript)',
    v8FibMs: Number(v8FibMs.toFixed(2)),
    v8Sha256Ms: Number(v8ShaMs.toFixed(2)),
    wasmFibMs: Number(wasmFib.ms.toFixed(2)),
    wasmFibGas: wasmFib.gasUsed,
    wasmSha256Ms: Number(wasmSha.ms.toFixed(2)),
    wasmSha256Gas: wasmSha.gasUsed,
    quickjsFibMs: Number(quickjsFib.ms.toFixed(2)),
    quickjsFibGas: quickjsFib.gasUsed,
    wasmToV8Ratio: { fib30: ratio(wasmFib.ms, v8FibMs), sha256_1MiB: ratio(wasmSha.ms, v8ShaMs) },
    quickjsToV8Ratio: { fib30: ratio(quickjsFib.ms, v8FibMs) },
    meteringOverheadRatio: { fib30: ratio(meteredFib, rawFib), sha256_1MiB: ratio(meteredSha, rawSha) },
    rawFibMs: Number(rawFib.toFixed(2)),
    meteredFibMs: Number(meteredFib.toFixed(2)),
    rawSha256Ms: Number(rawSha.toFixed(2)),
    meteredSha256Ms: Number(meteredSha.toFixed(2)),
  };
}

/** The bench module's trivial call: op 0, an empty output. */
export function trivialWasmInput(i: number): Uint8Array {
  return Uint8Array.of(0, i & 0xff, 1);
}

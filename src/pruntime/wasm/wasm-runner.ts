import { Wasm } from './wasm-api.js';
import { toHex } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { type ContractErrorCode, EngineFailureError } from '../engine/errors.js';
import {
  GAS_PER_CALL,
  type SandboxCall,
  type SandboxFailure,
  type SandboxOutcome,
} from '../engine/sandbox.js';
import { ContractState } from '../engine/state.js';
import { WasmModuleRefusedError } from './errors.js';
import { InstancePool, type PooledInstance } from './instance-pool.js';
import { instrumentModule } from './instrument.js';
import { FUEL_PER_GAS, MAX_START_GAS, WASM_LIMITS, maxMemoryPagesOf } from './limits.js';
import { CodeHashes, type LoadedModule, ModuleCache } from './module-cache.js';
import { detachStart } from './start-export.js';
import { ContractFailure, failure, resultOutcome } from '../engine/call-outcome.js';
import { WasmCall } from './wasm-call.js';

/**
 * Runs WebAssembly contracts inside an engine thread, beside the QuickJS Sandbox
 * (docs/wasm-host-interface.md). Synchronous: the thread's watchdog and the engine's fair share
 * apply to it unchanged.
 *
 * A module is instrumented (instrument.ts) and compiled once per code hash — blake2_256 of the
 * bytes as uploaded — and kept in an LRU cache, refusals included. Each cached module has an
 * instance pool (instance-pool.ts): the start function runs once, its gas is charged to every
 * call, and every call leaves the instance exactly as it was after start.
 */
export type WasmRunnerOptions = {
  /** The engine's memory cap: a module's memory maximum is lowered to it. */
  memoryBytes: number;
  /** Modules kept compiled (with their instances), least recently used dropped first. */
  maxModules: number;
};

export type WasmRunnerStats = {
  calls: number;
  /** Modules instrumented and compiled (cache misses), refused ones included. */
  moduleLoads: number;
  instances: number;
  /** Milliseconds spent resetting instances after calls and setting calls up. */
  resetMs: number;
};

export class WasmRunner {
  readonly #cache: ModuleCache;
  readonly #hashes: CodeHashes;
  readonly #maxMemoryPages: number;
  readonly stats: WasmRunnerStats = { calls: 0, moduleLoads: 0, instances: 0, resetMs: 0 };

  constructor(options: WasmRunnerOptions) {
    this.#cache = new ModuleCache(options.maxModules);
    this.#hashes = new CodeHashes(options.maxModules, (code) => toHex(blake2_256(code)));
    this.#maxMemoryPages = maxMemoryPagesOf(options.memoryBytes);
  }

  /**
   * Runs one call of a module (`request.code` is its bytes). A malformed state is the caller's
   * error (InvalidInputError); a fault of the runner itself is an EngineFailureError.
   */
  call(request: SandboxCall): SandboxOutcome {
    const code = request.code;
    if (typeof code === 'string') throw new TypeError('WasmRunner runs WebAssembly modules only');
    const state = request.state ? ContractState.parse(request.state) : ContractState.empty();
    this.stats.calls++;
    const limit = request.limits.gas;
    const loaded = this.#load(code);
    if (!loaded.ok) return refused(loaded, limit);
    const { pool } = loaded;
    let instance: PooledInstance;
    const setupStarted = performance.now();
    try {
      instance = pool.take();
    } catch (error) {
      if (!(error instanceof WasmModuleRefusedError)) throw crashed(error);
      const refusal = refusalOf(error);
      this.#cache.set(this.#hashes.of(code), refusal);
      return refused(refusal, limit);
    }
    const baseGas = GAS_PER_CALL + pool.startGas;
    const release = () => {
      const started = performance.now();
      pool.give(instance);
      this.stats.resetMs += performance.now() - started;
    };
    const entry = instance.entry[request.kind];
    if (!entry) {
      release();
      return failure(
        'InvalidContract',
        `the module does not export a function named ${request.kind}`,
        Math.min(baseGas, limit),
        [],
      );
    }
    if (baseGas > limit) {
      release();
      return failure('OutOfGas', `gas limit ${limit} exceeded`, limit, []);
    }
    if (request.input.length > request.limits.inputBytes) {
      release();
      return failure(
        'InputTooLarge',
        `input is longer than ${request.limits.inputBytes} bytes`,
        GAS_PER_CALL,
        [],
      );
    }
    const call = new WasmCall(request, state);
    const fuel = BigInt(limit - baseGas) * BigInt(FUEL_PER_GAS);
    instance.binding.call = call;
    instance.control.reset(fuel);
    this.stats.resetMs += performance.now() - setupStarted;
    let thrown: unknown = null;
    let threw = false;
    try {
      entry();
    } catch (error) {
      threw = true;
      thrown = error;
    }
    instance.binding.call = null;
    const used = fuel - instance.control.fuelGet();
    const gasUsed = Math.min(baseGas + Math.ceil(Number(used) / FUEL_PER_GAS), limit);
    let ended: { code: ContractErrorCode; message: string } | null = null;
    if (threw) {
      ended = classify(thrown, instance);
      if (!ended) {
        // Not the contract's doing: do not reuse an instance in an unknown state.
        new Uint8Array(instance.memory.buffer).fill(0);
        throw crashed(thrown);
      }
    }
    release();
    if (ended)
      return failure(ended.code, ended.message, ended.code === 'OutOfGas' ? limit : gasUsed, call.logs);
    return outcomeOf(call, request, state, gasUsed);
  }

  #load(code: Uint8Array): LoadedModule {
    // Past the size limit the instrumenter refuses at once; hashing 50 MB first would not be.
    if (code.length > WASM_LIMITS.moduleBytes) return this.#compile(code);
    const codeHash = this.#hashes.of(code);
    const cached = this.#cache.get(codeHash);
    if (cached) return cached;
    const loaded = this.#compile(code);
    this.#cache.set(codeHash, loaded);
    return loaded;
  }

  #compile(code: Uint8Array): LoadedModule {
    this.stats.moduleLoads++;
    try {
      const info = instrumentModule(code, { maxMemoryPages: this.#maxMemoryPages });
      const module = new Wasm.Module(detachStart(info.bytes));
      return { ok: true, pool: new InstancePool(module, info, () => this.stats.instances++) };
    } catch (error) {
      if (error instanceof WasmModuleRefusedError) return refusalOf(error);
      throw crashed(error);
    }
  }
}

/**
 * The outcome of a module past the size limit, decided without an engine thread: copying 50 MB
 * to a thread alone takes about half a second, and the instrumenter refuses such a module by its
 * length. Null for a module within the limit.
 */
export function oversizedModuleOutcome(
  code: Uint8Array,
  gasLimit: number,
  memoryBytes: number,
): SandboxFailure | null {
  if (code.length <= WASM_LIMITS.moduleBytes) return null;
  try {
    instrumentModule(code, { maxMemoryPages: maxMemoryPagesOf(memoryBytes) });
  } catch (error) {
    if (error instanceof WasmModuleRefusedError) return refused(refusalOf(error), gasLimit);
    throw crashed(error);
  }
  throw crashed(new Error('the instrumenter accepted a module past the size limit'));
}

function refused(refusal: LoadedModule & { ok: false }, limit: number): SandboxFailure {
  return failure(
    'InvalidContract',
    `wasm module refused (${refusal.reason}): ${refusal.details}`,
    Math.min(GAS_PER_CALL + refusal.loadGas, limit),
    [],
  );
}

function refusalOf(error: WasmModuleRefusedError): LoadedModule & { ok: false } {
  return {
    ok: false,
    reason: error.reason,
    details: error.what,
    loadGas: error.reason === 'start-out-of-gas' ? MAX_START_GAS : 0,
  };
}

/**
 * What a trap or a host signal means for the call; null when it is not the contract's doing.
 * After a refused `memory.grow`, any failure is the out-of-memory one (an allocator that gets -1
 * aborts through `fail`, or traps), as the JavaScript sandbox reads an error after a refused
 * allocation.
 */
function classify(
  error: unknown,
  instance: PooledInstance,
): { code: ContractErrorCode; message: string } | null {
  const { control } = instance;
  if (control.fuelGet() < 0n) return { code: 'OutOfGas', message: 'out of gas' };
  if (error instanceof ContractFailure && error.code === 'StateTooLarge')
    return { code: error.code, message: error.shortMessage };
  if (control.depth() > WASM_LIMITS.callDepth)
    return { code: 'StackOverflow', message: `call depth past ${WASM_LIMITS.callDepth} frames` };
  if (control.oom() !== 0) return { code: 'OutOfMemory', message: 'out of memory (memory.grow was refused)' };
  if (error instanceof ContractFailure) return { code: error.code, message: error.shortMessage };
  if (error instanceof RangeError) return { code: 'StackOverflow', message: 'native stack exhausted' };
  if (error instanceof Wasm.RuntimeError) return { code: 'ContractThrew', message: `trap: ${error.message}` };
  return null;
}

function outcomeOf(
  call: WasmCall,
  request: SandboxCall,
  state: ContractState,
  gasUsed: number,
): SandboxOutcome {
  if (request.kind === 'query' && call.result && call.result.public.length > 0)
    return failure('InvalidResult', "a query's public output must be empty", gasUsed, call.logs);
  return resultOutcome({
    kind: request.kind,
    result: call.result,
    limits: request.limits,
    state,
    inputState: request.state,
    stateChanged: call.stateChanged,
    gasUsed,
    log: call,
  });
}

function crashed(error: unknown): EngineFailureError {
  return new EngineFailureError('crashed', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

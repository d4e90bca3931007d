import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten';
import { toHex, utf8 } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { ContractFailure, appendLog, failure, resultOutcome } from './call-outcome.js';
import { AbiCodecError, abiDecode, abiEncode } from './codecs/abi.js';
import { ScaleCodecError, scaleDecode, scaleEncode } from './codecs/scale.js';
import { WireFormatError, fromWire, toWire } from './codecs/wire.js';
import { type ContractErrorCode, EngineFailureError } from './errors.js';
import type { CallLimits, EngineLimits } from './limits.js';
import {
  type MemoryImage,
  type MemoryRegions,
  canaryIntact,
  captureImage,
  firstDifference,
  restoreImage,
  writeCanary,
} from './memory-image.js';
import { CHARGE_HOST_OP } from './metering/wrappers.js';
import { PRELUDE_SOURCE } from './prelude.js';
import { QuickJsWasm } from './quickjs-wasm.js';
import { DeterministicRandom } from './random.js';
import { ContractState, MAX_KEY_BYTES } from './state.js';

/**
 * The synchronous core of the contract engine. It runs inside the engine thread (engine.ts),
 * whose large native stack keeps QuickJS's own stack limit the one that trips first.
 *
 * Design (docs/pruntime.md#sandbox): one QuickJS WebAssembly instance, one runtime and one
 * context, set up once; the prelude runs, then memory is snapshotted. Per contract (by code
 * hash) the module is evaluated once on top of that and snapshotted again. Every call restores
 * the contract's snapshot, so it starts from a byte-identical memory: nothing of any earlier call
 * survives (a stronger guarantee than a fresh context), the allocator is in the same state on
 * every worker (so running out of memory is deterministic), and the per-call set-up cost is a
 * memory copy instead of building a context.
 */

export type CallKind = 'handle' | 'query';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type SandboxCall = {
  /** JavaScript source, or the bytes of a WebAssembly module (run by wasm/wasm-runner.ts). */
  code: string | Uint8Array;
  kind: CallKind;
  input: Uint8Array;
  /** Canonical state (state.ts); null for a contract without state yet. */
  state: Uint8Array | null;
  requestId: string;
  origin: JsonValue;
  randomSeed: Uint8Array;
  limits: CallLimits;
  /** 32-byte contract id, 0x-hex (WebAssembly context field 1; zero when absent). */
  contractId?: string;
  /** The origin-chain block the request was verified in (WebAssembly context field 5; 0 when absent). */
  blockNumber?: number;
};

/** A call of a JavaScript contract: the only kind the Sandbox runs. */
export type JsSandboxCall = SandboxCall & { code: string };

export type SandboxSuccess = {
  ok: true;
  public: Uint8Array;
  sealed: Uint8Array;
  /** Canonical state after the call (unchanged input state when `stateChanged` is false). */
  state: Uint8Array;
  stateChanged: boolean;
  gasUsed: number;
  logs: string[];
};

export type SandboxFailure = {
  ok: false;
  error: { code: ContractErrorCode; message: string };
  gasUsed: number;
  logs: string[];
};

export type SandboxOutcome = SandboxSuccess | SandboxFailure;

export type SandboxOptions = EngineLimits & {
  /** How many contracts' snapshots to keep (least recently used go first). */
  maxContracts?: number;
  /** Compare the whole memory with the snapshot after every restore (tests; slow). */
  verifyRestore?: boolean;
};

export type SandboxStats = {
  calls: number;
  contractLoads: number;
  instances: number;
  /** Total milliseconds spent restoring memory before and after calls. */
  restoreMs: number;
};

/** Host operations the prelude calls (first argument of its `host` function). */
const HostOp = {
  StateGet: 1,
  StateSet: 2,
  StateDelete: 3,
  StateHas: 4,
  Random: 5,
  Utf8Encode: 6,
  Utf8Decode: 7,
  AbiEncode: 8,
  AbiDecode: 9,
  Log: 10,
  ScaleEncode: 11,
  ScaleDecode: 12,
  Threw: 13,
  Fail: 14,
  Result: 15,
  /** Gas for native builtin work, reported by the prelude's metering wrappers. */
  Charge: CHARGE_HOST_OP,
} as const;

/** Gas: QuickJS calls the interrupt handler once per 10,000 branches and calls. */
export const GAS_PER_INTERRUPT = 10_000;
/**
 * Gas a contract's top level (module evaluation) may use. It is the same for every call and
 * every worker, so whether a contract loads does not depend on which call loaded it first; the
 * gas it used is charged to every call, as if the module were evaluated per call.
 */
export const MAX_LOAD_GAS = 50_000_000;
/** Gas every call costs before it runs anything. */
export const GAS_PER_CALL = 1_000;
/** Gas for each host operation, plus one per byte it moves. */
export const GAS_PER_HOST_CALL = 100;
/** The most bytes one call for random bytes may ask for (`ctx.random`, `phala.random`). */
export const MAX_RANDOM_BYTES = 64 * 1024;
/** Heap the runtime, context and prelude may take before a contract's own memory starts. */
const SETUP_RESERVE = 1024 * 1024;
const STATICS_SLACK = 64 * 1024;

const INTRINSICS = {
  BaseObjects: true,
  Eval: true, // the host compiles modules through it; the prelude removes eval/Function for contracts
  JSON: true,
  TypedArrays: true,
  MapSet: true,
  RegExp: true,
  StringNormalize: true,
  Promise: true, // module evaluation needs it; no job is ever run, so no callback fires
} as const;

type ContractSnapshot =
  | { ok: true; image: MemoryImage; ns: QuickJSHandle; loadGas: number }
  | { ok: false; code: ContractErrorCode; message: string; loadGas: number };

/** The state of the call in progress; the host function and interrupt handler read it. */
class CallState {
  polls = 0;
  hostGas = 0;
  fatal: ContractErrorCode | null = null;
  fatalMessage = '';
  threw: string | null = null;
  failed: { code: ContractErrorCode; message: string } | null = null;
  result: { public: Uint8Array; sealed: Uint8Array } | null = null;
  stateChanged = false;
  logs: string[] = [];
  logBytes = 0;
  readonly random: DeterministicRandom | null;

  constructor(
    readonly kind: CallKind | 'load',
    readonly gasLimit: number,
    readonly baseGas: number,
    readonly limits: CallLimits | null,
    readonly state: ContractState,
    seed: Uint8Array | null,
  ) {
    this.random = seed ? new DeterministicRandom(seed) : null;
  }

  get gasUsed(): number {
    return this.baseGas + this.polls + this.hostGas;
  }

  setFatal(code: ContractErrorCode, message: string): void {
    if (this.fatal === null) {
      this.fatal = code;
      this.fatalMessage = message;
    }
  }

  charge(gas: number): void {
    this.hostGas += gas;
    if (this.gasUsed > this.gasLimit) {
      this.setFatal('OutOfGas', `gas limit ${this.gasLimit} exceeded`);
      throw new ContractFailure('OutOfGas', 'out of gas');
    }
  }
}

type Instance = {
  wasm: QuickJsWasm;
  runtime: QuickJSRuntime;
  vm: QuickJSContext;
  run: QuickJSHandle;
  regions: MemoryRegions;
  base: MemoryImage;
  contracts: Map<string, ContractSnapshot>;
  /** Which image is in memory now: 'base', a code hash, or null (dirty). */
  live: string | null;
};

export class Sandbox {
  readonly #options: Required<SandboxOptions>;
  #instance: Instance | null = null;
  #call: CallState | null = null;
  readonly stats: SandboxStats = { calls: 0, contractLoads: 0, instances: 0, restoreMs: 0 };

  private constructor(options: Required<SandboxOptions>) {
    this.#options = options;
  }

  static async create(options: SandboxOptions): Promise<Sandbox> {
    const sandbox = new Sandbox({ maxContracts: 16, verifyRestore: false, ...options });
    await sandbox.#ensureInstance();
    return sandbox;
  }

  /** Bytes of the instance's linear memory (fixed for its lifetime). */
  get memoryBytes(): number {
    return this.#instance?.wasm.memory.buffer.byteLength ?? 0;
  }

  /** Runs one call. A malformed state is the caller's error (InvalidInputError), not the engine's. */
  async call(request: JsSandboxCall): Promise<SandboxOutcome> {
    const state = request.state ? ContractState.parse(request.state) : ContractState.empty();
    const instance = await this.#ensureInstance();
    try {
      return this.#callOn(instance, request, state);
    } catch (error) {
      // Anything thrown out of the wasm (a trap, a native stack overflow) leaves the instance in
      // an unknown state: wipe and retire it. Such a failure is not a contract outcome.
      this.#retire(instance);
      if (error instanceof EngineFailureError) throw error;
      throw new EngineFailureError('crashed', error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    } finally {
      this.#call = null;
    }
  }

  /** Test hook: whether memory is exactly the live image (-1) or the first differing address. */
  verifyLiveImage(): number {
    const instance = this.#instance;
    if (!instance || instance.live === null) return 0;
    const image =
      instance.live === 'base'
        ? instance.base
        : (instance.contracts.get(instance.live) as { image: MemoryImage }).image;
    return firstDifference(instance.wasm, instance.regions, image);
  }

  #callOn(instance: Instance, request: JsSandboxCall, state: ContractState): SandboxOutcome {
    this.stats.calls++;
    const codeHash = toHex(blake2_256(utf8(request.code)));
    const snapshot = this.#contract(instance, codeHash, request.code);
    const limits = request.limits;
    if (!snapshot.ok)
      return failure(
        snapshot.code,
        snapshot.message,
        Math.min(GAS_PER_CALL + snapshot.loadGas, limits.gas),
        [],
      );
    if (GAS_PER_CALL + snapshot.loadGas > limits.gas)
      return failure('OutOfGas', `gas limit ${limits.gas} exceeded`, limits.gas, []);
    if (request.input.length > limits.inputBytes)
      return failure('InputTooLarge', `input is longer than ${limits.inputBytes} bytes`, GAS_PER_CALL, []);
    this.#ensureLive(instance, codeHash, snapshot.image);
    const call = new CallState(
      request.kind,
      limits.gas,
      GAS_PER_CALL + snapshot.loadGas,
      limits,
      state,
      request.randomSeed,
    );
    this.#call = call;
    const refusalsBefore = instance.wasm.growthRefusals;
    const { vm } = instance;
    let errorMessage: string | null = null;
    let crashed: unknown = null;
    try {
      const input = vm.newArrayBuffer(bufferOf(request.input));
      const meta = vm.newString(
        JSON.stringify({ kind: request.kind, requestId: request.requestId, origin: request.origin }),
      );
      const result = vm.callFunction(instance.run, vm.undefined, snapshot.ns, input, meta);
      if (result.error) errorMessage = describeError(vm, result.error);
    } catch (error) {
      crashed = error;
    }
    if (crashed) throw crashed;
    const outOfMemory = instance.wasm.growthRefusals > refusalsBefore;
    const outcome = this.#outcome(call, state, request, errorMessage, outOfMemory);
    this.#afterCall(instance, codeHash, snapshot.image);
    return outcome;
  }

  #outcome(
    call: CallState,
    state: ContractState,
    request: SandboxCall,
    errorMessage: string | null,
    outOfMemory: boolean,
  ): SandboxOutcome {
    const limits = request.limits;
    const gasUsed = Math.min(call.gasUsed, limits.gas);
    if (call.fatal)
      return failure(
        call.fatal,
        call.fatalMessage,
        call.fatal === 'OutOfGas' ? limits.gas : gasUsed,
        call.logs,
      );
    const thrown = errorMessage ?? call.threw;
    if (thrown !== null) {
      // After the allocator was refused memory, an uncaught error is the out-of-memory one (or
      // the contract failing because of it; QuickJS may even throw null when memory is gone).
      const code = classifyThrown(thrown, outOfMemory);
      return failure(code, code === 'OutOfMemory' ? 'out of memory' : thrown, gasUsed, call.logs);
    }
    if (call.failed) return failure(call.failed.code, call.failed.message, gasUsed, call.logs);
    return resultOutcome({
      kind: request.kind,
      result: call.result,
      limits,
      state,
      inputState: request.state,
      stateChanged: call.stateChanged,
      gasUsed,
      log: call,
    });
  }

  #afterCall(instance: Instance, codeHash: string, image: MemoryImage): void {
    // Wipe the call (inputs, outputs and state values live in the heap) and get ready for the
    // next call of the same contract.
    if (!canaryIntact(instance.wasm, instance.regions)) {
      // The call used more shadow stack than an image covers: start a new instance next time.
      this.#retire(instance);
      return;
    }
    instance.live = null;
    this.#ensureLive(instance, codeHash, image);
  }

  #retire(instance: Instance): void {
    if (this.#instance === instance) this.#instance = null;
    new Uint8Array(instance.wasm.memory.buffer).fill(0);
  }

  /** `name: message` of an error, reading at most a little contract code (getters) on the way. */
  #describe(vm: QuickJSContext, handle: QuickJSHandle): string {
    const previous = this.#call;
    this.#call = new CallState('load', 200_000, 0, null, ContractState.empty(), null);
    try {
      return describeError(vm, handle);
    } finally {
      this.#call = previous;
    }
  }

  #ensureLive(instance: Instance, key: string, image: MemoryImage): void {
    if (instance.live === key) return;
    const started = performance.now();
    restoreImage(instance.wasm, instance.regions, image);
    this.stats.restoreMs += performance.now() - started;
    instance.live = key;
    if (this.#options.verifyRestore) {
      const at = firstDifference(instance.wasm, instance.regions, image);
      if (at >= 0) throw new EngineFailureError('crashed', `memory restore mismatch at ${at}`);
    }
  }

  #contract(instance: Instance, codeHash: string, code: string): ContractSnapshot {
    const cached = instance.contracts.get(codeHash);
    if (cached) {
      instance.contracts.delete(codeHash);
      instance.contracts.set(codeHash, cached);
      return cached;
    }
    this.stats.contractLoads++;
    this.#ensureLive(instance, 'base', instance.base);
    const call = new CallState('load', MAX_LOAD_GAS, 0, null, ContractState.empty(), null);
    this.#call = call;
    const refusalsBefore = instance.wasm.growthRefusals;
    const { vm } = instance;
    let snapshot: ContractSnapshot;
    const result = vm.evalCode(code, 'contract.js', { type: 'module' });
    instance.live = null;
    if (!canaryIntact(instance.wasm, instance.regions)) {
      this.#retire(instance);
      throw new EngineFailureError('crashed', 'contract load used more stack than the sandbox covers');
    }
    if (result.error) {
      const fatal = call.fatal;
      const message = this.#describe(vm, result.error);
      const code =
        fatal ??
        (message.startsWith('SyntaxError')
          ? 'InvalidContract'
          : classifyThrown(message, instance.wasm.growthRefusals > refusalsBefore));
      snapshot = { ok: false, code, message: fatal ? call.fatalMessage : message, loadGas: call.gasUsed };
    } else {
      const state = vm.getPromiseState(result.value);
      if (state.type === 'fulfilled' && state.notAPromise) {
        snapshot = {
          ok: true,
          image: captureImage(instance.wasm, instance.regions),
          ns: result.value,
          loadGas: call.gasUsed,
        };
        instance.live = codeHash;
      } else {
        snapshot = {
          ok: false,
          code: 'InvalidContract',
          message: 'top-level await is not supported: a contract module must evaluate synchronously',
          loadGas: call.gasUsed,
        };
      }
    }
    this.#call = null;
    if (!snapshot.ok) this.#ensureLive(instance, 'base', instance.base);
    instance.contracts.set(codeHash, snapshot);
    while (instance.contracts.size > this.#options.maxContracts) {
      const oldest = instance.contracts.keys().next().value as string;
      instance.contracts.delete(oldest);
      if (instance.live === oldest) instance.live = null;
    }
    return snapshot;
  }

  async #ensureInstance(): Promise<Instance> {
    if (this.#instance) return this.#instance;
    const { memoryBytes, stackBytes } = this.#options;
    // The memory is sized once: the wasm's static part, a reserve for the runtime, context and
    // contract bytecode, and the call's own memory. It never grows.
    const heapBase = QuickJsWasm.layout().heapBase;
    const capBytes = heapBase + SETUP_RESERVE + memoryBytes;
    const wasm = await QuickJsWasm.create(capBytes);
    const runtime = wasm.module.newRuntime();
    // No QuickJS memory limit: in this build it counts allocations, not bytes (see quickjs-wasm.ts).
    // The fixed wasm memory is the limit, and a refused request for more is how we see it hit.
    runtime.setMaxStackSize(stackBytes);
    runtime.setInterruptHandler(() => this.#onInterrupt());
    const vm = runtime.newContext({ intrinsics: INTRINSICS });
    // Cached handles must exist before the first snapshot (they live in the heap).
    void vm.undefined;
    void vm.null;
    void vm.true;
    void vm.false;
    void vm.global;
    const host = vm.newFunction('host', (...args: QuickJSHandle[]) => this.#onHost(args));
    const factory = vm.unwrapResult(vm.evalCode(PRELUDE_SOURCE, 'prelude.js'));
    const run = vm.unwrapResult(vm.callFunction(factory, vm.undefined, host));
    factory.dispose();
    host.dispose();
    const setupEnd = wasm.brk;
    if (setupEnd - heapBase > SETUP_RESERVE)
      throw new EngineFailureError('startup', 'the sandbox set-up used more memory than its reserve');
    const regions: MemoryRegions = {
      staticsEnd: alignUp(wasm.layout.dataEnd + STATICS_SLACK, 16),
      stackLow: wasm.layout.stackTop - (2 * stackBytes + 128 * 1024),
      stackTop: wasm.layout.stackTop,
      heapBase,
      ballast: null,
    };
    // The build's 16 MiB minimum memory can exceed the cap: fill the difference with a block
    // that is allocated once and never touched, so the cap is the same for every memory size.
    const spare = wasm.memory.buffer.byteLength - capBytes;
    if (spare > 64 * 1024) {
      const pointer = wasm.malloc(spare);
      if (pointer === 0) throw new EngineFailureError('startup', 'cannot reserve the memory ballast');
      new Uint8Array(wasm.memory.buffer).fill(0, pointer, pointer + spare);
      regions.ballast = { start: pointer, end: pointer + spare };
    }
    if (regions.stackLow - 4096 <= regions.staticsEnd)
      throw new EngineFailureError('startup', 'the stack window does not fit the wasm stack');
    writeCanary(wasm, regions);
    const base = captureImage(wasm, regions);
    this.stats.instances++;
    this.#instance = { wasm, runtime, vm, run, regions, base, contracts: new Map(), live: 'base' };
    return this.#instance;
  }

  #onInterrupt(): boolean {
    const call = this.#call;
    if (!call) return false;
    call.polls += GAS_PER_INTERRUPT;
    if (call.gasUsed > call.gasLimit) call.setFatal('OutOfGas', `gas limit ${call.gasLimit} exceeded`);
    return call.fatal !== null;
  }

  #onHost(args: QuickJSHandle[]): QuickJSHandle | undefined {
    const call = this.#call;
    const instance = this.#instance;
    if (!call || !instance) throw new TypeError('no call in progress');
    const { vm } = instance;
    const op = args[0] && vm.typeof(args[0]) === 'number' ? vm.getNumber(args[0]) : -1;
    try {
      return this.#hostOp(vm, call, op, args);
    } catch (error) {
      if (error instanceof ContractFailure) throw new Error(error.message);
      if (error instanceof TypeError || error instanceof RangeError) throw error;
      if (
        error instanceof AbiCodecError ||
        error instanceof ScaleCodecError ||
        error instanceof WireFormatError
      ) {
        throw new TypeError(error.message);
      }
      throw new Error('host operation failed');
    }
  }

  #hostOp(vm: QuickJSContext, call: CallState, op: number, args: QuickJSHandle[]): QuickJSHandle | undefined {
    const arg = (i: number) => {
      const handle = args[i];
      if (!handle) throw new TypeError('missing argument');
      return handle;
    };
    const str = (i: number) => {
      const handle = arg(i);
      if (vm.typeof(handle) !== 'string') throw new TypeError('expected a string');
      return vm.getString(handle);
    };
    const bytes = (i: number) => readBytes(vm, arg(i));
    const key = (i: number) => {
      const handle = arg(i);
      const k = vm.typeof(handle) === 'string' ? utf8(vm.getString(handle)) : readBytes(vm, handle);
      if (k.length === 0 || k.length > MAX_KEY_BYTES)
        throw new RangeError(`state keys are 1 to ${MAX_KEY_BYTES} bytes`);
      return k;
    };
    const limits = call.limits!;
    switch (op) {
      case HostOp.StateGet: {
        const k = key(1);
        const entry = call.state.get(k);
        call.charge(GAS_PER_HOST_CALL + k.length + (entry?.value.length ?? 0));
        if (!entry) return vm.null;
        return entry.type === 'string'
          ? vm.newString(new TextDecoder().decode(entry.value))
          : vm.newArrayBuffer(bufferOf(entry.value));
      }
      case HostOp.StateSet: {
        if (call.kind !== 'handle') throw new TypeError('state is read-only in a query');
        const k = key(1);
        const valueHandle = arg(2);
        const isString = vm.typeof(valueHandle) === 'string';
        const value = isString ? utf8(vm.getString(valueHandle)) : readBytes(vm, valueHandle);
        call.charge(GAS_PER_HOST_CALL + k.length + value.length);
        if (call.state.sizeAfterSet(k, value.length) > limits.stateBytes) {
          call.setFatal('StateTooLarge', `state would be larger than ${limits.stateBytes} bytes`);
          throw new ContractFailure('StateTooLarge', 'state too large');
        }
        call.state.set(k, isString ? 'string' : 'bytes', value);
        call.stateChanged = true;
        return undefined;
      }
      case HostOp.StateDelete: {
        if (call.kind !== 'handle') throw new TypeError('state is read-only in a query');
        const k = key(1);
        call.charge(GAS_PER_HOST_CALL + k.length);
        const deleted = call.state.delete(k);
        if (deleted) call.stateChanged = true;
        return deleted ? vm.true : vm.false;
      }
      case HostOp.StateHas: {
        const k = key(1);
        call.charge(GAS_PER_HOST_CALL + k.length);
        return call.state.has(k) ? vm.true : vm.false;
      }
      case HostOp.Random: {
        const handle = arg(1);
        const n = vm.typeof(handle) === 'number' ? vm.getNumber(handle) : Number.NaN;
        if (!Number.isInteger(n) || n < 0 || n > MAX_RANDOM_BYTES)
          throw new RangeError(`random takes 0 to ${MAX_RANDOM_BYTES} bytes`);
        call.charge(GAS_PER_HOST_CALL + n);
        return vm.newArrayBuffer(bufferOf(call.random!.next(n)));
      }
      case HostOp.Utf8Encode: {
        const encoded = utf8(str(1));
        call.charge(GAS_PER_HOST_CALL + encoded.length);
        return vm.newArrayBuffer(bufferOf(encoded));
      }
      case HostOp.Utf8Decode: {
        const input = bytes(1);
        call.charge(GAS_PER_HOST_CALL + input.length);
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(input);
        } catch {
          throw new TypeError('utf8.decode: input is not UTF-8');
        }
        return vm.newString(text);
      }
      case HostOp.AbiEncode:
      case HostOp.ScaleEncode: {
        const types = str(1);
        const json = str(2);
        call.charge(GAS_PER_HOST_CALL + types.length + json.length);
        const value = fromWire(JSON.parse(json));
        const out = op === HostOp.AbiEncode ? abiEncode(types, value) : scaleEncode(types, value);
        call.charge(out.length);
        return vm.newArrayBuffer(bufferOf(out));
      }
      case HostOp.AbiDecode:
      case HostOp.ScaleDecode: {
        const types = str(1);
        const input = bytes(2);
        call.charge(GAS_PER_HOST_CALL + types.length + input.length);
        const value = op === HostOp.AbiDecode ? abiDecode(types, input) : scaleDecode(types, input);
        const json = JSON.stringify(toWire(value));
        call.charge(json.length);
        return vm.newString(json);
      }
      case HostOp.Log: {
        const line = str(1);
        call.charge(GAS_PER_HOST_CALL + line.length);
        appendLog(call, line, limits.logBytes);
        return undefined;
      }
      case HostOp.Threw: {
        call.threw = str(1).slice(0, 500);
        return undefined;
      }
      case HostOp.Fail: {
        const code = str(1);
        const message = str(2);
        if (code !== 'InvalidContract' && code !== 'InvalidResult') throw new TypeError('bad failure code');
        call.failed = { code: code as ContractErrorCode, message: message.slice(0, 500) };
        return undefined;
      }
      case HostOp.Charge: {
        // Only the prelude holds `host`; the check keeps a bug there from ever crediting gas.
        const handle = arg(1);
        const gas = vm.typeof(handle) === 'number' ? vm.getNumber(handle) : Number.NaN;
        if (!Number.isSafeInteger(gas) || gas < 0) throw new TypeError('bad gas charge');
        call.charge(gas);
        return undefined;
      }
      case HostOp.Result: {
        call.result = { public: bytes(1), sealed: bytes(2) };
        return undefined;
      }
      default:
        throw new TypeError('unknown host operation');
    }
  }
}

function classifyThrown(message: string, outOfMemory: boolean): ContractErrorCode {
  if (outOfMemory || /^InternalError: out of memory/.test(message)) return 'OutOfMemory';
  // QuickJS reports a too-deep JSON.parse or RegExp as a SyntaxError "stack overflow".
  if (/^\w*Error: (stack overflow|Maximum call stack)/.test(message)) return 'StackOverflow';
  return 'ContractThrew';
}

/** `name: message` of an error handle, without running contract code where avoidable. */
function describeError(vm: QuickJSContext, handle: QuickJSHandle): string {
  try {
    if (vm.typeof(handle) !== 'object') return `thrown ${vm.typeof(handle)}`;
    const name = vm.getProp(handle, 'name');
    const message = vm.getProp(handle, 'message');
    const text = `${vm.typeof(name) === 'string' ? vm.getString(name) : 'Error'}: ${
      vm.typeof(message) === 'string' ? vm.getString(message) : ''
    }`;
    return text.slice(0, 500);
  } catch {
    return 'unprintable error';
  }
}

function readBytes(vm: QuickJSContext, handle: QuickJSHandle): Uint8Array {
  let lifetime: ReturnType<QuickJSContext['getArrayBuffer']>;
  try {
    lifetime = vm.getArrayBuffer(handle);
  } catch {
    throw new TypeError('expected bytes');
  }
  try {
    return new Uint8Array(lifetime.value);
  } finally {
    lifetime.dispose();
  }
}

function bufferOf(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  )
    return bytes.buffer;
  return bytes.slice().buffer;
}

function alignUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

import { Wasm, type WasmInstance, type WasmMemory, type WasmModule } from './wasm-api.js';
import { WasmModuleRefusedError } from './errors.js';
import { type HostBinding, hostImports, newBinding } from './host-functions.js';
import type { InstrumentedModule } from './instrument.js';
import { FUEL_PER_GAS, MAX_START_GAS } from './limits.js';
import { START_EXPORT } from './start-export.js';

type Value = number | bigint;

/** The instrumentation's control exports (instrument.ts) and the contract's entry points. */
export type ControlExports = {
  reset: (fuel: bigint) => void;
  fuelGet: () => bigint;
  fuelSet: (fuel: bigint) => void;
  depth: () => number;
  oom: () => number;
};

export type PooledInstance = {
  readonly binding: HostBinding;
  readonly control: ControlExports;
  readonly memory: WasmMemory;
  readonly entry: { handle: (() => void) | null; query: (() => void) | null };
  /** Memory contents right after the start function; its length is the memory size then. */
  readonly snapshot: Uint8Array;
  /** Every mutable global of the module: its setter and its value right after start. */
  readonly globals: { set: (value: Value) => void; initial: Value }[];
};

/**
 * The instances of one module (one code hash) in one engine thread. An instance is made once —
 * its start function run, metered, under MAX_START_GAS — then its memory and mutable globals are
 * snapshotted. After every call `give` puts the snapshot back (memory bytes, globals), so the
 * next call, of this contract or of another deployed with the same code, sees exactly a fresh
 * instance; an instance whose memory grew cannot shrink back and is dropped instead.
 */
export class InstancePool {
  #idle: PooledInstance | null = null;
  /** Gas the start function used (the same for every instance: start is deterministic). */
  startGas = 0;

  constructor(
    private readonly module: WasmModule,
    readonly info: InstrumentedModule,
    private readonly onCreate: () => void = () => {},
  ) {}

  /** An instance ready for a call. Throws WasmModuleRefusedError when the start function fails. */
  take(): PooledInstance {
    const idle = this.#idle;
    if (idle) {
      this.#idle = null;
      return idle;
    }
    return this.#create();
  }

  /** Resets an instance after a call and keeps it for the next one (or drops it). */
  give(instance: PooledInstance): void {
    const bytes = new Uint8Array(instance.memory.buffer);
    if (bytes.length !== instance.snapshot.length) {
      bytes.fill(0);
      return;
    }
    bytes.set(instance.snapshot);
    for (const global of instance.globals) global.set(global.initial);
    this.#idle = instance;
  }

  /** Drops the idle instance, wiping its memory. */
  clear(): void {
    if (this.#idle) new Uint8Array(this.#idle.memory.buffer).fill(0);
    this.#idle = null;
  }

  #create(): PooledInstance {
    const binding = newBinding();
    let instance: WasmInstance;
    try {
      instance = new Wasm.Instance(this.module, hostImports(binding));
    } catch (error) {
      // Data or element segments out of bounds trap while instantiating.
      throw new WasmModuleRefusedError('start-trapped', `instantiation trapped: ${describe(error)}`);
    }
    const exports = instance.exports;
    const fn = <T>(name: string): T => exports[name] as T;
    const control: ControlExports = {
      reset: fn('__pb_reset'),
      fuelGet: fn('__pb_fuel_get'),
      fuelSet: fn('__pb_fuel_set'),
      depth: fn('__pb_depth'),
      oom: fn('__pb_oom'),
    };
    const memory = exports.memory as WasmMemory;
    binding.memory = memory;
    binding.fuelGet = control.fuelGet;
    binding.fuelSet = control.fuelSet;
    const start = exports[START_EXPORT] as (() => void) | undefined;
    const budget = BigInt(MAX_START_GAS * FUEL_PER_GAS);
    control.reset(budget);
    if (start) {
      try {
        start();
      } catch (error) {
        if (control.fuelGet() < 0n)
          throw new WasmModuleRefusedError(
            'start-out-of-gas',
            `the start function used more than ${MAX_START_GAS} gas`,
          );
        throw new WasmModuleRefusedError('start-trapped', `the start function trapped: ${describe(error)}`);
      }
    }
    this.startGas = Math.ceil(Number(budget - control.fuelGet()) / FUEL_PER_GAS);
    this.onCreate();
    const globals = this.info.globals.map((g) => {
      const get = fn<() => Value>(g.get);
      return { set: fn<(value: Value) => void>(g.set), initial: get() };
    });
    return {
      binding,
      control,
      memory,
      entry: {
        handle: fn<(() => void) | undefined>('handle') ?? null,
        query: fn<(() => void) | undefined>('query') ?? null,
      },
      snapshot: new Uint8Array(memory.buffer).slice(),
      globals,
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

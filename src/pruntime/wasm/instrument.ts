import { WasmModuleRefusedError } from './errors.js';
import { WASM_LIMITS } from './limits.js';

export type InstrumentOptions = {
  /** The engine's memory cap, in 64 KiB pages. */
  maxMemoryPages: number;
};

export type InstrumentedModule = {
  /** The instrumented module (`new WebAssembly.Module(bytes)` accepts it). */
  bytes: Uint8Array;
  exports: { handle: boolean; query: boolean };
  hasStart: boolean;
  /** `maxPages` = min(declared maximum ?? cap, cap). */
  memory: { initialPages: number; maxPages: number };
  /**
   * One entry per mutable global of the original module: the exported accessor functions that
   * read and write it (for resetting an instance).
   */
  globals: { get: string; set: string }[];
};

/** Work in progress: the first commit only fixes the API. */
export function instrumentModule(bytes: Uint8Array, options: InstrumentOptions): InstrumentedModule {
  if (bytes.length > WASM_LIMITS.moduleBytes) {
    throw new WasmModuleRefusedError(
      'module-too-large',
      `${bytes.length} bytes, the limit is ${WASM_LIMITS.moduleBytes}`,
    );
  }
  void options;
  throw new WasmModuleRefusedError('malformed', 'the instrumenter is not written yet');
}

/**
 * The parts of the WebAssembly JavaScript API the runtime uses. The project compiles without the
 * DOM lib, which is where TypeScript describes WebAssembly (quickjs-wasm.ts does the same).
 */
export type WasmMemory = { readonly buffer: ArrayBuffer };
export type WasmModule = object;
export type WasmInstance = { readonly exports: Record<string, unknown> };
export type WasmImports = Record<string, Record<string, unknown>>;

type WasmApi = {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
  /** A trap: `unreachable`, an access out of bounds, a division by zero, … */
  RuntimeError: new (
    ...args: never[]
  ) => Error;
};

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

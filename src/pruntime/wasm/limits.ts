/**
 * The bounds and prices of WebAssembly contracts (docs/wasm-host-interface.md#limits and #gas).
 * They are part of the worker's measured code: changing one changes the gas every call is charged.
 */
export const WASM_LIMITS = {
  moduleBytes: 4 * 1024 * 1024,
  tableEntries: 65_536,
  functions: 100_000,
  /** Parameters included. */
  localsPerFunction: 1_024,
  functionBodyBytes: 256 * 1024,
  globals: 1_024,
  /**
   * Frames of contract functions (host functions do not count); a frame that may take more than
   * FRAME_UNIT_BYTES of native stack counts as several.
   */
  callDepth: 1_024,
} as const;

/** Fuel is counted in instructions; this many make one gas. */
export const FUEL_PER_GAS = 100;
/** What `memory.grow` costs per 64 KiB page asked for (granted or not). */
export const GAS_PER_PAGE = 1_000;
/** `memory.copy` and `memory.fill` cost one fuel per this many bytes (rounded up). */
export const FUEL_PER_BULK_BYTES = 8;
/** The start function's budget; what it uses is charged to every call. */
export const MAX_START_GAS = 10_000_000;
/**
 * The native stack one unit of call depth stands for: callDepth units bound a call's WebAssembly
 * frames to 32 MiB, half the engine thread's stack, whatever the frames hold.
 */
export const FRAME_UNIT_BYTES = 32 * 1024;

/** One WebAssembly memory page (the QuickJS engine's own module counts in it too). */
export const WASM_PAGE_BYTES = 64 * 1024;

/** The memory cap in WebAssembly pages: what `instrumentModule` lowers a module's maximum to. */
export function maxMemoryPagesOf(memoryBytes: number): number {
  return Math.floor(memoryBytes / WASM_PAGE_BYTES);
}

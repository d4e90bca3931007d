import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  type QuickJSWASMModule,
  RELEASE_SYNC,
  newQuickJSWASMModuleFromVariant,
  newVariant,
} from 'quickjs-emscripten';
import { WASM_PAGE_BYTES } from '../wasm/limits.js';
import { EngineFailureError } from './errors.js';

/**
 * The QuickJS WebAssembly build the engine runs (quickjs-emscripten's release-sync variant,
 * Bellard's QuickJS), instantiated so that nothing in it can observe the host:
 *
 * - the wasm clock import returns 0 and the local-time, timer and environment imports are
 *   replaced (Date is also removed from contexts; this closes the door below it);
 * - its linear memory is one fixed-size `WebAssembly.Memory` that never grows: the allocator's
 *   request for more memory is refused, so a call runs out of memory at the same byte on every
 *   worker (quickjs-emscripten's own `setMemoryLimit` only bounds single allocations in this
 *   build, because `malloc_usable_size` is unavailable under Emscripten);
 * - its memory layout (static data, the shadow stack, the heap and the allocator's break
 *   pointer) is read from the wasm binary, so the sandbox can snapshot and restore it exactly.
 */
// The project compiles without the DOM lib, whose types describe WebAssembly; these are the few
// parts used here.
export type WasmMemory = { readonly buffer: ArrayBuffer };
type WasmModule = object;
type WasmInstance = { exports: Record<string, unknown> };
type WasmImports = Record<string, Record<string, unknown>>;
type WasmApi = {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
};
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const QUICKJS_VARIANT_PACKAGE = '@jitl/quickjs-wasmfile-release-sync';
/** The build declares a 16 MiB minimum memory. */
const MIN_MEMORY_BYTES = 256 * WASM_PAGE_BYTES;
const CHECK_BYTES = 128 * 1024;

export function quickjsWasmPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve(`${QUICKJS_VARIANT_PACKAGE}/package.json`);
  return path.join(path.dirname(pkg), 'dist', 'emscripten-module.wasm');
}

export type WasmLayout = {
  /** Initial shadow stack pointer: the stack grows down from here. */
  stackTop: number;
  /** First heap byte (`__heap_base`, the allocator break pointer's initial value). */
  heapBase: number;
  /** End of the last initialised data segment; static variables (bss) follow it. */
  dataEnd: number;
  /** Address of the allocator's break pointer (`sbrk`'s static). */
  sbrkAddress: number;
};

let compiled: { module: WasmModule; layout: WasmLayout } | undefined;

function compiledWasm(): { module: WasmModule; layout: WasmLayout } {
  if (!compiled) {
    const bytes = readFileSync(quickjsWasmPath());
    compiled = { module: new Wasm.Module(bytes), layout: analyseWasm(bytes) };
  }
  return compiled;
}

/** Reads the memory layout from the binary: global 0 (the stack pointer) and the data segments. */
export function analyseWasm(bytes: Uint8Array): WasmLayout {
  let p = 8;
  const u = () => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[p++]!;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const s32 = () => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[p++]!;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (shift < 32 && byte & 0x40) result |= ~0 << shift;
    return result;
  };
  const constExpr = (): number | null => {
    const op = bytes[p++];
    let value: number | null = null;
    if (op === 0x41) value = s32();
    else while (bytes[p] !== 0x0b && p < bytes.length) p++;
    if (bytes[p++] !== 0x0b) throw new Error('bad const expr');
    return value;
  };
  let stackTop: number | null = null;
  const segments: { offset: number; data: Uint8Array }[] = [];
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = u();
    const end = p + size;
    if (id === 6) {
      const count = u();
      for (let i = 0; i < count; i++) {
        p += 2; // value type, mutability
        const init = constExpr();
        if (i === 0) stackTop = init;
      }
    } else if (id === 11) {
      const count = u();
      for (let i = 0; i < count; i++) {
        const flags = u();
        let offset: number | null = null;
        if (flags === 0) offset = constExpr();
        else if (flags === 2) {
          u();
          offset = constExpr();
        }
        const length = u();
        if (offset !== null) segments.push({ offset, data: bytes.subarray(p, p + length) });
        p += length;
      }
    }
    p = end;
  }
  if (stackTop === null || segments.length === 0) throw new Error('unexpected QuickJS wasm layout');
  const dataEnd = Math.max(...segments.map((s) => s.offset + s.data.length));
  const image = new Uint8Array(dataEnd + 4);
  for (const s of segments) image.set(s.data, s.offset);
  const view = new DataView(image.buffer);
  // sbrk's static is initialised to __heap_base: the stack top rounded up to 16.
  const matches: { address: number; value: number }[] = [];
  for (let a = 0; a + 4 <= image.length; a += 4) {
    const v = view.getUint32(a, true);
    if (v >= stackTop && v < stackTop + 16 && v % 16 === 0) matches.push({ address: a, value: v });
  }
  if (matches.length !== 1) throw new Error('cannot locate the allocator break pointer in the QuickJS wasm');
  return { stackTop, heapBase: matches[0]!.value, dataEnd, sbrkAddress: matches[0]!.address };
}

type EmscriptenExports = { _malloc(size: number): number; _free(pointer: number): void };

/** One QuickJS WebAssembly instance with a fixed memory of `memoryBytes` (rounded to pages). */
export class QuickJsWasm {
  readonly module: QuickJSWASMModule;
  readonly memory: WasmMemory;
  readonly layout: WasmLayout;
  /** How often the allocator asked for more memory and was refused. */
  growthRefusals = 0;
  readonly #exports: EmscriptenExports;

  private constructor(
    module: QuickJSWASMModule,
    memory: WasmMemory,
    layout: WasmLayout,
    exports: EmscriptenExports,
  ) {
    this.module = module;
    this.memory = memory;
    this.layout = layout;
    this.#exports = exports;
  }

  /** The memory layout of the pinned binary (no instance needed). */
  static layout(): WasmLayout {
    return compiledWasm().layout;
  }

  static async create(memoryBytes: number): Promise<QuickJsWasm> {
    const { module: wasmModule, layout } = compiledWasm();
    const pages = Math.ceil(Math.max(memoryBytes, MIN_MEMORY_BYTES) / WASM_PAGE_BYTES);
    const memory = new Wasm.Memory({ initial: pages, maximum: pages });
    let refusals = () => {};
    const instantiateWasm = (imports: WasmImports, onSuccess: (i: WasmInstance) => void) => {
      const env = imports.a as Record<string, unknown> | undefined;
      if (!env) throw new Error('unexpected QuickJS wasm imports');
      replaceHostImports(env, memory, () => refusals());
      const instance = new Wasm.Instance(wasmModule, imports);
      onSuccess(instance);
      return instance.exports;
    };
    const variant = newVariant(RELEASE_SYNC, {
      emscriptenModule: { wasmMemory: memory, instantiateWasm } as unknown as NonNullable<
        Parameters<typeof newVariant>[1]['emscriptenModule']
      >,
    });
    let module: QuickJSWASMModule;
    try {
      module = await newQuickJSWASMModuleFromVariant(variant);
    } catch (cause) {
      throw new EngineFailureError('startup', 'cannot instantiate the QuickJS WebAssembly module', { cause });
    }
    const exports = (module as unknown as { module: EmscriptenExports }).module;
    if (typeof exports?._malloc !== 'function' || typeof exports._free !== 'function')
      throw new EngineFailureError('startup', 'the QuickJS module does not expose malloc/free');
    const wasm = new QuickJsWasm(module, memory, layout, exports);
    refusals = () => {
      wasm.growthRefusals++;
    };
    wasm.#checkAllocator();
    return wasm;
  }

  /** The allocator's current break: the heap in use ends below it. */
  get brk(): number {
    return new DataView(this.memory.buffer).getUint32(this.layout.sbrkAddress, true);
  }

  malloc(size: number): number {
    return this.#exports._malloc(size);
  }

  free(pointer: number): void {
    this.#exports._free(pointer);
  }

  /**
   * The snapshot design relies on two allocator facts, checked here on every new instance: the
   * break pointer is where the binary says, and it never moves down (freed memory is not
   * returned), so the break at the end of a call bounds every byte the call touched in the heap.
   */
  #checkAllocator(): void {
    const before = this.brk;
    if (before < this.layout.heapBase || before > this.memory.buffer.byteLength)
      throw new EngineFailureError('startup', 'QuickJS allocator break pointer is not where expected');
    const pointer = this.malloc(CHECK_BYTES);
    const grown = this.brk;
    this.free(pointer);
    const after = this.brk;
    if (pointer === 0 || grown < pointer + CHECK_BYTES || after !== grown)
      throw new EngineFailureError(
        'startup',
        'QuickJS allocator does not behave as the snapshot design needs',
      );
  }
}

/**
 * Replaces the Emscripten imports that could observe or depend on the host. Each is found by a
 * fingerprint of its source (the build is pinned by package-lock and by the measurement); an
 * import that mentions time and is not recognised stops the engine instead of leaking a clock.
 */
function replaceHostImports(env: Record<string, unknown>, memory: WasmMemory, refused: () => void): void {
  const trap = (what: string) => () => {
    throw new Error(`${what} is not available inside the contract sandbox`);
  };
  let replacedClock = false;
  let replacedGrow = false;
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'function') continue;
    const source = Function.prototype.toString.call(value);
    if (/^\(\)\s*=>\s*Date\.now\(\)$/.test(source)) {
      env[name] = () => 0;
      replacedClock = true;
    } else if (source.includes('.grow(')) {
      env[name] = () => {
        refused();
        return 0;
      };
      replacedGrow = true;
    } else if (source.includes('getTimezoneOffset') || source.includes('new Date')) {
      env[name] = trap('local time');
    } else if (source.includes('setTimeout')) {
      env[name] = trap('timers');
    } else if (/for\s*\(\s*\w+ of \w+\(\)\)/.test(source)) {
      // environ_get: nothing to copy, the environment is empty.
      env[name] = () => 0;
    } else if (/=\s*\w+\(\);\s*\w+\[\w+>>2\]=\w+\.length/.test(source)) {
      // environ_sizes_get: zero variables, zero bytes.
      env[name] = (countPointer: number, sizePointer: number) => {
        const view = new DataView(memory.buffer);
        view.setUint32(countPointer, 0, true);
        view.setUint32(sizePointer, 0, true);
        return 0;
      };
    } else if (/Date|performance|random/i.test(source)) {
      throw new EngineFailureError('startup', `unrecognised time-dependent wasm import "${name}"`);
    }
  }
  if (!replacedClock || !replacedGrow)
    throw new EngineFailureError(
      'startup',
      'unsupported QuickJS wasm build (clock or memory import not found)',
    );
}

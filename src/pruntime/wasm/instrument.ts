/**
 * The WebAssembly instrumenter: validates a contract module against the host interface and
 * rewrites it so every call is metered and bounded (docs/wasm-host-interface.md).
 *
 * Why hand-written rather than binaryen or another npm parser: the gas a call uses must be a
 * function of the module bytes and of the worker's *measured* code (src/ is hashed into the
 * enclave measurement, node_modules is not), so two workers with one measurement always derive
 * the same instrumented module. binaryen rewrites the whole module through its own IR (its output
 * changes between releases, and its wasm blob sits in node_modules, outside the measurement); a
 * single-pass byte-level rewrite keeps every original instruction and only inserts. Validation of
 * the result is V8's own (`new WebAssembly.Module`).
 *
 * What the rewrite adds:
 * - fuel: a non-exported mutable i64 global (exported mutable globals are slower in V8), charged
 *   at the entry of every metered block with the block's instruction count; below zero it traps.
 *   A metered block runs up to the next control instruction (block entry and calls do not end
 *   one: the code after a call is charged before it, exact whenever the callee returns); `end`
 *   and `else` are not counted; a block ending in an `if … else` also charges what both branches'
 *   first blocks share. Every path is charged exactly its instructions.
 * - depth: every function that calls a contract function adds its frame's weight (one, more for
 *   a frame that may exceed FRAME_UNIT_BYTES) to an i32 global and traps past the call-depth
 *   limit; a leaf is not counted (it can only add one frame on top);
 * - `memory.grow` is charged per page asked for and records a failed grow in an `oom` global;
 *   `memory.copy`/`memory.fill` are charged per 8 bytes;
 * - float results that can be NaN are replaced by the canonical NaN;
 * - control exports (not metered, not depth-counted): `__pb_reset(fuel)`, `__pb_fuel_get`,
 *   `__pb_fuel_set`, `__pb_depth`, `__pb_oom`, and `__pb_gget_<i>`/`__pb_gset_<i>` per mutable
 *   global of the original module.
 */
import { InvalidInputError } from '../../base/errors.js';
import { WASM_MAGIC } from '../../protocol/contract-code.js';
import { BinaryWriter } from './binary-writer.js';
import { WasmModuleRefusedError } from './errors.js';
import { type Instrumentation, type Scratch, rewriteBody } from './function-body.js';
import { FUEL_PER_GAS, MAX_START_GAS, WASM_LIMITS } from './limits.js';
import { type FuncType, type Range, WASM_VERSION, parseModule, refuse } from './module-parser.js';
import { Op, ValType } from './opcodes.js';

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

// The project compiles without the DOM lib, whose types describe WebAssembly.
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { validate(bytes: Uint8Array): boolean; Module: new (bytes: Uint8Array) => object };
  }
).WebAssembly;

const MAX_PAGES_32 = 65_536;
/** The fuel global's initial value: the start function's budget. */
const START_FUEL = MAX_START_GAS * FUEL_PER_GAS;

/**
 * Validates `bytes` as a contract module and returns the instrumented module. Throws
 * `WasmModuleRefusedError` naming why a module is refused. The output depends on nothing but
 * `bytes`, `options` and this code: the same input gives the same bytes.
 */
export function instrumentModule(bytes: Uint8Array, options: InstrumentOptions): InstrumentedModule {
  // Before anything else, so a huge module costs nothing.
  if (bytes.length > WASM_LIMITS.moduleBytes) {
    refuse('module-too-large', `${bytes.length} bytes, the limit is ${WASM_LIMITS.moduleBytes}`);
  }
  const cap = options.maxMemoryPages;
  if (!Number.isInteger(cap) || cap < 1 || cap > MAX_PAGES_32) {
    throw new InvalidInputError('maxMemoryPages', `an integer from 1 to ${MAX_PAGES_32}`);
  }
  // Our own reading first, so a feature V8 does not know (several memories, 64-bit memory, GC)
  // is refused by name; then V8's full validation (types, indices) before anything is rewritten.
  const m = parseModule(bytes);

  const memoryExport = m.exportNames.get('memory');
  if (!m.memory || memoryExport?.kind !== 2) refuse('no-memory-export', 'no memory is exported as `memory`');
  if (m.memory.initial > cap) {
    refuse('memory-too-large', `an initial memory of ${m.memory.initial} pages, the cap is ${cap}`);
  }
  if (!Wasm.validate(bytes)) refuse('malformed', 'V8 does not accept it as a WebAssembly module');
  const maxPages = Math.min(m.memory.maximum ?? cap, cap);
  const functionCount = m.importedFunctions + m.functionTypes.length;
  const typeOfFunction = (index: number): FuncType | undefined => {
    if (index < m.importedFunctions) return undefined; // imports are host functions, never entry points
    return m.types[m.functionTypes[index - m.importedFunctions]!];
  };
  const entry = (name: 'handle' | 'query'): boolean => {
    const e = m.exportNames.get(name);
    if (!e) return false;
    const type = e.kind === 0 ? typeOfFunction(e.index) : undefined;
    if (!type || type.params.length > 0 || type.results.length > 0) {
      refuse('malformed', `export ${name} is not a function () -> ()`);
    }
    return true;
  };
  const exports = { handle: entry('handle'), query: entry('query') };

  // New types go after the module's own; an existing identical type is reused.
  const typeKeys = new Map<string, number>();
  m.types.forEach((t, i) => {
    const key = `${t.params}>${t.results}`;
    if (!typeKeys.has(key)) typeKeys.set(key, i);
  });
  const newTypes: FuncType[] = [];
  const typeIndex = (params: number[], results: number[]): number => {
    const key = `${params}>${results}`;
    let index = typeKeys.get(key);
    if (index === undefined) {
      index = m.types.length + newTypes.length;
      newTypes.push({ params, results });
      typeKeys.set(key, index);
    }
    return index;
  };

  const ins: Instrumentation = {
    fuel: m.globals.length,
    depth: m.globals.length + 1,
    oom: m.globals.length + 2,
    blockType: (results) => typeIndex([], results),
    types: m.types,
    functionTypes: m.allFunctionTypes,
    importedFunctions: m.importedFunctions,
  };

  // Code: the original bodies rewritten, then the control functions.
  const maxBody = m.bodies.reduce((max, b) => Math.max(max, b.end - b.start), 0);
  const scratch: Scratch = {
    starts: new Int32Array(maxBody + 1),
    roles: new Uint8Array(maxBody + 1),
    elseOf: new Int32Array(maxBody + 1),
    discount: new Int32Array(maxBody + 2),
    body: new BinaryWriter(maxBody * 4 + 1024),
  };
  const code = new BinaryWriter(bytes.length * 2 + 1024);
  m.bodies.forEach((body, i) => {
    const type = m.types[m.functionTypes[i]!] ?? refuse('malformed', `function ${i} of an unknown type`);
    rewriteBody(bytes, body, type, m.importedFunctions + i, ins, scratch, code);
  });

  type Control = { name: string; type: number; body: number[] };
  const { i32, i64 } = ValType;
  const controls: Control[] = [
    {
      name: '__pb_reset',
      type: typeIndex([i64], []),
      body: [Op.localGet, 0, Op.globalSet, ins.fuel, Op.i32Const, 0, Op.globalSet, ins.depth].concat([
        Op.i32Const,
        0,
        Op.globalSet,
        ins.oom,
      ]),
    },
    { name: '__pb_fuel_get', type: typeIndex([], [i64]), body: [Op.globalGet, ins.fuel] },
    { name: '__pb_fuel_set', type: typeIndex([i64], []), body: [Op.localGet, 0, Op.globalSet, ins.fuel] },
    { name: '__pb_depth', type: typeIndex([], [i32]), body: [Op.globalGet, ins.depth] },
    { name: '__pb_oom', type: typeIndex([], [i32]), body: [Op.globalGet, ins.oom] },
  ];
  const globals: { get: string; set: string }[] = [];
  m.globals.forEach((g, i) => {
    if (!g.mutable) return;
    const names = { get: `__pb_gget_${i}`, set: `__pb_gset_${i}` };
    globals.push(names);
    controls.push({ name: names.get, type: typeIndex([], [g.type]), body: [Op.globalGet, i] });
    controls.push({
      name: names.set,
      type: typeIndex([g.type], []),
      body: [Op.localGet, 0, Op.globalSet, i],
    });
  });
  for (const c of controls) {
    // Every immediate above is an index: unsigned LEB128 after its opcode.
    const body = new BinaryWriter().u32(0);
    for (let k = 0; k < c.body.length; k += 2) body.byte(c.body[k]!).u32(c.body[k + 1]!);
    body.byte(Op.end);
    code.u32(body.length).bytes(body.view());
  }

  const out = new BinaryWriter(code.length + bytes.length + 1024);
  out.bytes(WASM_MAGIC).bytes(WASM_VERSION);
  const raw = (range: Range | undefined): Uint8Array =>
    range ? bytes.subarray(range.start, range.end) : new Uint8Array(0);

  const types = new BinaryWriter().u32(m.types.length + newTypes.length).bytes(raw(m.typeEntries));
  for (const t of newTypes) {
    types.byte(0x60).u32(t.params.length).bytes(Uint8Array.from(t.params));
    types.u32(t.results.length).bytes(Uint8Array.from(t.results));
  }
  out.section(1, types);
  if (m.importSection) out.section(2, raw(m.importSection));
  const functions = new BinaryWriter().u32(m.functionTypes.length + controls.length);
  for (const t of m.functionTypes) functions.u32(t);
  for (const c of controls) functions.u32(c.type);
  out.section(3, functions);
  if (m.tableSection) out.section(4, raw(m.tableSection));
  out.section(5, new BinaryWriter().u32(1).byte(1).u32(m.memory.initial).u32(maxPages));
  const globalSection = new BinaryWriter().u32(m.globals.length + 3).bytes(raw(m.globalEntries));
  globalSection.byte(ValType.i64).byte(1).byte(Op.i64Const).signed(START_FUEL).byte(Op.end);
  globalSection.byte(ValType.i32).byte(1).byte(Op.i32Const).signed(0).byte(Op.end);
  globalSection.byte(ValType.i32).byte(1).byte(Op.i32Const).signed(0).byte(Op.end);
  out.section(6, globalSection);
  const exportSection = new BinaryWriter().u32(m.exportCount + controls.length).bytes(raw(m.exportEntries));
  controls.forEach((c, k) => {
    exportSection
      .name(c.name)
      .byte(0)
      .u32(functionCount + k);
  });

  out.section(7, exportSection);
  if (m.startSection) out.section(8, raw(m.startSection));
  if (m.elemSection) out.section(9, raw(m.elemSection));
  if (m.dataCountSection) out.section(12, raw(m.dataCountSection));
  out.section(
    10,
    new BinaryWriter(code.length + 8).u32(m.bodies.length + controls.length).bytes(code.view()),
  );
  if (m.dataSection) out.section(11, raw(m.dataSection));

  const result = out.finish();
  try {
    new Wasm.Module(result);
  } catch (cause) {
    throw new WasmModuleRefusedError('malformed', 'the instrumented module does not validate', { cause });
  }
  return {
    bytes: result,
    exports,
    hasStart: m.startSection !== undefined,
    memory: { initialPages: m.memory.initial, maxPages },
    globals,
  };
}

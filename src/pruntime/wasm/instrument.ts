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
import { BinaryReader } from './binary-reader.js';
import { BinaryWriter } from './binary-writer.js';
import { type WasmRefusalReason, WasmModuleRefusedError } from './errors.js';
import { HOST_FUNCTIONS, HOST_MODULE, type WasmValType } from './host-interface.js';
import {
  FRAME_UNIT_BYTES,
  FUEL_PER_BULK_BYTES,
  FUEL_PER_GAS,
  GAS_PER_PAGE,
  MAX_START_GAS,
  WASM_LIMITS,
} from './limits.js';
import {
  BLOCK_EMPTY,
  FC_MEMORY_COPY,
  FC_MEMORY_FILL,
  Imm,
  Op,
  Role,
  ValType,
  immediates,
  refusedFC,
  refusedOpcode,
  pops,
  pushes,
  roles,
} from './opcodes.js';

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
const FUEL_PER_PAGE = GAS_PER_PAGE * FUEL_PER_GAS;

type FuncType = { params: number[]; results: number[] };
type Range = { start: number; end: number };

type ParsedModule = {
  types: FuncType[];
  /** Raw section payloads past their item count, copied as they are. */
  typeEntries: Range | undefined;
  importSection: Range | undefined;
  importedFunctions: number;
  /** Type index of every function, imported ones first. */
  allFunctionTypes: number[];
  functionTypes: number[];
  tableSection: Range | undefined;
  memory: { initial: number; maximum: number | undefined } | undefined;
  globalEntries: Range | undefined;
  globals: { type: number; mutable: boolean }[];
  exportEntries: Range | undefined;
  exportCount: number;
  exportNames: Map<string, { kind: number; index: number }>;
  startSection: Range | undefined;
  elemSection: Range | undefined;
  dataCountSection: Range | undefined;
  bodies: Range[];
  dataSection: Range | undefined;
};

function refuse(reason: WasmRefusalReason, what: string): never {
  throw new WasmModuleRefusedError(reason, what);
}

const valTypeNames: Record<number, WasmValType | 'f32' | 'f64'> = {
  [ValType.i32]: 'i32',
  [ValType.i64]: 'i64',
  [ValType.f32]: 'f32',
  [ValType.f64]: 'f64',
};

/** Numeric value types only: v128 is SIMD, anything else a reference type. */
function checkValType(type: number, where: string): void {
  if (valTypeNames[type] !== undefined) return;
  if (type === ValType.v128) refuse('simd', `a v128 value in ${where}`);
  refuse('unsupported-feature', `value type 0x${type.toString(16)} (reference types) in ${where}`);
}

function readValTypes(r: BinaryReader, where: string): number[] {
  const count = r.u32();
  const types: number[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    checkValType(type, where);
    types.push(type);
  }
  return types;
}

/** Skips a constant expression (global initialiser, segment offset) up to its `end`. */
function skipConstExpr(r: BinaryReader, where: string): void {
  for (;;) {
    const op = r.u8();
    if (op === Op.end) return;
    if (op === Op.i32Const) r.skipSigned(32);
    else if (op === Op.i64Const) r.skipSigned(64);
    else if (op === Op.f32Const) r.skip(4);
    else if (op === Op.f64Const) r.skip(8);
    else if (op === Op.globalGet) r.u32();
    else if (op === 0xfd) refuse('simd', `a v128 constant in ${where}`);
    else if (op === 0xd0 || op === 0xd2) refuse('unsupported-feature', `a reference in ${where}`);
    else if (op < 0x6a || op > 0x7e) r.fail(`opcode 0x${op.toString(16)} in ${where}`);
    // i32/i64 add, sub, mul (extended constant expressions) take no immediate.
  }
}

function parseModule(bytes: Uint8Array): ParsedModule {
  const r = new BinaryReader(bytes);
  if (r.take(4).join() !== '0,97,115,109') r.fail('no WebAssembly magic');
  if (r.take(4).join() !== '1,0,0,0') r.fail('not WebAssembly version 1');
  const m: ParsedModule = {
    types: [],
    typeEntries: undefined,
    importSection: undefined,
    importedFunctions: 0,
    allFunctionTypes: [],
    functionTypes: [],
    tableSection: undefined,
    memory: undefined,
    globalEntries: undefined,
    globals: [],
    exportEntries: undefined,
    exportCount: 0,
    exportNames: new Map(),
    startSection: undefined,
    elemSection: undefined,
    dataCountSection: undefined,
    bodies: [],
    dataSection: undefined,
  };
  while (!r.atEnd) {
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    if (size > r.end - start) r.fail(`section ${id} longer than the module`);
    const section = new BinaryReader(bytes, start, start + size);
    const whole = { start, end: start + size };
    switch (id) {
      case 0: // custom sections (names, producers) are dropped
        break;
      case 1:
        parseTypes(section, m);
        break;
      case 2:
        parseImports(section, m);
        m.importSection = whole;
        break;
      case 3: {
        const count = section.u32();
        for (let i = 0; i < count; i++) m.functionTypes.push(section.u32());
        m.allFunctionTypes.push(...m.functionTypes);
        break;
      }
      case 4:
        parseTables(section);
        m.tableSection = whole;
        break;
      case 5:
        m.memory = parseMemory(section);
        break;
      case 6:
        parseGlobals(section, m);
        break;
      case 7:
        parseExports(section, m);
        break;
      case 8:
        m.startSection = whole;
        break;
      case 9:
        parseElements(section);
        m.elemSection = whole;
        break;
      case 10:
        parseCode(section, m);
        break;
      case 11:
        parseData(section);
        m.dataSection = whole;
        break;
      case 12:
        m.dataCountSection = whole;
        break;
      case 13:
        refuse('unsupported-feature', 'a tag section (exceptions)');
        break;
      default:
        r.fail(`unknown section ${id}`);
    }
    r.pos = start + size;
  }
  const functions = m.importedFunctions + m.functionTypes.length;
  if (functions > WASM_LIMITS.functions) {
    refuse('too-many-functions', `${functions} functions, the limit is ${WASM_LIMITS.functions}`);
  }
  if (m.bodies.length !== m.functionTypes.length) r.fail('function and code sections of different lengths');
  return m;
}

function parseTypes(r: BinaryReader, m: ParsedModule): void {
  const count = r.u32();
  const entriesStart = r.pos;
  for (let i = 0; i < count; i++) {
    const form = r.u8();
    if (form !== 0x60) refuse('unsupported-feature', `type form 0x${form.toString(16)} (GC types)`);
    const params = readValTypes(r, `type ${i}`);
    const results = readValTypes(r, `type ${i}`);
    m.types.push({ params, results });
  }
  m.typeEntries = { start: entriesStart, end: r.end };
}

function sameTypes(a: readonly number[], b: readonly WasmValType[]): boolean {
  return a.length === b.length && a.every((t, i) => valTypeNames[t] === b[i]);
}

function parseImports(r: BinaryReader, m: ParsedModule): void {
  const count = r.u32();
  const kinds = ['a function', 'a table', 'a memory', 'a global', 'a tag'];
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.u8();
    const what = `${module}.${name}`;
    if (kind !== 0) refuse('import-not-allowed', `${what} (${kinds[kind] ?? `import kind ${kind}`})`);
    const typeIndex = r.u32();
    const type = m.types[typeIndex] ?? r.fail(`import ${what} of unknown type ${typeIndex}`);
    const host =
      module === HOST_MODULE && Object.hasOwn(HOST_FUNCTIONS, name) ? HOST_FUNCTIONS[name] : undefined;
    if (!host) refuse('import-not-allowed', `${what} is not a host function`);
    if (!sameTypes(type.params, host.params) || !sameTypes(type.results, host.results)) {
      refuse(
        'import-not-allowed',
        `${what} with another signature than (${host.params}) -> (${host.results})`,
      );
    }
    m.importedFunctions++;
    m.allFunctionTypes.push(typeIndex);
  }
}

function parseTables(r: BinaryReader): void {
  const count = r.u32();
  if (count > 1) refuse('unsupported-feature', `${count} tables (one is allowed)`);
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    if (type !== ValType.funcref) refuse('unsupported-feature', `a table of type 0x${type.toString(16)}`);
    const flags = r.u8();
    if (flags > 1) refuse('unsupported-feature', `table limits flags ${flags}`);
    const initial = r.u32();
    if (flags === 1) r.u32();
    if (initial > WASM_LIMITS.tableEntries) {
      refuse('table-too-large', `a table of ${initial} entries, the limit is ${WASM_LIMITS.tableEntries}`);
    }
  }
}

function parseMemory(r: BinaryReader): { initial: number; maximum: number | undefined } | undefined {
  const count = r.u32();
  if (count > 1) refuse('unsupported-feature', `${count} memories (one is allowed)`);
  if (count === 0) return undefined;
  const flags = r.u8();
  if (flags === 2 || flags === 3) refuse('threads', 'a shared memory');
  if (flags > 3) refuse('unsupported-feature', `memory limits flags ${flags} (64-bit memory)`);
  const initial = r.u32();
  const maximum = flags === 1 ? r.u32() : undefined;
  return { initial, maximum };
}

function parseGlobals(r: BinaryReader, m: ParsedModule): void {
  const count = r.u32();
  if (count > WASM_LIMITS.globals) {
    refuse('too-many-globals', `${count} globals, the limit is ${WASM_LIMITS.globals}`);
  }
  const entriesStart = r.pos;
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    checkValType(type, `global ${i}`);
    const mutability = r.u8();
    if (mutability > 1) r.fail(`global ${i} mutability ${mutability}`);
    skipConstExpr(r, `global ${i}`);
    m.globals.push({ type, mutable: mutability === 1 });
  }
  m.globalEntries = { start: entriesStart, end: r.pos };
}

function parseExports(r: BinaryReader, m: ParsedModule): void {
  m.exportCount = r.u32();
  const entriesStart = r.pos;
  for (let i = 0; i < m.exportCount; i++) {
    const name = r.name();
    const kind = r.u8();
    const index = r.u32();
    if (name.startsWith('__pb_'))
      refuse('reserved-export', `export ${name} (names starting __pb_ are reserved)`);
    m.exportNames.set(name, { kind, index });
  }
  m.exportEntries = { start: entriesStart, end: r.pos };
}

function parseElements(r: BinaryReader): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    if (flags !== 0 && flags !== 2) {
      refuse(
        'unsupported-feature',
        `element segment ${i} with flags ${flags} (passive, declarative or expressions)`,
      );
    }
    if (flags === 2 && r.u32() !== 0) r.fail(`element segment ${i} for another table`);
    skipConstExpr(r, `element segment ${i}`);
    if (flags === 2 && r.u8() !== 0) r.fail(`element segment ${i} of another kind`);
    const n = r.u32();
    for (let j = 0; j < n; j++) r.u32();
  }
}

function parseData(r: BinaryReader): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    if (flags === 1) refuse('unsupported-feature', `data segment ${i} is passive`);
    if (flags !== 0 && flags !== 2) r.fail(`data segment ${i} flags ${flags}`);
    if (flags === 2 && r.u32() !== 0) refuse('unsupported-feature', `data segment ${i} for another memory`);
    skipConstExpr(r, `data segment ${i}`);
    r.skip(r.u32());
  }
}

function parseCode(r: BinaryReader, m: ParsedModule): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    if (size > WASM_LIMITS.functionBodyBytes) {
      refuse(
        'function-too-large',
        `function ${m.importedFunctions + i} has a body of ${size} bytes, the limit is ${WASM_LIMITS.functionBodyBytes}`,
      );
    }
    const start = r.pos;
    r.skip(size);
    m.bodies.push({ start, end: r.pos });
  }
}

/** The module's global and function indices of the instrumentation's own parts. */
type Instrumentation = {
  fuel: number;
  depth: number;
  oom: number;
  /** Type index of `[] -> results` for a function with several results, by its results. */
  blockType: (results: number[]) => number;
  types: FuncType[];
  /** Type index of every function, imported ones first. */
  functionTypes: number[];
  importedFunctions: number;
};

/** Per-module scratch arrays for one decoded body (an instruction is at least one byte). */
type Scratch = {
  starts: Int32Array;
  roles: Uint8Array;
  /** For an `if`, where its `else` is (-1: none). */
  elseOf: Int32Array;
  /** Fuel a metered block does not charge because the block before it already did. */
  discount: Int32Array;
  body: BinaryWriter;
};

/**
 * Rewrites one function body: locals, then a depth-counting prologue, the original instructions
 * inside a block typed with the function's results (so `br` to the function label still passes
 * the epilogue), with fuel charges and the inserted sequences, then the epilogue.
 */
function rewriteBody(
  bytes: Uint8Array,
  range: Range,
  type: FuncType,
  functionIndex: number,
  ins: Instrumentation,
  scratch: Scratch,
  out: BinaryWriter,
): void {
  const r = new BinaryReader(bytes, range.start, range.end);
  const declCount = r.u32();
  const declStart = r.pos;
  let locals = type.params.length;
  for (let i = 0; i < declCount; i++) {
    locals += r.u32();
    if (locals > WASM_LIMITS.localsPerFunction) {
      refuse(
        'too-many-locals',
        `function ${functionIndex} has more than ${WASM_LIMITS.localsPerFunction} locals (with parameters)`,
      );
    }
    checkValType(r.u8(), `the locals of function ${functionIndex}`);
  }
  const declEnd = r.pos;

  // Decode every instruction: where it starts and what the rewrite does at it.
  const { starts, roles: kinds, elseOf, discount } = scratch;
  /** The open block, loop and if instructions. */
  const opens: number[] = [];
  let count = 0;
  // The operand stack's height, bounded from above (unreachable code keeps its height), and
  // the enclosing blocks: their base height below their parameters, parameters and results.
  let height = 0;
  let maxHeight = 0;
  const frames: { base: number; params: number; results: number }[] = [
    { base: 0, params: 0, results: type.results.length },
  ];
  const arity = (blockType: number): { params: number; results: number } => {
    if (blockType === -64) return { params: 0, results: 0 };
    if (blockType < 0) return { params: 0, results: 1 };
    const t = ins.types[blockType] ?? r.fail(`a block of unknown type ${blockType}`);
    return { params: t.params.length, results: t.results.length };
  };
  const callee = (typeIndex: number | undefined): FuncType =>
    (typeIndex === undefined ? undefined : ins.types[typeIndex]) ?? r.fail('a call of unknown type');
  const apply = (pop: number, push: number): void => {
    height = Math.max(frames[frames.length - 1]!.base, height - pop) + push;
    if (height > maxHeight) maxHeight = height;
  };
  const unwind = (): void => {
    const top = frames[frames.length - 1]!;
    height = top.base + top.params;
  };
  let usesF32 = false;
  let usesF64 = false;
  let callsContract = false;
  for (;;) {
    if (r.atEnd) r.fail(`function ${functionIndex} does not end`);
    starts[count] = r.pos;
    const op = r.u8();
    const imm = immediates[op]!;
    let role = roles[op]!;
    switch (imm) {
      case Imm.none:
        break;
      case Imm.blockType: {
        const blockType = r.s33();
        if (blockType === -5) refuse('simd', `a v128 block in function ${functionIndex}`);
        if (blockType < -4 && blockType !== -64) {
          refuse('unsupported-feature', `a block of reference type in function ${functionIndex}`);
        }
        if (op === Op.if) apply(1, 0);
        const { params, results } = arity(blockType);
        frames.push({ base: Math.max(frames[frames.length - 1]!.base, height - params), params, results });
        opens.push(count);
        elseOf[count] = -1;
        break;
      }
      case Imm.index: {
        const index = r.u32();
        if (op === Op.call) {
          if (index >= ins.importedFunctions) callsContract = true;
          const t = callee(ins.functionTypes[index]);
          apply(t.params.length, t.results.length);
        }
        break;
      }
      case Imm.brTable: {
        const n = r.u32();
        for (let i = 0; i <= n; i++) r.u32();
        break;
      }
      case Imm.callIndirect: {
        const t = callee(r.u32());
        callsContract = true;
        if (r.u32() !== 0) refuse('unsupported-feature', `call_indirect through another table`);
        apply(t.params.length + 1, t.results.length);
        break;
      }
      case Imm.memarg:
        if (r.u32() & 0x40) refuse('unsupported-feature', `several memories in function ${functionIndex}`);
        r.u32();
        break;
      case Imm.memory:
        if (r.u8() !== 0) refuse('unsupported-feature', `several memories in function ${functionIndex}`);
        break;
      case Imm.i32:
        r.skipSigned(32);
        break;
      case Imm.i64:
        r.skipSigned(64);
        break;
      case Imm.f32:
        r.skip(4);
        break;
      case Imm.f64:
        r.skip(8);
        break;
      case Imm.prefixFC: {
        const sub = r.u32();
        if (sub === FC_MEMORY_COPY) {
          if (r.u8() !== 0 || r.u8() !== 0) refuse('unsupported-feature', 'memory.copy between memories');
          role = Role.bulk;
        } else if (sub === FC_MEMORY_FILL) {
          if (r.u8() !== 0) refuse('unsupported-feature', 'memory.fill of another memory');
          role = Role.bulk;
        } else if (sub > 7) {
          refuse('unsupported-feature', `${refusedFC(sub)} in function ${functionIndex}`);
        }
        break;
      }
      default: {
        const { reason, what } = refusedOpcode(op);
        refuse(reason, `${what} in function ${functionIndex}`);
      }
    }
    kinds[count++] = role;
    if (op === 0xfc) {
      apply(role === Role.bulk ? 3 : 1, role === Role.bulk ? 0 : 1);
    } else if (op === Op.else) {
      unwind();
      elseOf[opens[opens.length - 1]!] = count - 1;
    } else if (op === Op.end) {
      const top = frames.pop()!;
      opens.pop();
      height = top.base + top.results;
      if (height > maxHeight) maxHeight = height;
      if (frames.length === 0) break;
    } else if (role === Role.branch || role === Role.return || role === Role.unreachable) {
      if (op === 0x0e) apply(1, 0);
      unwind();
    } else {
      apply(pops[op]!, pushes[op]!);
    }
    if (role === Role.canonF32) usesF32 = true;
    else if (role === Role.canonF64) usesF64 = true;
  }
  if (!r.atEnd) r.fail(`bytes after the end of function ${functionIndex}`);
  starts[count] = r.pos;

  // Scratch locals after the original ones: i64 (fuel), i32 (memory sizes), i32 (the depth at
  // entry, restored on exit), f32/f64 (NaN).
  const extra: number[] = [ValType.i64, ValType.i32, ValType.i32];
  if (usesF32) extra.push(ValType.f32);
  if (usesF64) extra.push(ValType.f64);
  const t64 = locals;
  const t32 = locals + 1;
  const saved = locals + 2;
  const tf32 = locals + 3;
  const tf64 = usesF32 ? locals + 4 : locals + 3;

  // The frame's weight in the depth count: one, or more for a frame that may be larger than a
  // unit (16 bytes per local and operand-stack slot bounds what V8's compilers lay out, with the
  // instrumentation's own few slots), so V8's own stack limit is never reached first. A function
  // that calls no contract function (a leaf) is not counted: it can only add one frame on top.
  const slots = locals + extra.length + maxHeight + 3;
  const weight = Math.max(1, Math.ceil((64 + 16 * slots) / FRAME_UNIT_BYTES));
  const counted = callsContract;

  const w = scratch.body.reset();
  w.u32(declCount + extra.length).bytes(bytes.subarray(declStart, declEnd));
  for (const t of extra) w.u32(1).byte(t);

  const fuelCheck = (): void => {
    w.byte(Op.i64Sub).byte(Op.localTee).u32(t64).byte(Op.globalSet).u32(ins.fuel);
    w.byte(Op.localGet).u32(t64).byte(Op.i64Const).signed(0).byte(Op.i64LtS);
  };
  const charge = (fuel: () => void): void => {
    w.byte(Op.globalGet).u32(ins.fuel);
    fuel();
    fuelCheck();
    w.byte(Op.if).byte(BLOCK_EMPTY).byte(Op.unreachable).byte(Op.end);
  };
  const depthRestore = (): void => {
    if (counted) w.byte(Op.localGet).u32(saved).byte(Op.globalSet).u32(ins.depth);
  };
  /** The last instruction of the metered block starting at `i`: the next control instruction. */
  const blockEnd = (i: number): number => {
    let j = i;
    for (;;) {
      const k = kinds[j]!;
      if (k >= Role.loop && k <= Role.unreachable) return j;
      j++;
    }
  };
  // After br, br_table, return and unreachable, the code up to the next boundary never runs.
  const liveAfter = (j: number): boolean => {
    const k = kinds[j]!;
    return !(k === Role.branch || k === Role.return || k === Role.unreachable);
  };

  // Fuel counts executed instructions; `end` and `else` only mark where a block ends (and are the
  // last instruction of a metered block when present), so they are free.
  const fuelOf = (i: number, j: number): number => {
    const last = kinds[j]!;
    return j - i + (last === Role.end || last === Role.else ? 0 : 1);
  };
  // What the metered block [i..j] charges. One that ends with an `if` that has an `else` also
  // charges what both branches' first blocks have in common, and they charge only the rest:
  // every path still pays exactly its instructions, and a short branch needs no charge at all.
  discount.fill(0, 0, count + 1);
  const segmentFuel = (i: number, j: number): number => {
    let n = fuelOf(i, j) - discount[i]!;
    const e = kinds[j] === Role.if ? elseOf[j]! : -1;
    if (e >= 0) {
      const common = Math.min(fuelOf(j + 1, blockEnd(j + 1)), fuelOf(e + 1, blockEnd(e + 1)));
      n += common;
      discount[j + 1] = common;
      discount[e + 1] = common;
    }
    return n;
  };

  // The first metered block is charged in the prologue, with the depth, behind one branch.
  let segmentEnd = blockEnd(0);
  let live = liveAfter(segmentEnd);
  const first = segmentFuel(0, segmentEnd);
  if (counted) {
    w.byte(Op.globalGet).u32(ins.depth).byte(Op.localTee).u32(saved);
    w.byte(Op.i32Const).signed(weight).byte(Op.i32Add).byte(Op.globalSet).u32(ins.depth);
    w.byte(Op.localGet)
      .u32(saved)
      .byte(Op.i32Const)
      .signed(WASM_LIMITS.callDepth - weight);
    w.byte(Op.i32GtS);
    if (first > 0) {
      w.byte(Op.globalGet).u32(ins.fuel).byte(Op.i64Const).signed(first);
      fuelCheck();
      w.byte(Op.i32Or);
    }
    w.byte(Op.if).byte(BLOCK_EMPTY).byte(Op.unreachable).byte(Op.end);
    // The body in a block typed like the function, so a `br` to the function's label still
    // passes the epilogue.
    w.byte(Op.block);
    if (type.results.length === 0) w.byte(BLOCK_EMPTY);
    else if (type.results.length === 1) w.byte(type.results[0]!);
    else w.signed(ins.blockType(type.results));
  } else if (first > 0) {
    charge(() => w.byte(Op.i64Const).signed(first));
  }

  for (let i = 0; i < count; i++) {
    if (i > segmentEnd) {
      segmentEnd = blockEnd(i);
      const n = segmentFuel(i, segmentEnd);
      if (live && n > 0) charge(() => w.byte(Op.i64Const).signed(n));
      live = liveAfter(segmentEnd);
    }
    const opStart = starts[i]!;
    const opEnd = starts[i + 1]!;
    switch (kinds[i]) {
      case Role.return:
        depthRestore();
        w.copy(bytes, opStart, opEnd);
        break;
      case Role.grow:
        w.byte(Op.localSet).u32(t32);
        charge(() => {
          w.byte(Op.localGet).u32(t32).byte(Op.i64ExtendI32U);
          w.byte(Op.i64Const).signed(FUEL_PER_PAGE).byte(Op.i64Mul);
        });
        w.byte(Op.localGet).u32(t32).copy(bytes, opStart, opEnd).byte(Op.localTee).u32(t32);
        w.byte(Op.i32Const).signed(-1).byte(Op.i32Eq).byte(Op.if).byte(BLOCK_EMPTY);
        w.byte(Op.i32Const).signed(1).byte(Op.globalSet).u32(ins.oom).byte(Op.end);
        w.byte(Op.localGet).u32(t32);
        break;
      case Role.bulk:
        w.byte(Op.localTee).u32(t32);
        charge(() => {
          w.byte(Op.localGet).u32(t32).byte(Op.i64ExtendI32U);
          w.byte(Op.i64Const)
            .signed(FUEL_PER_BULK_BYTES - 1)
            .byte(Op.i64Add);
          w.byte(Op.i64Const).signed(FUEL_PER_BULK_BYTES).byte(Op.i64DivU);
        });
        w.copy(bytes, opStart, opEnd);
        break;
      case Role.canonF32:
        w.copy(bytes, opStart, opEnd).byte(Op.localTee).u32(tf32);
        w.byte(Op.f32Const).bytes(CANONICAL_NAN_F32);
        w.byte(Op.localGet).u32(tf32).byte(Op.localGet).u32(tf32).byte(Op.f32Eq).byte(Op.select);
        break;
      case Role.canonF64:
        w.copy(bytes, opStart, opEnd).byte(Op.localTee).u32(tf64);
        w.byte(Op.f64Const).bytes(CANONICAL_NAN_F64);
        w.byte(Op.localGet).u32(tf64).byte(Op.localGet).u32(tf64).byte(Op.f64Eq).byte(Op.select);
        break;
      default:
        if (i === count - 1 && counted) {
          // The function's own end: close the wrapping block, then the epilogue.
          w.byte(Op.end);
          depthRestore();
        }
        w.copy(bytes, opStart, opEnd);
    }
  }
  out.u32(w.length).bytes(w.view());
}

const CANONICAL_NAN_F32 = new Uint8Array([0x00, 0x00, 0xc0, 0x7f]);
const CANONICAL_NAN_F64 = new Uint8Array([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);

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
  out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
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

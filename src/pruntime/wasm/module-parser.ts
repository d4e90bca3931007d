import { equalBytes } from '../../base/bytes.js';
import { WASM_MAGIC } from '../../protocol/contract-code.js';
import { BinaryReader } from './binary-reader.js';
import { type WasmRefusalReason, WasmModuleRefusedError } from './errors.js';
import { HOST_FUNCTIONS, HOST_MODULE, type WasmValType } from './host-interface.js';
import { WASM_LIMITS } from './limits.js';
import { Op, ValType } from './opcodes.js';

/**
 * Reads a contract module's sections and checks them against the host interface and the limits
 * (docs/wasm-host-interface.md#refusals); function bodies are only located here (the body
 * rewriter decodes them). Raw ranges of what the instrumenter copies unchanged are kept.
 */
export type FuncType = { params: number[]; results: number[] };
export type Range = { start: number; end: number };

export type ParsedModule = {
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

/** The binary format version every module states after the magic (`WASM_MAGIC`). */
export const WASM_VERSION: Readonly<Uint8Array> = Uint8Array.of(0x01, 0x00, 0x00, 0x00);

export function refuse(reason: WasmRefusalReason, what: string): never {
  throw new WasmModuleRefusedError(reason, what);
}

const valTypeNames: Record<number, WasmValType | 'f32' | 'f64'> = {
  [ValType.i32]: 'i32',
  [ValType.i64]: 'i64',
  [ValType.f32]: 'f32',
  [ValType.f64]: 'f64',
};

/** Numeric value types only: v128 is SIMD, anything else a reference type. */
export function checkValType(type: number, where: string): void {
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

export function parseModule(bytes: Uint8Array): ParsedModule {
  const r = new BinaryReader(bytes);
  if (!equalBytes(r.take(4), WASM_MAGIC)) r.fail('no WebAssembly magic');
  if (!equalBytes(r.take(4), WASM_VERSION)) r.fail('not WebAssembly version 1');
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

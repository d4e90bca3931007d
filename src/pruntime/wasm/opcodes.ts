import type { WasmRefusalReason } from './errors.js';

/**
 * The instruction set the instrumenter accepts (docs/wasm-host-interface.md#the-module): for each
 * one-byte opcode, the shape of its immediates and what the instrumenter does around it. Anything
 * absent is refused; the prefixes 0xFC (saturating truncation, memory.copy/fill), 0xFD (SIMD) and
 * 0xFE (atomics) are handled by the decoder.
 */

/** Immediate shapes. */
export const Imm = {
  none: 0,
  /** A block type: 0x40, a value type or a type index (signed LEB128, 33 bits). */
  blockType: 1,
  /** One label, function, local or global index. */
  index: 2,
  brTable: 3,
  /** Type index, then table index (0: one table). */
  callIndirect: 4,
  /** Alignment, then offset. */
  memarg: 5,
  /** memory.size/grow: the memory index (0: one memory). */
  memory: 6,
  i32: 7,
  i64: 8,
  f32: 9,
  f64: 10,
  /** 0xFC: a sub-opcode follows. */
  prefixFC: 11,
} as const;

/** What the instrumenter does at an instruction. */
export const Role = {
  plain: 0,
  /** Entered straight from the instruction before: no new metered block. */
  block: 1,
  /** A branch target or a conditional entry: a new metered block starts after it. */
  loop: 2,
  if: 3,
  else: 4,
  end: 5,
  /** br, br_table: the code after it (up to the next block boundary) is dead. */
  branch: 6,
  brIf: 7,
  /** Leaves the function: the depth counter is decremented first; the code after it is dead. */
  return: 8,
  unreachable: 9,
  /** memory.grow: charged per page asked for. */
  grow: 10,
  /** memory.copy, memory.fill: charged per 8 bytes. */
  bulk: 11,
  /** Float results that can be NaN: canonicalised. */
  canonF32: 12,
  canonF64: 13,
} as const;

export const immediates = new Uint8Array(256).fill(255);
export const roles = new Uint8Array(256);

function define(from: number, to: number, imm: number, role: number = Role.plain): void {
  for (let op = from; op <= to; op++) {
    immediates[op] = imm;
    roles[op] = role;
  }
}

define(0x00, 0x00, Imm.none, Role.unreachable);
define(0x01, 0x01, Imm.none); // nop
define(0x02, 0x02, Imm.blockType, Role.block);
define(0x03, 0x03, Imm.blockType, Role.loop);
define(0x04, 0x04, Imm.blockType, Role.if);
define(0x05, 0x05, Imm.none, Role.else);
define(0x0b, 0x0b, Imm.none, Role.end);
define(0x0c, 0x0c, Imm.index, Role.branch);
define(0x0d, 0x0d, Imm.index, Role.brIf);
define(0x0e, 0x0e, Imm.brTable, Role.branch);
define(0x0f, 0x0f, Imm.none, Role.return);
// A call is not a metered-block boundary: the code after it is charged before the call, which is
// exact whenever the callee returns (and conservative when it traps).
define(0x10, 0x10, Imm.index); // call
define(0x11, 0x11, Imm.callIndirect);
define(0x1a, 0x1b, Imm.none); // drop, select
define(0x20, 0x24, Imm.index); // local.get/set/tee, global.get/set
define(0x28, 0x3e, Imm.memarg); // loads and stores
define(0x3f, 0x3f, Imm.memory); // memory.size
define(0x40, 0x40, Imm.memory, Role.grow);
define(0x41, 0x41, Imm.i32);
define(0x42, 0x42, Imm.i64);
define(0x43, 0x43, Imm.f32);
define(0x44, 0x44, Imm.f64);
define(0x45, 0xc4, Imm.none); // comparisons, arithmetic, conversions, sign extension
define(0x8d, 0x97, Imm.none, Role.canonF32); // f32 ceil floor trunc nearest sqrt add sub mul div min max
define(0x9b, 0xa5, Imm.none, Role.canonF64); // the same for f64
define(0xb6, 0xb6, Imm.none, Role.canonF32); // f32.demote_f64
define(0xbb, 0xbb, Imm.none, Role.canonF64); // f64.promote_f32
define(0xfc, 0xfc, Imm.prefixFC);

/** Why an opcode outside the table is refused, for the message. */
export function refusedOpcode(op: number): { reason: WasmRefusalReason; what: string } {
  if (op === 0xfd) return { reason: 'simd', what: 'a SIMD instruction (0xFD prefix)' };
  if (op === 0xfe) return { reason: 'threads', what: 'an atomic instruction (0xFE prefix)' };
  const names: Record<number, string> = {
    6: 'try (exceptions)',
    7: 'catch (exceptions)',
    8: 'throw (exceptions)',
    9: 'rethrow (exceptions)',
    10: 'throw_ref (exceptions)',
    18: 'return_call (tail calls)',
    19: 'return_call_indirect (tail calls)',
    20: 'call_ref (function references)',
    21: 'return_call_ref (function references)',
    24: 'delegate (exceptions)',
    25: 'catch_all (exceptions)',
    28: 'typed select (reference types)',
    31: 'try_table (exceptions)',
    37: 'table.get (reference types)',
    38: 'table.set (reference types)',
    208: 'ref.null (reference types)',
    209: 'ref.is_null (reference types)',
    210: 'ref.func (reference types)',
    251: 'a GC instruction (0xFB prefix)',
  };
  const hex = `0x${op.toString(16).padStart(2, '0')}`;
  return { reason: 'unsupported-feature', what: `opcode ${hex}${names[op] ? ` ${names[op]}` : ''}` };
}

/** 0xFC sub-opcodes: 0-7 saturating truncation, 10 memory.copy, 11 memory.fill. */
export const FC_MEMORY_COPY = 10;
export const FC_MEMORY_FILL = 11;
const fcNames: Record<number, string> = {
  8: 'memory.init (passive segments)',
  9: 'data.drop (passive segments)',
  12: 'table.init (passive segments)',
  13: 'elem.drop (passive segments)',
  14: 'table.copy (table instructions)',
  15: 'table.grow (reference types)',
  16: 'table.size (reference types)',
  17: 'table.fill (reference types)',
};
export function refusedFC(sub: number): string {
  return `instruction 0xFC ${sub}${fcNames[sub] ? ` ${fcNames[sub]}` : ''}`;
}

/** Opcodes the instrumenter emits. */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  call: 0x10,
  return: 0x0f,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  memoryGrow: 0x40,
  i32Const: 0x41,
  i64Const: 0x42,
  f32Const: 0x43,
  f64Const: 0x44,
  i32Eq: 0x46,
  i32GtS: 0x4a,
  i64LtS: 0x53,
  f32Eq: 0x5b,
  f64Eq: 0x61,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Or: 0x72,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivU: 0x80,
  i64ExtendI32U: 0xad,
} as const;

/** Value types. */
export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
} as const;
export const BLOCK_EMPTY = 0x40;

/**
 * Operand-stack effect of the instructions whose effect is fixed (values popped, values pushed),
 * for the frame-size bound; control instructions and calls are worked out by the decoder.
 */
export const pops = new Uint8Array(256);
export const pushes = new Uint8Array(256);
function effect(from: number, to: number, pop: number, push: number): void {
  pops.fill(pop, from, to + 1);
  pushes.fill(push, from, to + 1);
}
effect(0x1a, 0x1a, 1, 0); // drop
effect(0x1b, 0x1b, 3, 1); // select
effect(0x20, 0x20, 0, 1); // local.get
effect(0x21, 0x21, 1, 0); // local.set
effect(0x22, 0x22, 1, 1); // local.tee
effect(0x23, 0x23, 0, 1); // global.get
effect(0x24, 0x24, 1, 0); // global.set
effect(0x28, 0x35, 1, 1); // loads
effect(0x36, 0x3e, 2, 0); // stores
effect(0x3f, 0x3f, 0, 1); // memory.size
effect(0x40, 0x40, 1, 1); // memory.grow
effect(0x41, 0x44, 0, 1); // constants
effect(0x45, 0xc4, 2, 1); // binary operators and comparisons, then the unary ones below
for (const [from, to] of [
  [0x45, 0x45], // i32.eqz
  [0x50, 0x50], // i64.eqz
  [0x67, 0x69], // i32 clz ctz popcnt
  [0x79, 0x7b], // i64 clz ctz popcnt
  [0x8b, 0x91], // f32 abs neg ceil floor trunc nearest sqrt
  [0x99, 0x9f], // f64 abs neg ceil floor trunc nearest sqrt
  [0xa7, 0xc4], // conversions, reinterpretations, sign extension
] as const) {
  effect(from, to, 1, 1);
}
effect(0x0d, 0x0d, 1, 0); // br_if

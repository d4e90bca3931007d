/**
 * One function body, decoded with the full instruction table and rewritten: fuel per metered
 * block, the call-depth prologue and epilogue, memory.grow/copy/fill charges and NaN
 * canonicalisation (instrument.ts describes the whole rewrite).
 */
import { BinaryReader } from './binary-reader.js';
import type { BinaryWriter } from './binary-writer.js';
import { FRAME_UNIT_BYTES, FUEL_PER_BULK_BYTES, FUEL_PER_GAS, GAS_PER_PAGE, WASM_LIMITS } from './limits.js';
import { type FuncType, type Range, checkValType, refuse } from './module-parser.js';
import {
  BLOCK_EMPTY,
  FC_MEMORY_COPY,
  FC_MEMORY_FILL,
  Imm,
  Op,
  Role,
  ValType,
  immediates,
  pops,
  pushes,
  refusedFC,
  refusedOpcode,
  roles,
} from './opcodes.js';

const FUEL_PER_PAGE = GAS_PER_PAGE * FUEL_PER_GAS;

/** The module's global and function indices of the instrumentation's own parts. */
export type Instrumentation = {
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
export type Scratch = {
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
export function rewriteBody(
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

import type { QuickJsWasm } from './quickjs-wasm.js';

/**
 * A copy of every part of a QuickJS instance's linear memory that a call can change, taken at a
 * moment when no wasm code is running. Restoring it puts the instance back into exactly that
 * state (docs/pruntime.md#snapshots):
 *
 * - static data and bss: `[0, staticsEnd)`;
 * - the live end of the shadow stack: `[stackLow, stackTop)`; a canary just below `stackLow`
 *   tells whether a call ever went deeper, in which case the instance is retired;
 * - the heap up to the allocator break, except a ballast block that no code ever touches;
 * - everything from the break to the end of memory is zero, and is zeroed again up to the break
 *   a call reached (the allocator never lowers its break, so that bounds what the call wrote).
 */
export type HeapSegment = { offset: number; bytes: Uint8Array };

export type MemoryImage = {
  statics: Uint8Array;
  stack: Uint8Array;
  heap: HeapSegment[];
  brk: number;
};

export type MemoryRegions = {
  staticsEnd: number;
  stackLow: number;
  stackTop: number;
  heapBase: number;
  /** A block allocated once and never written: left out of images. */
  ballast: { start: number; end: number } | null;
};

const CANARY_BYTES = 4096;
// Room the allocator's own chunk headers take at the edges of the ballast.
const BALLAST_EDGE = 64;

export function captureImage(wasm: QuickJsWasm, regions: MemoryRegions): MemoryImage {
  const memory = new Uint8Array(wasm.memory.buffer);
  const brk = wasm.brk;
  const heap: HeapSegment[] = [];
  const { ballast } = regions;
  if (ballast && ballast.start >= regions.heapBase && ballast.end <= brk) {
    heap.push({
      offset: regions.heapBase,
      bytes: memory.slice(regions.heapBase, ballast.start + BALLAST_EDGE),
    });
    heap.push({ offset: ballast.end - BALLAST_EDGE, bytes: memory.slice(ballast.end - BALLAST_EDGE, brk) });
  } else {
    heap.push({ offset: regions.heapBase, bytes: memory.slice(regions.heapBase, brk) });
  }
  return {
    statics: memory.slice(0, regions.staticsEnd),
    stack: memory.slice(regions.stackLow, regions.stackTop),
    heap,
    brk,
  };
}

export function restoreImage(wasm: QuickJsWasm, regions: MemoryRegions, image: MemoryImage): void {
  // Read the break before the statics (which hold it) are overwritten.
  const reached = wasm.brk;
  const memory = new Uint8Array(wasm.memory.buffer);
  memory.set(image.statics, 0);
  memory.set(image.stack, regions.stackLow);
  for (const segment of image.heap) memory.set(segment.bytes, segment.offset);
  if (reached > image.brk) memory.fill(0, image.brk, reached);
}

export function writeCanary(wasm: QuickJsWasm, regions: MemoryRegions): void {
  new Uint8Array(wasm.memory.buffer).set(canaryPattern(), regions.stackLow - CANARY_BYTES);
}

/** False when a call used more shadow stack than the window an image covers. */
export function canaryIntact(wasm: QuickJsWasm, regions: MemoryRegions): boolean {
  const memory = new Uint8Array(wasm.memory.buffer);
  const start = regions.stackLow - CANARY_BYTES;
  return Buffer.compare(memory.subarray(start, regions.stackLow), canaryPattern()) === 0;
}

let pattern: Uint8Array | undefined;
function canaryPattern(): Uint8Array {
  if (!pattern) {
    pattern = new Uint8Array(CANARY_BYTES);
    for (let i = 0; i < CANARY_BYTES; i++) pattern[i] = (i * 167 + 13) & 0xff;
  }
  return pattern;
}

/**
 * Compares the whole memory with what restoring `image` must produce; for tests and for the
 * engine's self-check mode. Returns the first differing address, or -1. The unused lower part
 * of the shadow stack (below the canary) is not compared: no code reads it before writing it.
 */
export function firstDifference(wasm: QuickJsWasm, regions: MemoryRegions, image: MemoryImage): number {
  const memory = new Uint8Array(wasm.memory.buffer);
  const check = (offset: number, expected: Uint8Array): number => {
    const actual = memory.subarray(offset, offset + expected.length);
    if (Buffer.compare(actual, expected) === 0) return -1;
    for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) return offset + i;
    return offset;
  };
  const zero = (start: number, end: number): number => {
    for (let i = start; i < end; i++) if (memory[i] !== 0) return i;
    return -1;
  };
  let at = check(0, image.statics);
  if (at >= 0) return at;
  at = check(regions.stackLow, image.stack);
  if (at >= 0) return at;
  for (const segment of image.heap) {
    at = check(segment.offset, segment.bytes);
    if (at >= 0) return at;
  }
  if (regions.ballast) {
    at = zero(regions.ballast.start + BALLAST_EDGE, regions.ballast.end - BALLAST_EDGE);
    if (at >= 0) return at;
  }
  return zero(image.brk, memory.length);
}

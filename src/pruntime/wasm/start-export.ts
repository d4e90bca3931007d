import { BinaryReader } from './binary-reader.js';
import { BinaryWriter } from './binary-writer.js';

/**
 * Turns an (instrumented, valid) module's start function into an export, `__pb_start`, that the
 * runner calls right after instantiating. Run by `new WebAssembly.Instance`, a start function
 * that traps leaves no instance to ask why; called as an export, its fuel and depth can be read
 * afterwards, so a start function out of gas (`start-out-of-gas`) is told apart from one that
 * trapped (`start-trapped`). Only the start and export sections change; the start function runs
 * at the same point of instantiation semantics (after the data and element segments).
 */
export const START_EXPORT = '__pb_start';

const SECTION_EXPORT = 7;
const SECTION_START = 8;
const EXTERNAL_FUNCTION = 0;

export function detachStart(bytes: Uint8Array): Uint8Array {
  const sections: { id: number; payload: Uint8Array }[] = [];
  const reader = new BinaryReader(bytes, 8);
  while (!reader.atEnd) {
    const id = reader.u8();
    sections.push({ id, payload: reader.take(reader.u32()) });
  }
  const start = sections.find((s) => s.id === SECTION_START);
  const exports = sections.find((s) => s.id === SECTION_EXPORT);
  if (!start || !exports) return bytes;
  const startFunction = new BinaryReader(start.payload).u32();
  const entries = new BinaryReader(exports.payload);
  const count = entries.u32();
  const exported = new BinaryWriter()
    .u32(count + 1)
    .bytes(exports.payload.subarray(entries.pos))
    .name(START_EXPORT)
    .byte(EXTERNAL_FUNCTION)
    .u32(startFunction);
  const out = new BinaryWriter(bytes.length + 16).bytes(bytes.subarray(0, 8));
  for (const section of sections) {
    if (section.id === SECTION_START) continue;
    out.section(section.id, section.id === SECTION_EXPORT ? exported : section.payload);
  }
  return out.finish();
}

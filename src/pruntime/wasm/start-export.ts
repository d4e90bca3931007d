import { concatBytes, utf8 } from '../../base/bytes.js';

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
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset]!;
    const [size, after] = readU32(bytes, offset + 1);
    sections.push({ id, payload: bytes.subarray(after, after + size) });
    offset = after + size;
  }
  const start = sections.find((s) => s.id === SECTION_START);
  const exports = sections.find((s) => s.id === SECTION_EXPORT);
  if (!start || !exports) return bytes;
  const [startFunction] = readU32(start.payload, 0);
  const [count, entriesAt] = readU32(exports.payload, 0);
  const name = utf8(START_EXPORT);
  exports.payload = concatBytes(
    writeU32(count + 1),
    exports.payload.subarray(entriesAt),
    writeU32(name.length),
    name,
    Uint8Array.of(EXTERNAL_FUNCTION),
    writeU32(startFunction),
  );
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const section of sections) {
    if (section.id === SECTION_START) continue;
    parts.push(Uint8Array.of(section.id), writeU32(section.payload.length), section.payload);
  }
  return concatBytes(...parts);
}

function readU32(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let offset = at;
  for (;;) {
    const byte = bytes[offset++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, offset];
    shift += 7;
  }
}

function writeU32(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return Uint8Array.from(out);
}

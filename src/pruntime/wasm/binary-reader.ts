import { WasmModuleRefusedError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A cursor over WebAssembly binary bytes (LEB128 integers, names, vectors). Reading past the end
 * or an over-long integer is a `malformed` module: every worker refuses the same bytes the same way.
 */
export class BinaryReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  fail(what: string): never {
    throw new WasmModuleRefusedError('malformed', `${what} at byte ${this.pos}`);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      if (shift === 28 && byte > 0x0f) this.fail('integer too long');
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  }

  /** Skips a signed LEB128 of at most `bits` bits (constants are copied, never interpreted). */
  skipSigned(bits: 32 | 33 | 64): void {
    const maxBytes = Math.ceil(bits / 7);
    for (let i = 0; i < maxBytes; i++) {
      if ((this.u8() & 0x80) === 0) return;
    }
    this.fail('integer too long');
  }

  /** A signed LEB128 of at most 33 bits (block types: negative codes or a type index). */
  s33(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      if (shift > 35) this.fail('integer too long');
      byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return byte & 0x40 ? result - 2 ** shift : result;
  }

  skip(n: number): void {
    if (n > this.end - this.pos) this.fail('unexpected end');
    this.pos += n;
  }

  take(n: number): Uint8Array {
    const start = this.pos;
    this.skip(n);
    return this.bytes.subarray(start, this.pos);
  }

  name(): string {
    const bytes = this.take(this.u32());
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail('a name that is not UTF-8');
    }
  }
}

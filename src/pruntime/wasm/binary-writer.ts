/** A growing byte buffer for WebAssembly binary output (LEB128 integers, sections). */
export class BinaryWriter {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buffer = new Uint8Array(capacity);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + n) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  byte(b: number): this {
    this.reserve(1);
    this.buffer[this.length++] = b;
    return this;
  }

  bytes(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** Copies `src[start..end)`; short runs (one instruction) byte by byte, without a view. */
  copy(src: Uint8Array, start: number, end: number): this {
    const n = end - start;
    this.reserve(n);
    if (n > 16) {
      this.buffer.set(src.subarray(start, end), this.length);
    } else {
      const buffer = this.buffer;
      for (let i = 0; i < n; i++) buffer[this.length + i] = src[start + i]!;
    }
    this.length += n;
    return this;
  }

  /** Forgets what was written, keeping the buffer (one writer reused for many bodies). */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** Unsigned LEB128 (up to 2^53). */
  u32(value: number): this {
    if (value < 0x80) return this.byte(value);
    let v = value;
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a safe integer (i32.const and i64.const immediates). */
  signed(value: number): this {
    if (value === (value | 0)) {
      // An i32: arithmetic shifts stay exact.
      let v = value;
      for (;;) {
        const b = v & 0x7f;
        v >>= 7;
        const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
        this.byte(done ? b : b | 0x80);
        if (done) return this;
      }
    }
    let v = BigInt(value);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  name(text: string): this {
    const bytes = new TextEncoder().encode(text);
    return this.u32(bytes.length).bytes(bytes);
  }

  /** A vector: its length, then the writer's bytes. */
  vector(count: number, items: BinaryWriter): this {
    return this.u32(count).bytes(items.view());
  }

  /** A section: its id, its size, then the payload. */
  section(id: number, payload: BinaryWriter | Uint8Array): this {
    const bytes = payload instanceof BinaryWriter ? payload.view() : payload;
    return this.byte(id).u32(bytes.length).bytes(bytes);
  }

  /** The bytes written so far (a view, valid until the next write). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

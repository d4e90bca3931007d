// A minimal Ethereum ABI codec for static types: each value is one 32-byte word. Enough for the
// formats Solidity consumers decode with abi.decode (uint8, uint256, bool, bytes32); a uint256
// is held as its 32-byte big-endian word (see U256).
import { fail } from "./call";

const WORD = 32;

/** A uint256 as 32 big-endian bytes, with the few operations contracts on amounts need. */
export class U256 {
  constructor(public readonly bytes: Uint8Array = new Uint8Array(WORD)) {
    if (bytes.length != WORD) fail("U256: expected 32 bytes");
  }

  static fromU64(value: u64): U256 {
    const out = new Uint8Array(WORD);
    for (let i = 0; i < 8; i++) out[WORD - 1 - i] = <u8>(value >> (<u64>(8 * i)));
    return new U256(out);
  }

  /** A decimal string of digits only; fails when it is empty, not digits, or too large. */
  static fromDecimal(text: string): U256 {
    if (text.length == 0) fail("U256: empty decimal");
    const out = new Uint8Array(WORD);
    for (let i = 0; i < text.length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) fail("U256: not a decimal number");
      // out = out * 10 + d, from the least significant byte up.
      let carry: u32 = <u32>d;
      for (let j = WORD - 1; j >= 0; j--) {
        const v = <u32>out[j] * 10 + carry;
        out[j] = <u8>v;
        carry = v >> 8;
      }
      if (carry != 0) fail("U256: decimal out of range");
    }
    return new U256(out);
  }

  isZero(): bool {
    for (let i = 0; i < WORD; i++) if (this.bytes[i] != 0) return false;
    return true;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other`. */
  compare(other: U256): i32 {
    const c = memory.compare(this.bytes.dataStart, other.bytes.dataStart, WORD);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }

  toDecimal(): string {
    const n = new Uint8Array(WORD);
    n.set(this.bytes, 0);
    const digits = new Array<string>();
    let nonZero = true;
    while (nonZero) {
      // n = n / 10, the remainder is the next digit (least significant first).
      let rem: u32 = 0;
      nonZero = false;
      for (let j = 0; j < WORD; j++) {
        const v = (rem << 8) | <u32>n[j];
        n[j] = <u8>(v / 10);
        rem = v % 10;
        if (n[j] != 0) nonZero = true;
      }
      digits.push(String.fromCharCode(48 + rem));
    }
    return digits.reverse().join("");
  }
}

/** Builds abi.encode(v1, v2, …) of static types, one word a value. */
export class AbiWriter {
  private words: Array<Uint8Array> = [];

  uint8(value: u8): AbiWriter {
    const w = new Uint8Array(WORD);
    w[WORD - 1] = value;
    this.words.push(w);
    return this;
  }

  uint64(value: u64): AbiWriter {
    this.words.push(U256.fromU64(value).bytes);
    return this;
  }

  uint256(value: U256): AbiWriter {
    this.words.push(value.bytes.slice());
    return this;
  }

  bool(value: bool): AbiWriter {
    return this.uint8(value ? 1 : 0);
  }

  bytes32(value: Uint8Array): AbiWriter {
    if (value.length != WORD) fail("abi: bytes32 must be 32 bytes");
    this.words.push(value.slice());
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.words.length * WORD);
    for (let i = 0; i < this.words.length; i++) out.set(this.words[i], i * WORD);
    return out;
  }
}

/** Reads abi.encode(v1, v2, …) of static types in order; a value that does not fit fails the call. */
export class AbiReader {
  private offset: i32 = 0;

  constructor(private readonly data: Uint8Array) {}

  /** How many 32-byte words are left. */
  get remaining(): i32 {
    return (this.data.length - this.offset) / WORD;
  }

  private word(): Uint8Array {
    if (this.offset + WORD > this.data.length) fail("abi: input too short");
    const w = this.data.subarray(this.offset, this.offset + WORD);
    this.offset += WORD;
    return w;
  }

  private small(max: u32): u32 {
    const w = this.word();
    for (let i = 0; i < WORD - 4; i++) if (w[i] != 0) fail("abi: value out of range");
    const v = (<u32>w[28] << 24) | (<u32>w[29] << 16) | (<u32>w[30] << 8) | <u32>w[31];
    if (v > max) fail("abi: value out of range");
    return v;
  }

  /** Skips `words` values. */
  skip(words: i32): AbiReader {
    for (let i = 0; i < words; i++) this.word();
    return this;
  }

  uint8(): u8 {
    return <u8>this.small(255);
  }

  bool(): bool {
    return this.small(1) == 1;
  }

  uint256(): U256 {
    return new U256(this.word().slice());
  }

  bytes32(): Uint8Array {
    return this.word().slice();
  }
}

// UTF-8 and hex, spelled as a JavaScript contract's ctx.utf8 and ctx.hex.
import { fail } from "./call";

export class utf8 {
  static encode(text: string): Uint8Array {
    return Uint8Array.wrap(String.UTF8.encode(text));
  }

  /** Invalid sequences become U+FFFD. */
  static decode(bytes: Uint8Array): string {
    return String.UTF8.decodeUnsafe(bytes.dataStart, bytes.length);
  }
}

const HEX_DIGITS = "0123456789abcdef";

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

export class hex {
  /** "0x" and two lower-case digits a byte. */
  static encode(bytes: Uint8Array): string {
    const parts = new Array<string>(bytes.length + 1);
    parts[0] = "0x";
    for (let i = 0; i < bytes.length; i++) {
      const b = <i32>bytes[i];
      parts[i + 1] = HEX_DIGITS.charAt(b >> 4) + HEX_DIGITS.charAt(b & 15);
    }
    return parts.join("");
  }

  /** Even-length hex, "0x" optional, either case; anything else fails the call. */
  static decode(text: string): Uint8Array {
    const start = text.startsWith("0x") ? 2 : 0;
    const digits = text.length - start;
    if (digits & 1) fail("hex.decode: not an even-length hex string");
    const out = new Uint8Array(digits >> 1);
    for (let i = 0; i < out.length; i++) {
      const hi = hexValue(text.charCodeAt(start + 2 * i));
      const lo = hexValue(text.charCodeAt(start + 2 * i + 1));
      if (hi < 0 || lo < 0) fail("hex.decode: not a hex string");
      out[i] = <u8>((hi << 4) | lo);
    }
    return out;
  }
}

/** True when both hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return memory.compare(a.dataStart, b.dataStart, a.length) == 0;
}

/** The bytes of `a` then `b`. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

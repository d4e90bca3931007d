import { compactFromU8aLim, compactToU8a } from '@polkadot/util';
import { LightClientError, type LightClientErrorReason } from './errors.js';

/**
 * A strict SCALE reader for the few Substrate structures the light client decodes (headers,
 * justifications, finality proofs, trie nodes). Written here rather than decoding with
 * @polkadot/types because these bytes come from an untrusted node: every read is bounds-checked,
 * compact integers must be canonical, trailing bytes are refused, and callers see the exact byte
 * span of each header they must hash. Compact integers themselves are decoded by @polkadot/util.
 */
export class ScaleReader {
  #offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
    readonly reason: LightClientErrorReason = 'malformed',
  ) {}

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  fail(problem: string): never {
    throw new LightClientError(this.reason, `Malformed ${this.what}.`, {
      details: `${problem} at byte ${this.#offset} of ${this.bytes.length}`,
    });
  }

  take(length: number): Uint8Array {
    if (length > this.remaining) this.fail(`${length} bytes needed, ${this.remaining} left`);
    const out = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16le(): number {
    const b = this.take(2);
    return b[0]! | (b[1]! << 8);
  }

  u32le(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  u64le(): bigint {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  /** A canonical `Compact<uN>` that fits in a JS number (lengths, block numbers). */
  compact(): number {
    if (this.remaining < 1) this.fail('compact integer missing');
    const first = this.bytes[this.#offset]!;
    const mode = first & 0b11;
    const length = mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : (first >>> 2) + 5;
    if (length > 7) this.fail('compact integer too large');
    const encoded = this.take(length);
    const [, value] = compactFromU8aLim(encoded);
    if (compactToU8a(value).length !== length) this.fail('non-canonical compact integer');
    return value;
  }

  /** A `Compact<u32>` (Substrate's default block number). */
  compactU32(): number {
    const value = this.compact();
    if (value > 0xffffffff) this.fail('block number above u32');
    return value;
  }

  /** `Vec<u8>`: compact length, then the bytes. */
  vecU8(): Uint8Array {
    return this.take(this.compact());
  }

  /** A `Vec<T>` length, refused when it could not possibly fit in what is left. */
  vecLength(minItemSize: number): number {
    const length = this.compact();
    if (length * minItemSize > this.remaining) this.fail(`a list of ${length} items cannot fit`);
    return length;
  }

  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}

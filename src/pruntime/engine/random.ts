import { chacha20 } from '@noble/ciphers/chacha.js';
import { InvalidInputError } from '../../base/errors.js';

/**
 * `ctx.random(n)`: the ChaCha20 keystream (RFC 8439, zero nonce) under a 32-byte seed, handed
 * out in order. The seed is derived inside the enclave from the contract key and the request id
 * (docs/pruntime.md#random), so every worker draws the same bytes and nobody without the
 * contract key can predict them.
 */
export class DeterministicRandom {
  readonly #seed: Uint8Array;
  #offset = 0;

  constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new InvalidInputError('random seed', '32 bytes');
    this.#seed = new Uint8Array(seed);
  }

  /** Bytes drawn so far. */
  get drawn(): number {
    return this.#offset;
  }

  next(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0)
      throw new InvalidInputError('length', 'a non-negative integer');
    if (length === 0) return new Uint8Array(0);
    const firstBlock = Math.floor(this.#offset / 64);
    const skip = this.#offset - firstBlock * 64;
    const blocks = Math.ceil((skip + length) / 64);
    const stream = chacha20(
      this.#seed,
      new Uint8Array(12),
      new Uint8Array(blocks * 64),
      undefined,
      firstBlock,
    );
    this.#offset += length;
    return stream.slice(skip, skip + length);
  }
}

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, lengthPrefixed, utf8 } from '../../base/bytes.js';
import { BaseError, InvalidInputError, type Retry } from '../../base/errors.js';

/**
 * Sealed storage: what the enclave writes to disk (its identity, the keys it was handed). The
 * key is bound to the platform secret and to the enclave's measurement (PROTOCOL §3), the model
 * of SGX sealing with the MRENCLAVE policy:
 *
 *   key    = HKDF-SHA256(ikm = platform secret, salt = "phala-bridge/seal/v1", info = measurement, 32)
 *   sealed = "PBSL" ‖ 0x01 ‖ nonce (24) ‖ XChaCha20-Poly1305(key, nonce, plaintext, AAD)
 *   AAD    = "PBSL" ‖ 0x01 ‖ lp(label) ‖ measurement
 *
 * Symmetric AEAD rather than a sealed envelope: sealing to oneself needs no key agreement, and an
 * envelope's purposes are a wire registry shared with other parties, which local storage is not.
 * XChaCha20's 24-byte random nonces need no counter kept across restarts. The label says what
 * the blob is (e.g. "identity", "key:contract:<id>:<epoch>"), so one sealed file cannot be
 * passed off as another.
 */
const MAGIC = utf8('PBSL');
const VERSION = 1;
const HEADER = MAGIC.length + 1;
const NONCE = 24;
const TAG = 16;

export type SealedDataErrorReason = 'malformed' | 'authentication-failed';

export class SealedDataError extends BaseError {
  /** The same bytes never open here. */
  static override readonly retry: Retry = 'never';
  override name = 'SealedDataError';
  readonly reason: SealedDataErrorReason;
  constructor(reason: SealedDataErrorReason, label: string) {
    super('Cannot open sealed data.', {
      details:
        reason === 'malformed'
          ? `"${label}" is not sealed data of version ${VERSION}`
          : `"${label}" was sealed by another enclave build (measurement) or platform, for another label, or altered`,
      docsPath: '/docs/pruntime.md#identity-and-sealing',
    });
    this.reason = reason;
  }
}

export class Sealer {
  readonly #key: Uint8Array;
  readonly #measurement: Uint8Array;

  private constructor(key: Uint8Array, measurement: Uint8Array) {
    this.#key = key;
    this.#measurement = measurement;
  }

  static derive(platformSecret: Uint8Array, measurement: Uint8Array): Sealer {
    if (platformSecret.length < 16) throw new InvalidInputError('platform secret', 'at least 16 bytes');
    if (measurement.length !== 32) throw new InvalidInputError('measurement', '32 bytes');
    const key = hkdf(sha256, platformSecret, utf8('phala-bridge/seal/v1'), measurement, 32);
    return new Sealer(key, new Uint8Array(measurement));
  }

  seal(label: string, plaintext: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE);
    const header = concatBytes(MAGIC, Uint8Array.of(VERSION));
    const ciphertext = xchacha20poly1305(this.#key, nonce, this.#aad(label)).encrypt(plaintext);
    return concatBytes(header, nonce, ciphertext);
  }

  open(label: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < HEADER + NONCE + TAG || sealed[4] !== VERSION)
      throw new SealedDataError('malformed', label);
    for (let i = 0; i < MAGIC.length; i++)
      if (sealed[i] !== MAGIC[i]) throw new SealedDataError('malformed', label);
    const nonce = sealed.subarray(HEADER, HEADER + NONCE);
    try {
      return xchacha20poly1305(this.#key, nonce, this.#aad(label)).decrypt(sealed.subarray(HEADER + NONCE));
    } catch {
      throw new SealedDataError('authentication-failed', label);
    }
  }

  #aad(label: string): Uint8Array {
    return concatBytes(MAGIC, Uint8Array.of(VERSION), lengthPrefixed(utf8(label)), this.#measurement);
  }

  toJSON(): string {
    return '[Sealer]';
  }
}

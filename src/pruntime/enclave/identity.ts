import path from 'node:path';
import { type Hex, concatBytes, fromHex, toHex, utf8 } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import {
  type KeyPair,
  type PublicIdentity,
  generateIdentity,
  keyPairFromSecret,
  publicIdentity,
} from '../../crypto/keys.js';
import { reportDataFor } from '../../crypto/report-data.js';
import { signDigestEthereum, signDigestSubstrate } from '../../crypto/signatures.js';
import type { Sealer } from './sealing.js';
import { SealedDataError } from './sealing.js';
import { readIfExists, writeSealedFile } from './sealed-files.js';

/**
 * The worker's identity (PROTOCOL §3): a secp256k1 key that signs results and an X25519 key that
 * receives sealed data. Both are made inside the enclave and leave it only sealed
 * (`identity.sealed`, label "identity"):
 *
 *   plaintext = "PBID" ‖ 0x01 ‖ secp256k1 secret (32) ‖ x25519 secret (32)
 *
 * The secrets live in #private fields; this class is internal to the enclave module (not
 * exported from its index), and what it offers are operations, never key bytes.
 */
export const IDENTITY_FILE = 'identity.sealed';
const IDENTITY_LABEL = 'identity';
const MAGIC = utf8('PBID');

export class IdentityUnsealError extends BaseError {
  /** Move the data directory away to start as a new worker. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'IdentityUnsealError';
  constructor(file: string, cause: SealedDataError) {
    super('Cannot unseal the worker identity.', {
      details: `${file}: ${cause.details ?? cause.shortMessage} A worker built from different code (another measurement) or on another platform cannot use this identity; move the data directory away to start as a new worker.`,
      docsPath: '/docs/pruntime.md#identity-and-sealing',
      cause,
    });
  }
}

export class EnclaveIdentity {
  readonly #signing: KeyPair;
  readonly #encryption: KeyPair;
  readonly public: PublicIdentity;

  private constructor(signing: KeyPair, encryption: KeyPair) {
    this.#signing = signing;
    this.#encryption = encryption;
    this.public = publicIdentity({ signing, encryption });
  }

  /** Unseals `<dataDir>/identity.sealed`, or makes and seals a new identity when there is none. */
  static async loadOrCreate(
    dataDir: string,
    sealer: Sealer,
  ): Promise<{ identity: EnclaveIdentity; created: boolean }> {
    const file = path.join(dataDir, IDENTITY_FILE);
    const sealed = await readIfExists(file);
    if (sealed) {
      let plaintext: Uint8Array;
      try {
        plaintext = sealer.open(IDENTITY_LABEL, sealed);
      } catch (error) {
        if (error instanceof SealedDataError) throw new IdentityUnsealError(file, error);
        throw error;
      }
      if (plaintext.length !== 69 || plaintext[4] !== 1 || toHex(plaintext.subarray(0, 4)) !== toHex(MAGIC))
        throw new IdentityUnsealError(file, new SealedDataError('malformed', IDENTITY_LABEL));
      const identity = new EnclaveIdentity(
        keyPairFromSecret('secp256k1', plaintext.subarray(5, 37)),
        keyPairFromSecret('x25519', plaintext.subarray(37, 69)),
      );
      plaintext.fill(0);
      return { identity, created: false };
    }
    const fresh = generateIdentity();
    const identity = new EnclaveIdentity(fresh.signing, fresh.encryption);
    const plaintext = concatBytes(
      MAGIC,
      Uint8Array.of(1),
      fresh.signing.secretKey,
      fresh.encryption.secretKey,
    );
    await writeSealedFile(file, sealer.seal(IDENTITY_LABEL, plaintext));
    plaintext.fill(0);
    return { identity, created: true };
  }

  get secp256k1PublicKey(): Uint8Array {
    return new Uint8Array(this.#signing.publicKey);
  }

  get x25519PublicKey(): Uint8Array {
    return new Uint8Array(this.#encryption.publicKey);
  }

  /**
   * PROTOCOL §5 report data: sha256(secp256k1 ‖ x25519) ‖ freshness, the hash of the recent
   * finalized block a registration names (docs/attestation.md#quote-freshness), or zeros.
   */
  reportData(freshness?: Uint8Array): Uint8Array {
    return reportDataFor(this.#signing.publicKey, this.#encryption.publicKey, freshness);
  }

  /** Ethereum-style (r ‖ s ‖ v) signature over a 32-byte digest the enclave itself computed. */
  signEthereumDigest(digest: Hex): Hex {
    return toHex(signDigestEthereum(fromHex(digest, 'digest', 32), this.#signing.secretKey));
  }

  /** Substrate-style (r ‖ s ‖ recovery id) signature over a 32-byte digest. */
  signSubstrateDigest(digest: Uint8Array): Uint8Array {
    return signDigestSubstrate(digest, this.#signing.secretKey);
  }

  /** Runs `use` with the X25519 secret (to open an envelope sealed to this worker). */
  withEncryptionKey<T>(use: (secretKey: Uint8Array, publicKey: Uint8Array) => T): T {
    return use(this.#encryption.secretKey, this.#encryption.publicKey);
  }

  toJSON(): PublicIdentity {
    return this.public;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `EnclaveIdentity(${this.public.address})`;
  }
}

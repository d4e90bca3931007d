import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, utf8 } from '../../../base/bytes.js';
import { InvalidInputError } from '../../../base/errors.js';
import { sha256 } from '../../../crypto/hash.js';
import { signSimQuote } from '../../../crypto/sim-quote.js';
import { computeCodeMeasurement } from '../measurement.js';
import type { TeePlatform } from '../platform.js';

export type SimPlatformOptions = {
  /** The simulated CPU's fused secret (at least 16 bytes). */
  platformSecret: Uint8Array;
  /** Ed25519 secret key of the simulated platform CA that signs quotes. */
  platformCaKey: Uint8Array;
  /** 32 bytes naming the simulated machine (default: derived from the CA key and the secret). */
  platformId?: Uint8Array;
  /** Default: the code-bundle measurement of this checkout. */
  measurement?: Uint8Array;
  /** Unix seconds (default: the clock). */
  now?: () => bigint;
};

/**
 * Development: measurement = the code-bundle hash (measurement.ts), sealing secret = a configured
 * platform secret, quotes = PROTOCOL §5 `sim` quotes signed by a configured Ed25519 platform CA key.
 */
export class SimPlatform implements TeePlatform {
  readonly tee = 'sim' as const;
  readonly #secret: Uint8Array;
  readonly #caKey: Uint8Array;
  readonly #platformId: Uint8Array;
  readonly #measurement: Uint8Array;
  readonly #now: () => bigint;

  constructor(options: SimPlatformOptions) {
    if (options.platformSecret.length < 16)
      throw new InvalidInputError('platformSecret', 'at least 16 bytes');
    if (options.platformCaKey.length !== 32) throw new InvalidInputError('platformCaKey', '32 bytes');
    if (options.platformId && options.platformId.length !== 32)
      throw new InvalidInputError('platformId', '32 bytes');
    if (options.measurement && options.measurement.length !== 32)
      throw new InvalidInputError('measurement', '32 bytes');
    this.#secret = new Uint8Array(options.platformSecret);
    this.#caKey = new Uint8Array(options.platformCaKey);
    this.#platformId =
      options.platformId ??
      sha256(
        concatBytes(
          utf8('phala-bridge/sim-platform'),
          ed25519.getPublicKey(this.#caKey),
          sha256(this.#secret),
        ),
      );
    this.#measurement = options.measurement ?? computeCodeMeasurement().measurement;
    this.#now = options.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));
  }

  /** The platform CA's public key, which gatekeepers are configured to trust. */
  get platformCaPublicKey(): Uint8Array {
    return ed25519.getPublicKey(this.#caKey);
  }

  async measurement(): Promise<Uint8Array> {
    return new Uint8Array(this.#measurement);
  }

  async sealingSecret(): Promise<Uint8Array> {
    return new Uint8Array(this.#secret);
  }

  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    if (reportData.length !== 64) throw new InvalidInputError('reportData', '64 bytes');
    return signSimQuote(
      { measurement: this.#measurement, reportData, issuedAt: this.#now(), platformId: this.#platformId },
      this.#caKey,
    );
  }

  toJSON(): string {
    return '[SimPlatform]';
  }
}

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';
import { concatBytes, equalBytes, fromHex, utf8 } from '../../base/bytes.js';
import { BaseError, InvalidInputError } from '../../base/errors.js';
import { sha256 } from '../../crypto/hash.js';
import { signSimQuote } from '../../crypto/sim-quote.js';
import { computeCodeMeasurement } from './measurement.js';

/**
 * What the enclave needs from the TEE it runs in (docs/pruntime.md#attestation): its measurement,
 * a sealing secret bound to that measurement, and quotes whose report data it chooses.
 *
 * - `SimPlatform` (development): measurement = the code-bundle hash (measurement.ts), sealing
 *   secret = a configured platform secret, quotes = PROTOCOL §5 `sim` quotes signed by a
 *   configured Ed25519 platform CA key.
 * - `GraminePlatform` (SGX with Gramine): everything through Gramine's `/dev/attestation` files:
 *   `attestation_type`, `my_target_info` (MRENCLAVE is its first 32 bytes), `user_report_data`
 *   (write 64 bytes) then `quote` (read a DCAP quote), and `keys/_sgx_mrenclave` (the hardware
 *   sealing key for this MRENCLAVE). A TDX provider would plug in the same way (e.g. through
 *   configfs-tsm); it is not written here.
 */
export type TeeKind = 'sim' | 'sgx-dcap';

export interface TeePlatform {
  readonly tee: TeeKind;
  /** 32 bytes: what quotes report and what sealing is bound to. */
  measurement(): Promise<Uint8Array>;
  /** Secret from which sealing keys are derived; only this build on this platform gets it. */
  sealingSecret(): Promise<Uint8Array>;
  /** A quote over 64 bytes of report data. */
  quote(reportData: Uint8Array): Promise<Uint8Array>;
}

export class PlatformError extends BaseError {
  override name = 'PlatformError';
  constructor(shortMessage: string, details?: string, cause?: unknown) {
    super(shortMessage, { details, cause, docsPath: '/docs/pruntime.md#attestation' });
  }
}

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

/** Offsets in an SGX ECDSA quote v3: 48-byte header, then the enclave report body. */
const QUOTE_MRENCLAVE = 48 + 64;
const QUOTE_REPORT_DATA = 48 + 320;

export type GraminePlatformOptions = { devicePath?: string };

export class GraminePlatform implements TeePlatform {
  readonly tee = 'sgx-dcap' as const;
  readonly #dir: string;

  constructor(options: GraminePlatformOptions = {}) {
    this.#dir = options.devicePath ?? '/dev/attestation';
  }

  async #read(name: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(path.join(this.#dir, name)));
    } catch (cause) {
      throw new PlatformError(
        'Cannot read the Gramine attestation interface.',
        `${this.#dir}/${name}`,
        cause,
      );
    }
  }

  async #checkType(): Promise<void> {
    const type = new TextDecoder().decode(await this.#read('attestation_type')).trim();
    if (type !== 'dcap')
      throw new PlatformError(
        'Gramine is not configured for DCAP attestation.',
        `attestation_type is "${type}"`,
      );
  }

  async measurement(): Promise<Uint8Array> {
    const targetInfo = await this.#read('my_target_info');
    if (targetInfo.length < 32)
      throw new PlatformError('Malformed my_target_info.', `${targetInfo.length} bytes`);
    return targetInfo.slice(0, 32);
  }

  async sealingSecret(): Promise<Uint8Array> {
    const key = await this.#read('keys/_sgx_mrenclave');
    if (key.length < 16) throw new PlatformError('Malformed sealing key.', `${key.length} bytes`);
    return key;
  }

  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    if (reportData.length !== 64) throw new InvalidInputError('reportData', '64 bytes');
    await this.#checkType();
    try {
      await writeFile(path.join(this.#dir, 'user_report_data'), reportData);
    } catch (cause) {
      throw new PlatformError('Cannot write report data to Gramine.', `${this.#dir}/user_report_data`, cause);
    }
    const quote = await this.#read('quote');
    // The quote must be for us and for what we asked; anything else means a confused interface.
    if (quote.length < QUOTE_REPORT_DATA + 64)
      throw new PlatformError('Gramine returned a malformed quote.', `${quote.length} bytes`);
    const measurement = await this.measurement();
    if (!equalBytes(quote.subarray(QUOTE_MRENCLAVE, QUOTE_MRENCLAVE + 32), measurement))
      throw new PlatformError('Gramine returned a quote for another enclave.');
    if (!equalBytes(quote.subarray(QUOTE_REPORT_DATA, QUOTE_REPORT_DATA + 64), reportData))
      throw new PlatformError('Gramine returned a quote over other report data.');
    return quote;
  }
}

const secretBytes = (min: number) =>
  z
    .union([z.instanceof(Uint8Array), z.string()])
    .transform((value, ctx) => {
      try {
        return typeof value === 'string' ? fromHex(value) : value;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'hex bytes' });
        return z.NEVER;
      }
    })
    .refine((v) => v.length >= min, `at least ${min} bytes`);

/** The `worker.attestation` section of the configuration, with secrets already resolved. */
export const platformConfigSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('sim'),
    platformCaKey: secretBytes(32).refine((v) => v.length === 32, '32 bytes'),
    platformSecret: secretBytes(16),
    platformId: secretBytes(32).optional(),
  }),
  z.strictObject({
    provider: z.literal('gramine'),
    devicePath: z.string().min(1).default('/dev/attestation'),
  }),
]);
export type PlatformConfig = z.input<typeof platformConfigSchema>;

export function createTeePlatform(config: PlatformConfig): TeePlatform {
  const parsed = platformConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`attestation.${issue.path.join('.')}`, issue.message);
  }
  const c = parsed.data;
  if (c.provider === 'gramine') return new GraminePlatform({ devicePath: c.devicePath });
  return new SimPlatform({
    platformSecret: c.platformSecret,
    platformCaKey: c.platformCaKey,
    platformId: c.platformId,
  });
}

import type { TeePlatformConfig } from '../../config/schema.js';
import { z } from 'zod';
import { fromHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { DstackPlatform } from './platforms/dstack.js';
import { GraminePlatform } from './platforms/sgx-gramine.js';
import { SimPlatform } from './platforms/sim.js';
import { TdxPlatform } from './platforms/tdx-configfs.js';

/**
 * What the enclave needs from the TEE it runs in (docs/pruntime.md#attestation): its measurement,
 * a sealing secret bound to that measurement, and quotes whose report data it chooses. The
 * providers (docs/attestation.md#quote-providers), one file each under platforms/:
 *
 * - `sim` (development): PROTOCOL §5 sim quotes signed by a configured Ed25519 platform CA key.
 * - `sgx-gramine` (alias `gramine`): SGX under Gramine, through `/dev/attestation`.
 * - `tdx`: a TDX guest through Linux configfs-tsm (`/sys/kernel/config/tsm/report`).
 * - `dstack`: a TDX guest under dstack, through the guest agent's Unix socket.
 *
 * Every provider checks the quote it gets back (size, version, TEE, that its report data is what
 * was asked) and hands it on unchanged; judging it is the gatekeeper's part.
 */
export type TeeKind = 'sim' | 'sgx-dcap' | 'tdx-dcap';

export interface TeePlatform {
  readonly tee: TeeKind;
  /** 32 bytes: what quotes report and what sealing is bound to. */
  measurement(): Promise<Uint8Array>;
  /** Secret from which sealing keys are derived; only this build on this platform gets it. */
  sealingSecret(): Promise<Uint8Array>;
  /** A quote over 64 bytes of report data. */
  quote(reportData: Uint8Array): Promise<Uint8Array>;
}

export { PlatformError } from './platforms/errors.js';
export { DstackPlatform, type DstackPlatformOptions } from './platforms/dstack.js';
export { GraminePlatform, type GraminePlatformOptions } from './platforms/sgx-gramine.js';
export { SimPlatform, type SimPlatformOptions } from './platforms/sim.js';
export { TdxPlatform, type TdxPlatformOptions } from './platforms/tdx-configfs.js';

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

const gramine = (provider: 'gramine' | 'sgx-gramine') =>
  z.strictObject({
    provider: z.literal(provider),
    devicePath: z.string().min(1).default('/dev/attestation'),
  });

/** The `worker.attestation` section of the configuration, with secrets already resolved. */
export const platformConfigSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('sim'),
    platformCaKey: secretBytes(32).refine((v) => v.length === 32, '32 bytes'),
    platformSecret: secretBytes(16),
    platformId: secretBytes(32).optional(),
  }),
  gramine('sgx-gramine'),
  // the provider's earlier name, kept so existing configs keep working
  gramine('gramine'),
  z.strictObject({
    provider: z.literal('tdx'),
    configfsRoot: z.string().min(1).default('/sys/kernel/config/tsm/report'),
    expectedProvider: z.string().min(1).default('tdx_guest'),
    sealingSecret: secretBytes(16).optional(),
  }),
  z.strictObject({
    provider: z.literal('dstack'),
    socketPath: z.string().min(1).default('/var/run/dstack.sock'),
    timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  }),
]);
export type PlatformConfig = z.input<typeof platformConfigSchema>;

/** A config file's `attestation` section as the platform takes it, secrets revealed for the enclave only. */
export function platformConfigFrom(config: TeePlatformConfig): PlatformConfig {
  switch (config.provider) {
    case 'sim':
      return {
        provider: 'sim',
        platformCaKey: config.platformCaKey.reveal(),
        platformSecret: config.platformSecret.reveal(),
      };
    case 'tdx':
      return { ...config, sealingSecret: config.sealingSecret?.reveal() };
    default:
      return config;
  }
}

export function createTeePlatform(config: PlatformConfig): TeePlatform {
  const parsed = platformConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`attestation.${issue.path.join('.')}`, issue.message);
  }
  const c = parsed.data;
  switch (c.provider) {
    case 'gramine':
    case 'sgx-gramine':
      return new GraminePlatform({ devicePath: c.devicePath });
    case 'tdx':
      return new TdxPlatform({
        root: c.configfsRoot,
        expectedProvider: c.expectedProvider,
        sealingSecret: c.sealingSecret,
      });
    case 'dstack':
      return new DstackPlatform({ socketPath: c.socketPath, timeoutMs: c.timeoutMs });
    case 'sim':
      return new SimPlatform({
        platformSecret: c.platformSecret,
        platformCaKey: c.platformCaKey,
        platformId: c.platformId,
      });
  }
}

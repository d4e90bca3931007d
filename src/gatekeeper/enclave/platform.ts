import {
  type PlatformConfig,
  SimPlatform,
  type TeePlatform,
  createTeePlatform,
} from '../../pruntime/enclave/index.js';
import { computeGatekeeperMeasurement } from './measurement.js';

/**
 * The TEE platform a gatekeeper runs on: the same platforms as a worker's
 * (src/pruntime/enclave/platform.ts), with the sim measurement taken over the gatekeeper's code.
 */
export type GatekeeperPlatformOptions =
  | {
      provider: 'sim';
      platformCaKey: Uint8Array;
      platformSecret: Uint8Array;
      platformId?: Uint8Array;
      /** Default: computeGatekeeperMeasurement() of this checkout. */
      measurement?: Uint8Array;
      /** Unix seconds (default: the clock); tests make stale quotes with it. */
      now?: () => bigint;
    }
  | Exclude<PlatformConfig, { provider: 'sim' }>;

export function createGatekeeperPlatform(options: GatekeeperPlatformOptions): TeePlatform {
  // A real TEE measures the gatekeeper's build itself; only the sim platform is told what it runs.
  if (options.provider !== 'sim') return createTeePlatform(options);
  return new SimPlatform({
    platformCaKey: options.platformCaKey,
    platformSecret: options.platformSecret,
    platformId: options.platformId,
    measurement: options.measurement ?? computeGatekeeperMeasurement().measurement,
    now: options.now,
  });
}

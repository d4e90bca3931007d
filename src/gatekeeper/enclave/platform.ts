import { GraminePlatform, SimPlatform, type TeePlatform } from '../../pruntime/enclave/index.js';
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
  | { provider: 'gramine'; devicePath?: string };

export function createGatekeeperPlatform(options: GatekeeperPlatformOptions): TeePlatform {
  if (options.provider === 'gramine') return new GraminePlatform({ devicePath: options.devicePath });
  return new SimPlatform({
    platformCaKey: options.platformCaKey,
    platformSecret: options.platformSecret,
    platformId: options.platformId,
    measurement: options.measurement ?? computeGatekeeperMeasurement().measurement,
    now: options.now,
  });
}

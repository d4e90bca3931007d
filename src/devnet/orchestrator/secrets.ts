import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { BaseError, type Retry } from '../../base/errors.js';
import { type Hex, toHex, utf8 } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';

/**
 * The devnet's own secrets, never constants in the source: the simulated TEE platform's CA key
 * (the gatekeeper trusts quotes it signs) with the sealing secrets derived from it, and the
 * relayer's admin token.
 *
 * - seeded (`seed`): derived from the seed, the same on every start (replay tapes);
 * - a data directory whose devnet.json exists: the platform of that previous start, so workers'
 *   and the gatekeeper's sealed identities there still open and still verify;
 * - otherwise: random, new on every start.
 *
 * The admin token is never reused from a file: new per start unless seeded.
 */
export type DevnetSecrets = {
  platformCaKey: Hex;
  /** Seals the workers' identities (what a CPU's sealing key is to a real enclave). */
  workerPlatformSecret: Hex;
  gatekeeperPlatformSecret: Hex;
  adminToken: string;
};

export class DevnetSecretsError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'DevnetSecretsError';
}

function derive(root: Uint8Array, label: string): Hex {
  return toHex(blake2_256(new Uint8Array([...root, ...utf8(`/${label}`)])));
}

/** What a previous start left in devnet.json: the gatekeeper's sim platform CA key (inline). */
const previousSchema = z.object({
  gatekeeper: z.object({
    attestation: z.object({ platformCaKey: z.object({ value: z.string().regex(/^0x[0-9a-fA-F]{64}$/) }) }),
  }),
});

function previousCaKey(configFile: string): Hex | undefined {
  if (!existsSync(configFile)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (cause) {
    throw new DevnetSecretsError(`Cannot read the devnet config left in ${configFile}.`, {
      cause,
      details: 'remove it (or the whole data directory) to start a fresh devnet',
    });
  }
  const parsed = previousSchema.safeParse(json);
  if (!parsed.success)
    throw new DevnetSecretsError(`${configFile} has no gatekeeper.attestation.platformCaKey.`, {
      details: 'remove it (or the whole data directory) to start a fresh devnet',
    });
  return parsed.data.gatekeeper.attestation.platformCaKey.value as Hex;
}

export function devnetSecrets(p: { seed?: string | undefined; configFile: string }): DevnetSecrets {
  const seedRoot = p.seed === undefined ? undefined : blake2_256(utf8(`phala-bridge/devnet/${p.seed}`));
  const platformCaKey =
    (seedRoot ? derive(seedRoot, 'sim-platform-ca') : undefined) ??
    previousCaKey(p.configFile) ??
    toHex(randomBytes(32));
  const caRoot = utf8(platformCaKey);
  return {
    platformCaKey,
    workerPlatformSecret: derive(caRoot, 'worker-platform-secret'),
    gatekeeperPlatformSecret: derive(caRoot, 'gatekeeper-platform-secret'),
    adminToken: seedRoot ? derive(seedRoot, 'admin-token').slice(2) : randomBytes(32).toString('base64url'),
  };
}

import path from 'node:path';
import { type Hex, fromHex } from '../../src/base/bytes.js';
import type { Devnet } from '../../src/devnet/orchestrator/devnet.js';
import { EnclaveIdentity } from '../../src/pruntime/enclave/identity.js';
import { SimPlatform } from '../../src/pruntime/enclave/platform.js';
import { Sealer } from '../../src/pruntime/enclave/sealing.js';

/**
 * A devnet worker's identity, unsealed from its data directory with the devnet's simulated
 * platform (generated per start: src/devnet/orchestrator/secrets.ts) and the
 * worker's measurement (taken from the running worker: the tree may have changed since it
 * started). What a compromised host of a sim TEE could do; the security tests use it to sign as a
 * real, approved worker would.
 */
export async function devnetWorkerIdentity(
  d: Devnet,
  index: number,
  measurement: Hex,
): Promise<EnclaveIdentity> {
  const platform = new SimPlatform({
    platformCaKey: fromHex(d.simPlatform.caKey),
    platformSecret: fromHex(d.simPlatform.workerSecret),
    measurement: fromHex(measurement),
  });
  const sealer = Sealer.derive(await platform.sealingSecret(), fromHex(measurement));
  const { identity, created } = await EnclaveIdentity.loadOrCreate(
    path.join(d.dataDir, `worker-${index}`),
    sealer,
  );
  if (created) throw new Error('the worker had no sealed identity');
  return identity;
}

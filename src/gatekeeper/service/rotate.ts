import { type Hex, equalBytes, toHex } from '../../base/bytes.js';
import * as registry from '../../phala/actions/registry.js';
import type { PhalaClient } from '../../phala/client.js';
import type { Signer } from '../../phala/submit.js';
import type { GatekeeperEnclave } from '../enclave/enclave.js';
import { GatekeeperError } from '../errors.js';

export type RotateMasterKeyParameters = {
  enclave: GatekeeperEnclave;
  client: PhalaClient;
  /** Pays for the transaction; default: the enclave identity's ecdsa account. */
  signer?: Signer;
};

/**
 * Rotates the master key: the enclave makes the next epoch's key and seals it before it is
 * published, then PhalaRegistry.rotateMasterKey records its public key (MasterKeyRotated). Only a
 * gatekeeper holding the chain's current epoch (the same key) may rotate. The running gatekeepers
 * do the rest when they see the event: fetch the new key, publish the contracts' new keys, sign
 * the EVM gatekeeper-set update of the new epoch.
 */
export async function rotateMasterKey(
  p: RotateMasterKeyParameters,
): Promise<{ epoch: number; publicKey: Hex }> {
  const { enclave, client } = p;
  await enclave.reload();
  const chain = await registry.getMasterKey(client);
  const latest = enclave.latestEpoch();
  if (!chain || latest === null || Number(chain.epoch) !== latest)
    throw new GatekeeperError('The gatekeeper does not hold the current master key.', {
      details: `chain epoch ${chain?.epoch ?? 'none'}, held ${latest ?? 'none'}`,
    });
  if (toHex(enclave.masterPublicKey(latest)) !== chain.publicKey)
    throw new GatekeeperError('The held master key differs from the chain.', { details: `epoch ${latest}` });
  const created = await enclave.createMasterKey(latest + 1, client.genesisHash);
  await registry.rotateMasterKey(client, {
    signer: p.signer ?? enclave.transactionSigner(),
    publicKey: created.publicKey,
    epoch: BigInt(created.epoch),
    signature: created.signature,
  });
  const published = await registry.getMasterKey(client);
  if (!published || !equalBytes(Buffer.from(published.publicKey.slice(2), 'hex'), created.publicKey))
    throw new GatekeeperError('The rotation did not land.', { details: `epoch ${created.epoch}` });
  return { epoch: created.epoch, publicKey: toHex(created.publicKey) };
}

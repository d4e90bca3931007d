import type { KeyringPair } from '@polkadot/keyring/types';
import { type DevnetClients, devnetClients } from '../devnet/evm/clients.js';
import type { Devnet } from '../devnet/orchestrator/devnet.js';
import { devSigner } from '../phala/signers.js';

/** A funded EVM account of the devnet (Hardhat's 0–9; 0 deploys, 1 is the relayer's signer). */
export function evmAccount(devnet: Devnet, index: number): DevnetClients {
  const account = devnet.chains.evm.accounts[index];
  if (!account)
    throw new RangeError(`the devnet has EVM accounts 0–${devnet.chains.evm.accounts.length - 1}`);
  return devnetClients(devnet.chains.evm, account.privateKey);
}

/**
 * A funded development account on the Phala-style chain and the sibling (`//Alice` … `//Ferdie`;
 * Alice deploys, Charlie is the gatekeeper's, Bob the relayer's).
 */
export function substrateAccount(
  name: 'Alice' | 'Bob' | 'Charlie' | 'Dave' | 'Eve' | 'Ferdie',
): Promise<KeyringPair> {
  return devSigner(name);
}

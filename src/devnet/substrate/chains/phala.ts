import type { ChainSpec } from '../chain/chain.js';
import type { Pallet } from '../runtime/pallet.js';
import type { RuntimeRefs } from '../runtime/refs.js';
import { composeChain } from './compose.js';
import { devAccounts } from './dev-accounts.js';

/** The Phala-style parachain (para id 2035): base pallets plus the registry, contracts and mq pallets. */

export const PHALA_PARA_ID = 2035;
/** Each dev account's genesis balance: 1,000,000 PHA (12 decimals). */
export const DEV_ENDOWMENT = 10n ** 18n;

export type PhalaChainOptions = {
  /** Extra pallets a composed devnet adds (XCM: polkadotXcm, xcmpQueue, messageQueue...). */
  extraPallets?: (refs: RuntimeRefs) => { index: number; pallet: Pallet }[];
  /** Replaces the phala pallets' defaults (used by the XCM layer to extend the request origin). */
  phalaPallets?: (refs: RuntimeRefs) => { index: number; pallet: Pallet }[];
  /** Extra genesis balances. */
  endowed?: [Uint8Array, bigint][];
  blockHashCount?: number;
};

export async function phalaChainSpec(options: PhalaChainOptions = {}): Promise<ChainSpec> {
  const accounts = await devAccounts(30);
  const { phalaPallets } = await import('./phala-pallets.js');
  return composeChain({
    id: 'phala-devnet',
    name: 'Phala Devnet',
    crate: 'phala_devnet_runtime',
    version: {
      specName: 'phala-devnet',
      implName: 'phala-bridge-devnode',
      authoringVersion: 1,
      specVersion: 1,
      implVersion: 0,
      transactionVersion: 1,
      stateVersion: 1,
    },
    properties: { ss58Format: 30, tokenDecimals: 12, tokenSymbol: 'PHA' },
    endowed: [
      ...Object.values(accounts).map((pair) => [pair.publicKey, DEV_ENDOWMENT] as [Uint8Array, bigint]),
      ...(options.endowed ?? []),
    ],
    sudoKey: accounts.Alice.publicKey,
    existentialDeposit: 10n ** 10n,
    blockHashCount: options.blockHashCount,
    slotDurationMs: 12_000,
    paraId: PHALA_PARA_ID,
    pallets: (refs) => [
      ...(options.phalaPallets ?? phalaPallets)(refs),
      ...(options.extraPallets?.(refs) ?? []),
    ],
  });
}

import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';

/** The well-known development accounts (`//Alice` ... `//Ferdie`, sr25519), as Substrate's dev chains fund them. */
export const DEV_ACCOUNT_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'] as const;
export type DevAccountName = (typeof DEV_ACCOUNT_NAMES)[number];

export async function devAccounts(ss58Format = 42): Promise<Record<DevAccountName, KeyringPair>> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format });
  return Object.fromEntries(
    DEV_ACCOUNT_NAMES.map((name) => [name, keyring.addFromUri(`//${name}`)]),
  ) as Record<DevAccountName, KeyringPair>;
}

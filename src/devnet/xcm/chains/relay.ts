import { fromHex } from '../../../base/bytes.js';
import { sovereignAccountOf } from '../../../xcm/sovereign.js';
import { parachain } from '../../../xcm/location.js';
import type { ChainSpec } from '../../substrate/chain/chain.js';
import { composeChain } from '../../substrate/chains/compose.js';
import { devAccounts } from '../../substrate/chains/dev-accounts.js';
import { xcmChainConfig } from '../config.js';
import { relayXcmChain, relayXcmPallets } from '../kit.js';

/** The relay chain of the devnet: base pallets plus the parachain host and XCM pallets. */

export const RELAY_ENDOWMENT = 10n ** 18n;

export type RelayChainOptions = { paras: number[]; endowed?: [Uint8Array, bigint][] };

export async function relayChainSpec(options: RelayChainOptions): Promise<ChainSpec> {
  const accounts = await devAccounts(42);
  const chain = relayXcmChain(xcmChainConfig({ paraId: null, paras: options.paras }));
  // Each parachain's sovereign account (b"para" ++ id) holds funds, as on a real relay chain.
  const sovereigns = options.paras.map(
    (id) =>
      [fromHex(sovereignAccountOf(parachain(id))!.account, 'account', 32), RELAY_ENDOWMENT] as [
        Uint8Array,
        bigint,
      ],
  );
  return composeChain({
    id: 'relay-devnet',
    name: 'Relay Devnet',
    crate: 'relay_devnet_runtime',
    version: {
      specName: 'relay-devnet',
      implName: 'phala-bridge-devnode',
      authoringVersion: 1,
      specVersion: 1,
      implVersion: 0,
      transactionVersion: 1,
      stateVersion: 1,
    },
    properties: { ss58Format: 42, tokenDecimals: 12, tokenSymbol: 'ROC' },
    endowed: [
      ...Object.values(accounts).map((pair) => [pair.publicKey, RELAY_ENDOWMENT] as [Uint8Array, bigint]),
      ...sovereigns,
      ...(options.endowed ?? []),
    ],
    sudoKey: accounts.Alice.publicKey,
    existentialDeposit: 10n ** 10n,
    slotDurationMs: 6_000,
    pallets: () => relayXcmPallets(chain),
  });
}

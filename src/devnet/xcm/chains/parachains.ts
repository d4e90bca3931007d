import { u8aToHex } from '@polkadot/util';
import { fromHex, type Hex } from '../../../base/bytes.js';
import { parent, sibling, siblingAccount } from '../../../xcm/location.js';
import { sovereignAccountOf } from '../../../xcm/sovereign.js';
import type { ChainSpec } from '../../substrate/chain/chain.js';
import { composeChain } from '../../substrate/chains/compose.js';
import { devAccounts } from '../../substrate/chains/dev-accounts.js';
import { DEV_ENDOWMENT, PHALA_PARA_ID, phalaChainSpec } from '../../substrate/chains/phala.js';
import { PHALA_PALLET_INDICES, phalaPalletsWith } from '../../substrate/chains/phala-pallets.js';
import { xcmChainConfig } from '../config.js';
import { paraXcmChain, paraXcmPallets } from '../kit.js';
import {
  CONFIDENTIAL_CLIENT_CALLS,
  type ConfidentialClientConfig,
  confidentialClientPallet,
} from '../pallets/confidential-client.js';
import { phalaXcmResponderPallet, xcmRequestOrigin } from '../pallets/phala-responder.js';

/**
 * The two parachains of the relay devnet: the Phala-style chain (para 2035) with the XCM pallets,
 * XCM request origins and PhalaXcmResponder; and a sibling parachain (para 2000) with the XCM
 * pallets and ConfidentialClient. Genesis funds the accounts XCM pays from: each chain's
 * sovereign account on the other, the relay chain's account (`Parent`) on both, and on the Phala
 * chain the accounts the sibling's dev accounts control there (their requests' fees).
 */

export const SIBLING_PARA_ID = 2000;
export { PHALA_PARA_ID };
/** Where the extra pallets sit: PhalaXcmResponder on the Phala chain, ConfidentialClient on the sibling. */
export const PHALA_XCM_RESPONDER_INDEX = 34;
export const CONFIDENTIAL_CLIENT_INDEX = 50;

const account = (hex: Hex | undefined): Uint8Array => fromHex(hex!, 'account', 32);

export async function phalaXcmChainSpec(options: { siblingParaId?: number } = {}): Promise<ChainSpec> {
  const siblingId = options.siblingParaId ?? SIBLING_PARA_ID;
  const config = xcmChainConfig({ paraId: PHALA_PARA_ID, unpaidFrom: [parent()] });
  const chain = paraXcmChain(config);
  const siblingDevs = await devAccounts(42);
  const endowed: [Uint8Array, bigint][] = [
    [account(sovereignAccountOf(parent())?.account), DEV_ENDOWMENT],
    [account(sovereignAccountOf(sibling(siblingId))?.account), DEV_ENDOWMENT],
    ...Object.values(siblingDevs).map(
      (pair) =>
        [
          account(sovereignAccountOf(siblingAccount(siblingId, u8aToHex(pair.publicKey) as Hex))?.account),
          DEV_ENDOWMENT,
        ] as [Uint8Array, bigint],
    ),
  ];
  return phalaChainSpec({
    endowed,
    phalaPallets: phalaPalletsWith({ origins: [xcmRequestOrigin(chain)] }),
    extraPallets: () => [
      ...paraXcmPallets(chain),
      {
        index: PHALA_XCM_RESPONDER_INDEX,
        pallet: phalaXcmResponderPallet({
          callbacks: [
            [
              siblingId,
              {
                palletIndex: CONFIDENTIAL_CLIENT_INDEX,
                callIndex: CONFIDENTIAL_CLIENT_CALLS.callback,
                fee: null,
              },
            ],
          ],
        }),
      },
    ],
  });
}

export type SiblingChainOptions = {
  paraId?: number;
  phalaParaId?: number;
  /** The Phala chain's genesis hash, which its worker proofs bind (set at genesis when known). */
  phalaGenesisHash?: Uint8Array;
  client?: Omit<ConfidentialClientConfig, 'phala'>;
  endowed?: [Uint8Array, bigint][];
};

export async function siblingChainSpec(options: SiblingChainOptions = {}): Promise<ChainSpec> {
  const paraId = options.paraId ?? SIBLING_PARA_ID;
  const phalaParaId = options.phalaParaId ?? PHALA_PARA_ID;
  const config = xcmChainConfig({ paraId, unpaidFrom: [parent(), sibling(phalaParaId)] });
  const chain = paraXcmChain(config);
  const accounts = await devAccounts(42);
  return composeChain({
    id: 'sibling-devnet',
    name: 'Sibling Devnet',
    crate: 'sibling_devnet_runtime',
    version: {
      specName: 'sibling-devnet',
      implName: 'phala-bridge-devnode',
      authoringVersion: 1,
      specVersion: 1,
      implVersion: 0,
      transactionVersion: 1,
      stateVersion: 1,
    },
    properties: { ss58Format: 42, tokenDecimals: 12, tokenSymbol: 'SIB' },
    endowed: [
      ...Object.values(accounts).map((pair) => [pair.publicKey, DEV_ENDOWMENT] as [Uint8Array, bigint]),
      [account(sovereignAccountOf(parent())?.account), DEV_ENDOWMENT],
      [account(sovereignAccountOf(sibling(phalaParaId))?.account), DEV_ENDOWMENT],
      ...(options.endowed ?? []),
    ],
    sudoKey: accounts.Alice.publicKey,
    existentialDeposit: 10n ** 10n,
    slotDurationMs: 12_000,
    paraId,
    pallets: () => [
      ...paraXcmPallets(chain),
      {
        index: CONFIDENTIAL_CLIENT_INDEX,
        pallet: confidentialClientPallet(chain, {
          ...options.client,
          ...(options.phalaGenesisHash
            ? {
                phala: {
                  paraId: phalaParaId,
                  genesisHash: options.phalaGenesisHash,
                  requestCall: Uint8Array.of(PHALA_PALLET_INDICES.PhalaContracts, 2),
                },
              }
            : {}),
        }),
      },
    ],
  });
}

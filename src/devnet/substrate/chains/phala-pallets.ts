import { type ContractsConfig, contractExists, phalaContractsPallet } from '../pallets/phala/contracts.js';
import { phalaMqPallet } from '../pallets/phala/mq.js';
import { phalaRegistryPallet } from '../pallets/phala/registry.js';
import type { Pallet } from '../runtime/pallet.js';
import type { RuntimeRefs } from '../runtime/refs.js';

/**
 * The Phala pallets at their indices: PhalaRegistry 40, PhalaMq 41, PhalaContracts 42 (indices
 * 10-39 are left for the XCM layer: ParachainSystem, XcmpQueue 30, PolkadotXcm 31, MessageQueue 33).
 */
export const PHALA_PALLET_INDICES = { PhalaRegistry: 40, PhalaMq: 41, PhalaContracts: 42 } as const;

export function phalaPalletsWith(contracts: ContractsConfig = {}) {
  return (_refs: RuntimeRefs): { index: number; pallet: Pallet }[] => [
    { index: PHALA_PALLET_INDICES.PhalaRegistry, pallet: phalaRegistryPallet({ contractExists }) },
    { index: PHALA_PALLET_INDICES.PhalaMq, pallet: phalaMqPallet() },
    { index: PHALA_PALLET_INDICES.PhalaContracts, pallet: phalaContractsPallet(contracts) },
  ];
}

export const phalaPallets = phalaPalletsWith();

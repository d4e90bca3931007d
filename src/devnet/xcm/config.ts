import type { LocationJson } from '../../xcm/location.js';
import type { WeightValue } from '../substrate/runtime/types.js';

/**
 * How one chain of the relay devnet runs XCM: where it sits, whom it lets run unpaid, its weights
 * and limits. The pallets and the executor of a chain share one config.
 */
export type XcmChainConfig = {
  /** This chain's para id, or null for the relay chain. */
  paraId: number | null;
  /** The XCM pallet's name: `PolkadotXcm` on parachains, `XcmPallet` on the relay chain. */
  xcmPallet: 'PolkadotXcm' | 'XcmPallet';
  /** Locations (seen from this chain) whose messages may start with UnpaidExecution. */
  unpaidFrom: LocationJson[];
  /** Relay chain only: the registered parachains (all HRMP channels between them are open). */
  paras: number[];
  /** Weight of one instruction (xcm-builder's FixedWeightBounds UnitWeightCost). */
  unitWeight: WeightValue;
  /** At most this many instructions in a message, nested ones included. */
  maxInstructions: number;
  /** A message heavier than this is set aside as overweight (`OverweightEnqueued`). */
  maxMessageWeight: WeightValue;
  /** Longest message (bytes) the chain sends or accepts. */
  maxMessageSize: number;
  /**
   * Devnet policy: a call that fails inside Transact fails the message at that instruction, as a
   * real chain does when the program has `ExpectTransactStatus(Success)` after its Transact. Off:
   * the failure is only recorded in the transact status (polkadot-sdk's default).
   */
  strictTransact: boolean;
};

export const DEFAULT_UNIT_WEIGHT: WeightValue = { refTime: 1_000_000_000n, proofSize: 64n * 1024n };

export function xcmChainConfig(
  p: Pick<XcmChainConfig, 'paraId'> & Partial<Omit<XcmChainConfig, 'paraId'>>,
): XcmChainConfig {
  return {
    paraId: p.paraId,
    xcmPallet: p.xcmPallet ?? (p.paraId === null ? 'XcmPallet' : 'PolkadotXcm'),
    unpaidFrom: p.unpaidFrom ?? [],
    paras: p.paras ?? [],
    unitWeight: p.unitWeight ?? DEFAULT_UNIT_WEIGHT,
    maxInstructions: p.maxInstructions ?? 100,
    maxMessageWeight: p.maxMessageWeight ?? { refTime: 1_000_000_000_000n, proofSize: 5n * 1024n * 1024n },
    maxMessageSize: p.maxMessageSize ?? 100 * 1024,
    strictTransact: p.strictTransact ?? true,
  };
}

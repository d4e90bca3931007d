import type { ChainProperties, ChainSpec } from '../chain/chain.js';
import { balancesPallet } from '../pallets/balances.js';
import { sudoPallet } from '../pallets/sudo.js';
import { systemPallet } from '../pallets/system.js';
import { timestampPallet } from '../pallets/timestamp.js';
import { transactionPaymentPallet } from '../pallets/transaction-payment.js';
import type { Pallet, RuntimeApi } from '../runtime/pallet.js';
import { RuntimeRefs } from '../runtime/refs.js';
import { Runtime } from '../runtime/runtime.js';
import type { DigestItemValue } from '../runtime/types.js';
import type { RuntimeVersionSpec } from '../runtime/version.js';

/**
 * Composing a chain: the base pallets every chain here has (System 0, Timestamp 1, Balances 2,
 * TransactionPayment 3, Sudo 4 — as in Substrate's node-template) plus the chain's own pallets at
 * the indices it picks.
 */

export type ComposeChainParameters = {
  /** Chain id (data dir and chain spec id), e.g. `phala-devnet`. */
  id: string;
  /** `system_chain`. */
  name: string;
  /** Runtime crate (must end with `_runtime`). */
  crate: string;
  version: RuntimeVersionSpec;
  properties: ChainProperties;
  /** Genesis balances. */
  endowed: [account: Uint8Array, amount: bigint][];
  sudoKey: Uint8Array | null;
  existentialDeposit?: bigint;
  blockHashCount?: number;
  /** Slot length for the Aura pre-runtime digest (ms). */
  slotDurationMs?: number;
  paraId?: number;
  /** The chain's own pallets, each with the index it occupies; they get the shared refs. */
  pallets?: (refs: RuntimeRefs) => { index: number; pallet: Pallet }[];
  apis?: RuntimeApi[];
  /** Extra digest items (a relay chain might add BABE); the default is an Aura slot. */
  digest?: (block: { number: number; timestamp: bigint; slot: bigint }) => DigestItemValue[];
  onUnexpectedError?: (error: unknown) => void;
};

const AURA_ENGINE = new TextEncoder().encode('aura');

function u64le(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export function composeChain(parameters: ComposeChainParameters): ChainSpec {
  const refs = new RuntimeRefs();
  const blockHashCount = parameters.blockHashCount ?? 4096;
  const slot = BigInt(parameters.slotDurationMs ?? 6000);
  const runtime = new Runtime({
    crate: parameters.crate,
    version: parameters.version,
    refs,
    pallets: [
      {
        index: 0,
        pallet: systemPallet({ refs, blockHashCount, ss58Prefix: parameters.properties.ss58Format }),
      },
      { index: 1, pallet: timestampPallet({ minimumPeriod: 1n }) },
      {
        index: 2,
        pallet: balancesPallet({
          existentialDeposit: parameters.existentialDeposit ?? 10n ** 10n,
          endowed: parameters.endowed,
        }),
      },
      { index: 3, pallet: transactionPaymentPallet({ byteFee: 1_000_000n, weightPerFeeUnit: 10n }) },
      { index: 4, pallet: sudoPallet({ refs, key: parameters.sudoKey }) },
      ...(parameters.pallets?.(refs) ?? []),
    ],
    apis: parameters.apis,
    onUnexpectedError: parameters.onUnexpectedError,
  });
  return {
    id: parameters.id,
    name: parameters.name,
    chainType: 'Development',
    properties: parameters.properties,
    runtime,
    blockHashCount,
    minimumPeriod: 1n,
    paraId: parameters.paraId,
    digest: ({ number, timestamp }) => {
      const s = timestamp / slot;
      if (parameters.digest) return parameters.digest({ number, timestamp, slot: s });
      return [{ tag: 'PreRuntime', value: [AURA_ENGINE, u64le(s)] }];
    },
  };
}

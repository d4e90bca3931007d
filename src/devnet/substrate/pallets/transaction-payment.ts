import type { Env } from '../runtime/context.js';
import { type Pallet, defineEvents, definePallet, storageValue } from '../runtime/pallet.js';
import { AccountId, Balance, type DispatchInfoValue, type WeightValue } from '../runtime/types.js';
import { t } from '../scale/ty.js';
import { SystemLimits } from './system.js';

export const TRANSACTION_PAYMENT = 'TransactionPayment';
const CRATE = 'pallet_transaction_payment';

const FixedU128 = t.newtype('sp_arithmetic::fixed_point::FixedU128', t.u128, 'u128');
const Releases = t.enum('pallet_transaction_payment::Releases', { V1Ancient: {}, V2: {} });

export const transactionPaymentStorage = {
  NextFeeMultiplier: storageValue({ value: FixedU128, default: 10n ** 18n }),
  StorageVersion: storageValue({ value: Releases, default: { tag: 'V2' } }),
};

export const transactionPaymentEvents = defineEvents(TRANSACTION_PAYMENT, CRATE, {
  TransactionFeePaid: {
    fields: { who: AccountId, actualFee: Balance, tip: Balance },
    docs: [
      'A transaction fee `actual_fee`, of which `tip` was added to the minimum inclusion fee,',
      'has been paid by `who`.',
    ],
  },
});

/** Fee parameters: base fee is the extrinsic base weight's fee; then per byte and per weight. */
export type FeeConfig = {
  /** Fee per byte of the encoded extrinsic. */
  byteFee: bigint;
  /** Ref-time weight units per unit of fee. */
  weightPerFeeUnit: bigint;
};

export type FeeDetails = { baseFee: bigint; lenFee: bigint; adjustedWeightFee: bigint; tip: bigint };

export const TransactionPayment = {
  weightToFee(env: Env, weight: WeightValue): bigint {
    const config = env.runtime.constant(TRANSACTION_PAYMENT, 'FeeConfig') as unknown as {
      weightPerFeeUnit: bigint;
    };
    return weight.refTime / config.weightPerFeeUnit;
  },
  lengthToFee(env: Env, length: number): bigint {
    const config = env.runtime.constant(TRANSACTION_PAYMENT, 'FeeConfig') as unknown as { byteFee: bigint };
    return config.byteFee * BigInt(length);
  },
  /** `compute_fee_details`: base + length + weight fee, plus tip; calls with Pays::No are free. */
  feeDetails(env: Env, length: number, info: DispatchInfoValue, tip: bigint): FeeDetails {
    if (info.paysFee.tag === 'No') return { baseFee: 0n, lenFee: 0n, adjustedWeightFee: 0n, tip };
    return {
      baseFee: TransactionPayment.weightToFee(env, SystemLimits.baseExtrinsic),
      lenFee: TransactionPayment.lengthToFee(env, length),
      adjustedWeightFee: TransactionPayment.weightToFee(env, info.weight),
      tip,
    };
  },
  fee(env: Env, length: number, info: DispatchInfoValue, tip: bigint): bigint {
    const d = TransactionPayment.feeDetails(env, length, info, tip);
    return d.baseFee + d.lenFee + d.adjustedWeightFee + d.tip;
  },
};

export function transactionPaymentPallet(config: FeeConfig): Pallet {
  return definePallet({
    name: TRANSACTION_PAYMENT,
    crate: CRATE,
    storage: transactionPaymentStorage,
    events: transactionPaymentEvents,
    constants: {
      OperationalFeeMultiplier: {
        type: t.u8,
        value: 5,
        docs: [
          ' A fee multiplier for `Operational` extrinsics to compute "virtual tip" to boost their',
          ' `priority`',
        ],
      },
      // Not a FRAME constant; exposed so clients can see how fees are computed here.
      FeeConfig: {
        type: t.struct('phala_devnet::FeeConfig', { byteFee: Balance, weightPerFeeUnit: t.u64 }),
        value: config,
        docs: [' Dev-node fee parameters: fee per byte, and ref-time weight per unit of fee.'],
      },
    },
  });
}

import { SubmitterError } from '../errors.js';

/** EIP-1559 fee fields of one transaction. */
export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

export type FeePolicy = {
  /** Never offer more than this per gas, replacements included. */
  maxFeePerGasCap: bigint;
  /** Tip to offer first; default the node's `eth_maxPriorityFeePerGas`. */
  maxPriorityFeePerGas?: bigint;
  /** `maxFeePerGas = baseFee * baseFeeMultiplier + tip` (default 2: survives six full blocks). */
  baseFeeMultiplier?: number;
  /** Raise both fees by this percentage when replacing (default 15; nodes require at least 10). */
  bumpPercent?: number;
};

const minOf = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b);

function mulPercent(value: bigint, percent: number): bigint {
  const p = BigInt(Math.round(percent * 100));
  return (value * p + 9_999n) / 10_000n;
}

/** First fees for a transaction, from the latest base fee and the suggested tip, capped. */
export function initialFees(baseFee: bigint, suggestedTip: bigint, policy: FeePolicy): Fees {
  const tip = policy.maxPriorityFeePerGas ?? suggestedTip;
  const wanted = mulPercent(baseFee, (policy.baseFeeMultiplier ?? 2) * 100) + tip;
  const maxFeePerGas = minOf(wanted, policy.maxFeePerGasCap);
  if (maxFeePerGas < baseFee)
    throw new SubmitterError('fee cap is below the current base fee', {
      details: `baseFee ${baseFee} wei, maxFeePerGasCap ${policy.maxFeePerGasCap} wei`,
      docsPath: 'docs/evm.md#submitter',
    });
  return { maxFeePerGas, maxPriorityFeePerGas: minOf(tip, maxFeePerGas) };
}

/**
 * Fees for a replacement: both raised by `bumpPercent` (and the max fee at least what the base
 * fee now needs), capped. Null when the cap leaves no room for a valid replacement (nodes refuse
 * one that does not raise both fees by 10%).
 */
export function bumpedFees(previous: Fees, baseFee: bigint, policy: FeePolicy): Fees | null {
  const bump = 100 + (policy.bumpPercent ?? 15);
  const tip = mulPercent(previous.maxPriorityFeePerGas, bump);
  const byBump = mulPercent(previous.maxFeePerGas, bump);
  const byBase = mulPercent(baseFee, (policy.baseFeeMultiplier ?? 2) * 100) + tip;
  const maxFeePerGas = minOf(maxOf(byBump, byBase), policy.maxFeePerGasCap);
  const maxPriorityFeePerGas = minOf(tip, maxFeePerGas);
  const minimum = (x: bigint) => mulPercent(x, 110);
  if (
    maxFeePerGas < minimum(previous.maxFeePerGas) ||
    maxPriorityFeePerGas < minimum(previous.maxPriorityFeePerGas)
  )
    return null;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

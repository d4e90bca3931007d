import type { Hex } from 'viem';
import { fromHex } from '../../base/bytes.js';
import type { FulfillmentInput } from '../types.js';

/**
 * A gas limit that covers a `fulfill`, `fulfillBatch` or `fulfillBatches` call, from its shape
 * alone: every item priced as the gateway's most expensive path for it (cold storage, a callback
 * given all of its `callbackGasLimit`, the EIP-150 reserve the gateway insists on), plus the
 * calldata, before any refund. The relayer proves the figure with one `eth_call` at this limit
 * (`EvmSubmitter.gasWithin`) instead of asking for `eth_estimateGas`, which nodes answer by a
 * binary search of a dozen or more runs of the same call: on Hardhat a batch of 18 took ~100 ms
 * of the node's one thread against ~5 ms for the one run.
 *
 * Callbacks are priced at their full `callbackGasLimit`, the most they can burn, so a batch whose
 * callbacks use little gets a limit well above its use: unused gas is never charged, the signer
 * only needs the balance to cover the limit. The rest is generous on purpose: a bound that falls
 * short costs a second round trip (the fallback estimate), never a failed transaction. Measured
 * against the node's own estimate in test/evm/fulfillment-gas.test.ts.
 */
export type FulfillmentGasBoundParameters = {
  /** The call's batches in order; a lone `fulfill` is one batch of one item. */
  batches: readonly { items: readonly FulfillmentInput[] }[];
  /** The encoded calldata of the call. */
  data: Hex;
};

/** Intrinsic cost of any transaction. */
const TX_BASE = 21_000n;
/** Dispatch, ABI offsets and the results arrays of the call. */
const CALL_OVERHEAD = 20_000n;
/**
 * One batch: ecrecover (3,000), the EIP-712 digest, the Merkle layer's allocation, and its
 * signer's record and authorization read cold (up to four slots, 8,400). A worker answers for one
 * cluster, so its items find them warm.
 */
const PER_BATCH = 16_000n;
/** One Merkle node above the leaves (a keccak of two words and its memory). */
const PER_MERKLE_NODE = 300n;
/**
 * One item without a callback: the commitment read cold (2,100) and cleared (2,900, refunded only
 * at the end), the commitment and leaf hashes, the authorization read warm, the
 * `RequestFulfilled` event (1,756) and the control flow. With `PER_CALL`, an item measured about
 * 12,400 on Hardhat, its calldata aside (test/evm/fulfillment-gas.test.ts has the comparisons).
 */
const PER_ITEM = 14_000n;
/** Per 32-byte word of an item's outputs: copied and hashed for the leaf, copied for the callback. */
const PER_OUTPUT_WORD = 24n;
/**
 * The call to a requester with code, made even with no callback gas: its code size and the call
 * cold (2,600 + 100) and a `CallbackFailed` event carrying up to `MAX_RETURN_DATA` (256) bytes.
 */
const PER_CALL = 4_000n;
/** With callback gas: the gateway's `GAS_FOR_CALL_EXACT_CHECK` (5,000) and the call's value checks. */
const PER_CALLBACK_GAS = 6_000n;
/** EIP-7623 (Prague): the floor price of a calldata token (a zero byte is 1 token, others 4). */
const FLOOR_PER_TOKEN = 10n;

/** An upper bound of the gas the call needs, before refunds. */
export function fulfillmentGasBound(p: FulfillmentGasBoundParameters): bigint {
  let zero = 0n;
  let nonZero = 0n;
  for (const byte of fromHex(p.data, 'data')) {
    if (byte === 0) zero++;
    else nonZero++;
  }
  let execution = CALL_OVERHEAD;
  let callbacks = 0n;
  let largestWords = 0n;
  for (const batch of p.batches) {
    const n = BigInt(batch.items.length);
    execution += PER_BATCH + PER_MERKLE_NODE * n;
    for (const item of batch.items) {
      const words = outputWords(item.publicOutput) + outputWords(item.sealedOutput);
      if (words > largestWords) largestWords = words;
      execution += PER_ITEM + PER_OUTPUT_WORD * words + PER_CALL;
      // Every callback may burn all of its gas, and the gateway wants 64/63 of it left after its
      // reserve (EIP-150): callbacks are priced by their limits, as Chainlink's transmitters do.
      const callbackGas = BigInt(item.request.callbackGasLimit);
      if (callbackGas > 0n) {
        execution += PER_CALLBACK_GAS;
        callbacks += callbackGas + callbackGas / 63n + 1n;
      }
    }
  }
  // Scratch memory for the largest item (its outputs and the callback's calldata), paid once.
  const memoryWords = largestWords + 16n;
  execution += 3n * memoryWords + (memoryWords * memoryWords) / 512n;
  const standard = TX_BASE + 4n * zero + 16n * nonZero + execution;
  const floor = TX_BASE + FLOOR_PER_TOKEN * (zero + 4n * nonZero);
  const needed = standard > floor ? standard : floor;
  // A fifth more for what the model leaves out (another compiler's code, a fork's repricing);
  // the callbacks' own gas is exact.
  return needed + needed / 5n + callbacks;
}

function outputWords(hex: Hex): bigint {
  return BigInt(Math.ceil((hex.length - 2) / 2 / 32));
}

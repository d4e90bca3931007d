import { type Address, type Hex, type TransactionReceipt, parseEventLogs } from 'viem';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import { GatewayRevertedError } from '../errors.js';
import { decodeGatewayError, gatewayFailure } from '../gateway/decode-error.js';
import { encodeFulfill, encodeFulfillBatch } from '../gateway/fulfill.js';
import { fulfillmentGasBound } from '../gateway/fulfillment-gas.js';
import { fulfillmentOutcomes } from '../gateway/fulfillment-outcomes.js';
import { isRequestPending } from '../gateway/read.js';
import { type FulfillResult, type FulfillmentInput, fulfillResultName } from '../types.js';
import type { EvmSubmitter } from './submitter.js';

export type SubmitFulfillmentParameters = {
  gateway: Address;
  fulfillment: FulfillmentInput;
  /** The worker's EIP-712 `Fulfillment` signature (65 bytes). */
  signature: Hex;
  /**
   * Gas limit; default: `fulfillmentGasBound`, proven by one `eth_call` (`EvmSubmitter.gasWithin`),
   * or the node's estimate × multiplier when the bound does not go through.
   */
  gas?: bigint;
};

export type SubmitFulfillmentReturnType =
  /** Our transaction delivered it; `result` says whether the callback succeeded. */
  | { status: 'fulfilled'; result: FulfillResult; worker: Address; receipt: TransactionReceipt }
  /** Someone else answered (or the requester cancelled) first: done, not an error. */
  | { status: 'already-fulfilled'; receipt: TransactionReceipt | null };

/**
 * Posts one result. Before sending it checks that the request is still pending, and a
 * transaction that fails because another one answered first also counts as done. A refusal that
 * retrying cannot fix (bad signature, unregistered worker, expired request, wrong commitment)
 * throws `GatewayRejectedError` naming the gateway's error.
 */
export async function submitFulfillment(
  submitter: EvmSubmitter,
  client: Parameters<typeof isRequestPending>[0],
  p: SubmitFulfillmentParameters,
): Promise<SubmitFulfillmentReturnType> {
  const requestId = p.fulfillment.request.requestId;
  const pending = () => isRequestPending(client, { gateway: p.gateway, requestId });
  if (!(await pending())) return { status: 'already-fulfilled', receipt: null };
  const data = encodeFulfill({ fulfillment: p.fulfillment, signature: p.signature });
  let gas = p.gas;
  if (gas === undefined) {
    try {
      gas = await provenGas(submitter, p.gateway, data, [p.fulfillment]);
    } catch (error) {
      return rejected(error, await pending());
    }
  }
  const { receipt } = await submitter.submit({ to: p.gateway, data, gas });
  if (receipt.status !== 'success') {
    if (!(await pending())) return { status: 'already-fulfilled', receipt };
    throw new GatewayRevertedError('the fulfillment transaction reverted', {
      transactionHash: receipt.transactionHash,
    });
  }
  const [event] = parseEventLogs({
    abi: phalaBridgeGatewayAbi,
    logs: gatewayLogs(receipt, p.gateway),
    eventName: 'RequestFulfilled',
  });
  if (!event)
    throw new GatewayRevertedError('the fulfillment transaction has no RequestFulfilled event', {
      transactionHash: receipt.transactionHash,
    });
  return {
    status: 'fulfilled',
    result: fulfillResultName(event.args.result),
    worker: event.args.worker,
    receipt,
  };
}

/**
 * The gas limit the relayer gives the same call: the bound from the call's shape when one
 * `eth_call` at it goes through, else the node's estimate, whose revert names the gateway's error.
 */
function provenGas(
  submitter: EvmSubmitter,
  gateway: Address,
  data: Hex,
  items: readonly FulfillmentInput[],
): Promise<bigint> {
  return submitter.gasWithin({ to: gateway, data }, fulfillmentGasBound({ batches: [{ items }], data }));
}

/** Only the gateway's own logs: a callback can emit look-alike events from its own address. */
export function gatewayLogs(receipt: TransactionReceipt, gateway: Address) {
  return receipt.logs.filter((l) => l.address.toLowerCase() === gateway.toLowerCase());
}

function rejected(error: unknown, stillPending: boolean): { status: 'already-fulfilled'; receipt: null } {
  if (!stillPending || decodeGatewayError(error)?.name === 'RequestNotPending')
    return { status: 'already-fulfilled', receipt: null };
  throw gatewayFailure(error, 'the fulfillment could not be priced');
}

export type SubmitFulfillmentBatchParameters = {
  gateway: Address;
  items: readonly FulfillmentInput[];
  /** The worker's EIP-712 `FulfillmentBatch` signature over all `items`, in this order. */
  signature: Hex;
  /** Gas limit; default as for `submitFulfillment`. */
  gas?: bigint;
};

export type SubmitFulfillmentBatchReturnType = {
  /** Null when no item was pending any more (nothing was sent). */
  receipt: TransactionReceipt | null;
  /** Per request id: what the gateway did (`NotPending` = someone else answered first). */
  results: Map<Hex, FulfillResult>;
};

/**
 * Posts a signed batch. The signature covers every item, so items answered meanwhile stay in
 * the batch and the gateway skips them (`NotPending`); when none is pending nothing is sent.
 */
export async function submitFulfillmentBatch(
  submitter: EvmSubmitter,
  client: Parameters<typeof isRequestPending>[0],
  p: SubmitFulfillmentBatchParameters,
): Promise<SubmitFulfillmentBatchReturnType> {
  const pendingFlags = await Promise.all(
    p.items.map((i) => isRequestPending(client, { gateway: p.gateway, requestId: i.request.requestId })),
  );
  const results = new Map<Hex, FulfillResult>();
  if (!pendingFlags.some(Boolean)) {
    for (const item of p.items) results.set(item.request.requestId, 'NotPending');
    return { receipt: null, results };
  }
  const data = encodeFulfillBatch({ items: p.items, signature: p.signature });
  let gas = p.gas;
  if (gas === undefined) {
    try {
      gas = await provenGas(submitter, p.gateway, data, p.items);
    } catch (error) {
      throw gatewayFailure(error, 'the fulfillment batch could not be priced');
    }
  }
  const { receipt } = await submitter.submit({ to: p.gateway, data, gas });
  if (receipt.status !== 'success')
    throw new GatewayRevertedError('the fulfillment batch transaction reverted', {
      transactionHash: receipt.transactionHash,
    });
  // A duplicate item is skipped after its first copy landed: the landed result is kept.
  for (const [requestId, code] of fulfillmentOutcomes(receipt, p.gateway)) results.set(requestId, code);
  return { receipt, results };
}

import { type Hex, type TransactionReceipt, type Address, isAddressEqual, parseEventLogs } from 'viem';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import { type FulfillResult, fulfillResultName } from '../types.js';

/**
 * The per-request result codes of a mined `fulfill`, `fulfillBatch` or `fulfillBatches`
 * transaction, from its `RequestFulfilled` and `FulfillmentSkipped` events, keyed by request id
 * (hex as the log gives it: lowercase). Only `gateway`'s own logs count: a consumer's callback runs
 * inside the transaction and can emit look-alike events from its own address. When a request
 * appears twice (the same request in two batches), the first code wins: the later copy is
 * skipped as `NotPending` after the first one landed. A reverted transaction has no logs, hence
 * an empty map; a request absent from the map had no outcome in this transaction.
 */
export function fulfillmentOutcomes(
  receipt: Pick<TransactionReceipt, 'logs'>,
  gateway: Address,
): Map<Hex, FulfillResult> {
  const events = parseEventLogs({
    abi: phalaBridgeGatewayAbi,
    logs: receipt.logs.filter((log) => isAddressEqual(log.address, gateway)),
    eventName: ['RequestFulfilled', 'FulfillmentSkipped'],
  });
  const outcomes = new Map<Hex, FulfillResult>();
  for (const event of events) {
    const code = event.eventName === 'RequestFulfilled' ? event.args.result : event.args.reason;
    if (!outcomes.has(event.args.requestId)) outcomes.set(event.args.requestId, fulfillResultName(code));
  }
  return outcomes;
}

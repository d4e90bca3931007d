/**
 * Queue names shared by the relayer and the workers. Each name carries its own Redis Cluster hash
 * tag (`{requests-…}`): BullMQ's Lua scripts touch every key of one queue together, so one queue
 * must sit in one slot, but different queues need not. With a plain prefix (`phala-bridge`) the
 * queues of one deployment spread over a cluster's masters; with a braced prefix
 * (`{phala-bridge}`, the older layout) the prefix's tag comes first and wins, so everything stays
 * in one slot (docs/operations.md#redis-cluster). The same names work on a single Redis.
 */
export function requestQueueName(cluster: `0x${string}`): string {
  return `{requests-${cluster.slice(2, 18).toLowerCase()}}`;
}

export const RESULT_QUEUE = '{results}';

/** Prepared worker batches waiting to be sent to one destination chain (sent by its leased submitter). */
export function submitQueueName(chain: string): string {
  return `{submit-${chain}}`;
}

/** Transactions sent to one destination chain, watched until final. */
export function confirmQueueName(chain: string): string {
  return `{confirm-${chain}}`;
}

/** SCAN pattern (after `<prefix>:`) matching the keys of every request queue's `meta` hash. */
export const REQUEST_QUEUE_META_MATCH = '{requests-*}:meta';

/** True for a name `requestQueueName` returns (e.g. found by scanning `REQUEST_QUEUE_META_MATCH`). */
export function isRequestQueueName(name: string): boolean {
  return /^\{requests-[0-9a-f]{16}\}$/.test(name);
}

/**
 * BullMQ id of a worker's result: `<request job id>-<worker address, lower case>`. A worker that
 * answers the same request again replaces its earlier, finished result; the submit queue is keyed
 * by the request job id alone, so duplicate results from several workers are harmless.
 */
export function resultJobIdOf(requestJobId: string, workerAddress: string): string {
  return `${requestJobId}-${workerAddress.toLowerCase()}`;
}

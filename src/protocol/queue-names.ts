/**
 * Queue names shared by the relayer and the workers. Every key sits under the deployment's
 * hash-tagged prefix (e.g. `{phala-bridge}`), so one deployment's queues live in one Redis
 * Cluster slot and the same code runs on a single Redis or a Cluster.
 */
export function requestQueueName(cluster: `0x${string}`): string {
  return `requests-${cluster.slice(2, 18).toLowerCase()}`;
}

export const RESULT_QUEUE = 'results';

/** Prepared worker batches waiting to be sent to one destination chain (sent by its leased submitter). */
export function submitQueueName(chain: string): string {
  return `submit-${chain}`;
}

/** Transactions sent to one destination chain, watched until final. */
export function confirmQueueName(chain: string): string {
  return `confirm-${chain}`;
}

/**
 * BullMQ id of a worker's result: `<request job id>-<worker address, lower case>`. A worker that
 * answers the same request again replaces its earlier, finished result; the submit queue is keyed
 * by the request job id alone, so duplicate results from several workers are harmless.
 */
export function resultJobIdOf(requestJobId: string, workerAddress: string): string {
  return `${requestJobId}-${workerAddress.toLowerCase()}`;
}

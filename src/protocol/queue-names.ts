/**
 * Queue names shared by the relayer and the workers. Every key sits under the deployment's
 * hash-tagged prefix (e.g. `{phala-bridge}`), so one deployment's queues live in one Redis
 * Cluster slot and the same code runs on a single Redis or a Cluster.
 */
export function requestQueueName(cluster: `0x${string}`): string {
  return `requests-${cluster.slice(2, 18).toLowerCase()}`;
}

export const RESULT_QUEUE = 'results';

/**
 * BullMQ id of a worker's result: `<request job id>-<worker address>-<run>`, where `run` is the
 * request job's `attemptsStarted`. A result is never lost to an older result's id when a
 * request is sent back to the workers; duplicates are harmless, since the submit queue is keyed
 * by the request job id alone.
 */
export function resultJobIdOf(requestJobId: string, workerAddress: string, run: number): string {
  return `${requestJobId}-${workerAddress.toLowerCase()}-${run}`;
}

import { type JobsOptions, Queue } from 'bullmq';
import { MAX_ATTEMPTS } from '../protocol/retry.js';
import {
  RESULT_QUEUE,
  confirmQueueName,
  requestQueueName,
  submitQueueName,
} from '../protocol/queue-names.js';

export { submitQueueName };
import type { RedisConnection } from './redis.js';

/**
 * The relayer's queues, one per stage:
 *   {requests-<cluster>}  observed requests; taken by that cluster's pRuntime workers
 *   {results}             workers' signed batches, one job each; prepared by any relayer process
 *   {submit-<chain>}      prepared batches; sent by the one process holding that chain's submitter lease
 *   {confirm-<chain>}     sent transactions, one job each; watched until final by any relayer process
 * (each name is its own Redis Cluster hash tag: src/protocol/queue-names.ts)
 *
 * Finished jobs are kept for a week: while a job exists its id cannot be queued again, which is
 * what makes a request seen twice (restart, two relayers, reorg replay) run once.
 */
export const KEEP_FINISHED = { age: 7 * 24 * 3600, count: 200_000 } as const;

export const stageJobOptions: JobsOptions = {
  attempts: MAX_ATTEMPTS,
  backoff: { type: 'schedule' },
  removeOnComplete: KEEP_FINISHED,
  removeOnFail: KEEP_FINISHED,
};

export class RelayerQueues {
  readonly #connection: RedisConnection;
  readonly prefix: string;
  readonly #queues = new Map<string, Queue>();

  constructor(connection: RedisConnection, prefix: string) {
    this.#connection = connection;
    this.prefix = prefix;
  }

  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.#connection,
        prefix: this.prefix,
        defaultJobOptions: stageJobOptions,
      });
      this.#queues.set(name, queue);
    }
    return queue;
  }

  requests(cluster: `0x${string}`): Queue {
    return this.queue(requestQueueName(cluster));
  }

  get results(): Queue {
    return this.queue(RESULT_QUEUE);
  }

  submit(chain: string): Queue {
    return this.queue(submitQueueName(chain));
  }

  confirm(chain: string): Queue {
    return this.queue(confirmQueueName(chain));
  }

  /** Every queue this process has opened, by name. */
  opened(): Queue[] {
    return [...this.#queues.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }
}

import type { CheckpointFile } from './checkpoints.js';
import { type RedisConnection, redisKey } from './redis.js';

/**
 * Requests not yet finished, per origin chain, scored by the block they were seen in. The lowest
 * score is the chain's low-water mark, mirrored to the checkpoint file: after Redis loses
 * everything, a rescan from there finds every request that may still need an answer.
 */
export class PendingIndex {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #mirror: CheckpointFile | undefined;

  constructor(redis: RedisConnection, prefix: string, mirror?: CheckpointFile) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#mirror = mirror;
  }

  #key(chain: string) {
    return redisKey(this.#prefix, 'pending', chain);
  }

  async add(chain: string, jobId: string, blockNumber: number): Promise<void> {
    await this.#redis.zadd(this.#key(chain), 'NX', blockNumber, jobId);
    await this.#mirrorLowWater(chain);
  }

  async remove(chain: string, jobId: string): Promise<void> {
    if ((await this.#redis.zrem(this.#key(chain), jobId)) > 0) await this.#mirrorLowWater(chain);
  }

  async lowWater(chain: string): Promise<number | null> {
    const [, score] = await this.#redis.zrange(this.#key(chain), 0, 0, 'WITHSCORES');
    return score === undefined ? null : Number(score);
  }

  async count(chain: string): Promise<number> {
    return this.#redis.zcard(this.#key(chain));
  }

  async #mirrorLowWater(chain: string): Promise<void> {
    if (!this.#mirror) return;
    const low = await this.lowWater(chain);
    const current = this.#mirror.get(chain).lowWater;
    // With nothing pending the mark is dropped: recovery then resumes from the checkpoint.
    if (low !== current) this.#mirror.update(chain, { lowWater: low ?? undefined });
  }
}

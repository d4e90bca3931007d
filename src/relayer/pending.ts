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

/**
 * Requests answered on each destination chain, scored by the block of the answer, kept for a
 * while. When a watcher reports a reorg below some of those blocks, the answers there may be
 * gone; each is checked against the chain and sent back if its request is pending again.
 */
export class RecentlyConfirmed {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #keep: number;

  constructor(redis: RedisConnection, prefix: string, keepBlocks = 10_000) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#keep = keepBlocks;
  }

  #key(chain: string) {
    return redisKey(this.#prefix, 'confirmed', chain);
  }

  async add(chain: string, cluster: string, jobId: string, blockNumber: number): Promise<void> {
    const key = this.#key(chain);
    await this.#redis.zadd(key, blockNumber, `${cluster}/${jobId}`);
    await this.#redis.zremrangebyscore(key, 0, blockNumber - this.#keep);
  }

  /** Answers in blocks after `afterBlock`, as `{ cluster, jobId }`. */
  async after(chain: string, afterBlock: number): Promise<{ cluster: `0x${string}`; jobId: string }[]> {
    const members = await this.#redis.zrangebyscore(this.#key(chain), `(${afterBlock}`, '+inf');
    return members.map((m) => {
      const slash = m.indexOf('/');
      return { cluster: m.slice(0, slash) as `0x${string}`, jobId: m.slice(slash + 1) };
    });
  }
}

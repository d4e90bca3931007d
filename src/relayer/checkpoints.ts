import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Checkpoint, CheckpointStore } from '../base/checkpoint.js';
import { type RedisConnection, redisKey } from './redis.js';

/**
 * Where each chain's watcher resumes, kept in Redis and mirrored to a local file. Beside the
 * cursor the file keeps each chain's low-water mark: the oldest block holding a request that is
 * not finished yet. If Redis loses everything, the daemon rescans from the low-water mark and
 * re-queues what the chain still shows pending, so nothing is lost (see `recovery.ts`).
 */
export type ChainMirror = { checkpoint?: SerializedCheckpoint; lowWater?: number };
type SerializedCheckpoint = { blockNumber: string; blockHash: `0x${string}` };
type MirrorFile = { v: 1; chains: Record<string, ChainMirror> };

export class CheckpointFile {
  readonly #file: string;
  #data: MirrorFile;

  constructor(file: string) {
    this.#file = file;
    this.#data = CheckpointFile.#read(file);
  }

  static #read(file: string): MirrorFile {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as MirrorFile;
      if (parsed && parsed.v === 1 && typeof parsed.chains === 'object') return parsed;
    } catch {
      // Missing or unreadable: start empty; Redis (or a full rescan) is the other source.
    }
    return { v: 1, chains: {} };
  }

  get(chain: string): ChainMirror {
    return this.#data.chains[chain] ?? {};
  }

  update(chain: string, change: Partial<ChainMirror>): void {
    this.#data.chains[chain] = { ...this.get(chain), ...change };
    mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#data, null, 1));
    renameSync(tmp, this.#file);
  }
}

export function serializeCheckpoint(c: Checkpoint): SerializedCheckpoint {
  return { blockNumber: c.blockNumber.toString(), blockHash: c.blockHash };
}

export function deserializeCheckpoint(c: SerializedCheckpoint): Checkpoint {
  return { blockNumber: BigInt(c.blockNumber), blockHash: c.blockHash };
}

export type RedisCheckpointStoreParameters = {
  redis: RedisConnection;
  prefix: string;
  chain: string;
  mirror?: CheckpointFile | undefined;
};

/** One chain's checkpoint: Redis first, the file mirror when Redis has none. */
export class RedisCheckpointStore implements CheckpointStore {
  readonly #redis: RedisConnection;
  readonly #key: string;
  readonly #chain: string;
  readonly #mirror: CheckpointFile | undefined;

  constructor(parameters: RedisCheckpointStoreParameters) {
    this.#redis = parameters.redis;
    this.#key = redisKey(parameters.prefix, 'checkpoint', parameters.chain);
    this.#chain = parameters.chain;
    this.#mirror = parameters.mirror;
  }

  async load(): Promise<Checkpoint | null> {
    const raw = await this.#redis.get(this.#key);
    if (raw) return deserializeCheckpoint(JSON.parse(raw) as SerializedCheckpoint);
    const mirrored = this.#mirror?.get(this.#chain).checkpoint;
    return mirrored ? deserializeCheckpoint(mirrored) : null;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const serialized = serializeCheckpoint(checkpoint);
    await this.#redis.set(this.#key, JSON.stringify(serialized));
    this.#mirror?.update(this.#chain, { checkpoint: serialized });
  }
}

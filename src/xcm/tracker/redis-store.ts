import type { Redis } from 'ioredis';
import type { Hex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import { type XcmTrackerChange, type XcmTrackerStore, XcmTrackerStoreError } from './store.js';
import { isFinal, type TrackedXcm, trackedXcmSchema, type XcmCursor, xcmCursorSchema } from './types.js';

export type RedisXcmTrackerStoreOptions = {
  /** Namespace for every key, e.g. `phala-bridge:devnet`; keys are `<prefix>:xcm:...`. */
  prefix: string;
  /** Seconds to keep a message after it is processed or failed (default 7 days; 0 keeps it). */
  retentionSeconds?: number | undefined;
};

/**
 * The tracker's state in Redis (ioredis; the caller owns the connection):
 * `<prefix>:xcm:msg:<id>` JSON record, `<prefix>:xcm:alias:<hash>` → id, `<prefix>:xcm:cursor:<chain>`
 * JSON cursor, and `<prefix>:xcm:open`, a sorted set of unfinished ids by update time. A change
 * is one MULTI/EXEC, so a crash never leaves a cursor ahead of the records it covers. What comes
 * back from Redis is checked with the same schema as it was written with.
 */
export class RedisXcmTrackerStore implements XcmTrackerStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #retention: number;

  constructor(redis: Redis, options: RedisXcmTrackerStoreOptions) {
    if (!/^[\w.:{}-]{1,128}$/.test(options.prefix))
      throw new XcmTrackerStoreError('prefix: letters, digits, . : _ - only');
    this.#redis = redis;
    this.#prefix = `${options.prefix}:xcm`;
    this.#retention = options.retentionSeconds ?? 7 * 24 * 3600;
  }

  #key(...parts: string[]): string {
    return [this.#prefix, ...parts].join(':');
  }

  async get(id: Hex): Promise<TrackedXcm | null> {
    return this.#parseRecord(id, await this.#redis.get(this.#key('msg', id)));
  }

  async resolve(hash: Hex): Promise<Hex | null> {
    const id = await this.#redis.get(this.#key('alias', hash));
    return id && /^0x[0-9a-f]{64}$/.test(id) ? (id as Hex) : null;
  }

  async cursor(chain: string): Promise<XcmCursor | null> {
    const raw = await this.#redis.get(this.#key('cursor', chain));
    if (raw === null) return null;
    const parsed = xcmCursorSchema.safeParse(safeJson(raw));
    if (!parsed.success) throw new XcmTrackerStoreError(`cursor of ${chain} in Redis is not valid`);
    return parsed.data;
  }

  async commit(change: XcmTrackerChange): Promise<void> {
    const tx = this.#redis.multi();
    for (const id of change.deleted) {
      tx.del(this.#key('msg', id));
      tx.zrem(this.#key('open'), id);
    }
    for (const rec of change.records) {
      const key = this.#key('msg', rec.id);
      const value = JSON.stringify(rec);
      if (isFinal(rec.status)) {
        if (this.#retention > 0) tx.set(key, value, 'EX', this.#retention);
        else tx.set(key, value);
        tx.zrem(this.#key('open'), rec.id);
      } else {
        tx.set(key, value);
        tx.zadd(this.#key('open'), rec.updatedAt, rec.id);
      }
    }
    for (const [hash, id] of change.aliases) {
      if (this.#retention > 0) tx.set(this.#key('alias', hash), id, 'EX', this.#retention * 2);
      else tx.set(this.#key('alias', hash), id);
    }
    if (change.cursor) tx.set(this.#key('cursor', change.cursor.chain), JSON.stringify(change.cursor.cursor));
    const results = await tx.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed)
      throw new XcmTrackerStoreError(
        `Redis did not apply the change: ${failed ? errorMessage(failed[0]) : 'aborted'}`,
      );
  }

  async open(limit = 100): Promise<TrackedXcm[]> {
    const ids = await this.#redis.zrange(this.#key('open'), 0, Math.max(0, limit - 1));
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#key('msg', id)));
    const out: TrackedXcm[] = [];
    values.forEach((raw, i) => {
      const rec = this.#parseRecord(ids[i] as Hex, raw);
      if (rec) out.push(rec);
    });
    return out;
  }

  #parseRecord(id: Hex, raw: string | null): TrackedXcm | null {
    if (raw === null) return null;
    const parsed = trackedXcmSchema.safeParse(safeJson(raw));
    if (!parsed.success)
      throw new XcmTrackerStoreError(`record ${id} in Redis is not valid`, {
        details: parsed.error.issues[0]?.message,
      });
    return parsed.data;
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

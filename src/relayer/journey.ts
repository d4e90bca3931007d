import { z } from 'zod';
import { BaseError, type Retry } from '../base/errors.js';
import { type RedisConnection, redisKey } from './redis.js';

/**
 * Every request's journey: each stage it passed, with its time and, where there is one, the
 * transaction that moved it. The journey is what an operator reads to answer "where is my
 * request?"; it is written by whichever process moved the request, so it survives restarts.
 */
export const journeyStages = [
  'observed',
  'queued',
  'dispatched',
  'result',
  'result-rejected',
  'state-committed',
  'submitted',
  'already-fulfilled',
  'confirmed',
  'reorged',
  'xcm-sent',
  'xcm-processed',
  'retry',
  'cancelled',
  /** A worker refused the job because its origin chain does not hold it as the job says. */
  'refused',
  'dead',
] as const;
export type JourneyStage = (typeof journeyStages)[number];

export const terminalStages: ReadonlySet<JourneyStage> = new Set([
  'confirmed',
  'already-fulfilled',
  'xcm-processed',
  'cancelled',
  'refused',
  'dead',
]);

export const journeyEntrySchema = z.strictObject({
  stage: z.enum(journeyStages),
  at: z.number().int(),
  chain: z.string().optional(),
  txHash: z.string().optional(),
  blockNumber: z.number().int().optional(),
  worker: z.string().optional(),
  detail: z.string().max(2_000).optional(),
});
export type JourneyEntry = z.infer<typeof journeyEntrySchema>;

export type JourneySummary = {
  jobId: string;
  state: JourneyStage;
  origin: string;
  contractId: string;
  updatedAt: number;
};

export type JourneyStoreParameters = { redis: RedisConnection; prefix: string; retainSeconds?: number };

/**
 * Redis refused one journey record (its keys hold another type, or the server refuses writes).
 * The records written in the same call are not affected.
 */
export class JourneyWriteError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'JourneyWriteError';
}

/**
 * `ifLatest`: the record moves the journey's state (and its place in the index) only when nothing
 * later by time was recorded; otherwise its entry only joins the timeline. For records of events
 * read after the fact (the request queue's follower reading on after a gap), which must not take a
 * confirmed journey back to `dispatched`.
 */
export type RecordOptions = { ifLatest?: boolean };

/** One record waiting for the next write: its job, its two keys, its script arguments, its caller. */
type WaitingRecord = {
  jobId: string;
  keys: [entries: string, meta: string];
  args: string[];
  done: { resolve: () => void; reject: (error: unknown) => void };
};

/** At most this many records go in one script call (a burst is cut in these). */
const MAX_RECORDS_A_CALL = 128;

export class JourneyStore {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #retainSeconds: number;
  #waiting: WaitingRecord[] = [];

  constructor(parameters: JourneyStoreParameters) {
    this.#redis = parameters.redis;
    this.#prefix = parameters.prefix;
    this.#retainSeconds = parameters.retainSeconds ?? 14 * 24 * 3600;
    // Defined now, before anything is sent on the connection: an auto-pipeline opened before a
    // command is defined lacks it, and ioredis then crashes the process on that pipeline's reply
    // (redis/ioredis#1931; seen as `results[i] is not iterable` in a fault run).
    recordCommand(this.#redis);
  }

  #entries(jobId: string) {
    return redisKey(this.#prefix, 'journey', jobId);
  }
  #meta(jobId: string) {
    return redisKey(this.#prefix, 'journey-meta', jobId);
  }
  get #index() {
    return redisKey(this.#prefix, 'journeys');
  }

  /**
   * Records one stage; `origin` and `contractId` are needed on the first record only. Settles
   * once the record is written: the records asked for in one turn of the event loop (a batch's
   * items, a transaction's requests) are written by one script call, in the order asked.
   */
  record(
    jobId: string,
    entry: Omit<JourneyEntry, 'at'> & { at?: number },
    meta?: { origin: string; contractId: string },
    options: RecordOptions = {},
  ): Promise<void> {
    const full: JourneyEntry = { ...entry, at: entry.at ?? Date.now() };
    // A journey that ended (a dropped job) and starts again is kept until its next end.
    const life = full.stage === 'observed' ? 'start' : terminalStages.has(full.stage) ? 'end' : '';
    const fields = Object.entries({ state: full.stage, updatedAt: String(full.at), ...(meta ?? {}) }).flat();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({
        jobId,
        keys: [this.#entries(jobId), this.#meta(jobId)],
        args: [
          JSON.stringify(full),
          String(full.at),
          jobId,
          life,
          options.ifLatest ? '1' : '',
          String(fields.length),
          ...fields,
        ],
        done: { resolve, reject },
      });
      if (this.#waiting.length === 1) setImmediate(() => this.#write());
    });
  }

  /** Writes every waiting record, in calls of at most MAX_RECORDS_A_CALL. */
  #write(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let i = 0; i < waiting.length; i += MAX_RECORDS_A_CALL) {
      const call = waiting.slice(i, i + MAX_RECORDS_A_CALL);
      const keys = [this.#index, ...call.flatMap((w) => w.keys)];
      recordCommand(this.#redis)
        .journeyRecordMany(
          String(keys.length),
          ...keys,
          String(this.#retainSeconds),
          ...call.flatMap((w) => w.args),
        )
        .then(
          (refusals) => {
            // One refusal (or '') a record, in call order: a bad record fails alone.
            call.forEach((w, j) => {
              const refusal = Array.isArray(refusals) ? refusals[j] : 'no answer from the record script';
              if (refusal === '') w.done.resolve();
              else
                w.done.reject(
                  new JourneyWriteError(`Redis refused a journey record of ${w.jobId}`, {
                    details: String(refusal),
                  }),
                );
            });
          },
          (error: unknown) => {
            for (const w of call) w.done.reject(error);
          },
        );
    }
  }

  /**
   * Records a request's first stages, for the first caller only, and says whether this caller was
   * it: of several relayers (or one watcher seeing a request again) exactly one records its start.
   * One script, so a claim is never left without the stages it claimed.
   */
  async start(
    jobId: string,
    entries: (Omit<JourneyEntry, 'at'> & { at?: number })[],
    meta: { origin: string; contractId: string },
  ): Promise<boolean> {
    const at = Date.now();
    const full = entries.map((e): JourneyEntry => ({ ...e, at: e.at ?? at }));
    const last = full.at(-1)!;
    const fields = { state: last.stage, updatedAt: String(last.at), ...meta };
    const claimed = await recordCommand(this.#redis).journeyStart(
      this.#entries(jobId),
      this.#meta(jobId),
      this.#index,
      String(last.at),
      jobId,
      String(full.length),
      ...full.map((e) => JSON.stringify(e)),
      ...Object.entries(fields).flat(),
    );
    return claimed === 1;
  }

  /**
   * Undoes `start`'s claim when an operator drops the job: if the request is queued again (a watcher's
   * rescan, `replay --queue`), that start is recorded and counted too.
   */
  async release(jobId: string): Promise<void> {
    await this.#redis.hdel(this.#meta(jobId), 'claimed');
  }

  /**
   * The journey in time order. Processes write it concurrently, so the list's own order can put
   * a stage before an earlier one (a worker takes a job before its start is written).
   */
  async entries(jobId: string): Promise<JourneyEntry[]> {
    const raw = await this.#redis.lrange(this.#entries(jobId), 0, -1);
    return raw
      .flatMap((line) => {
        const parsed = journeyEntrySchema.safeParse(JSON.parse(line));
        return parsed.success ? [parsed.data] : [];
      })
      .sort((a, b) => a.at - b.at); // stable: entries of one millisecond keep their order
  }

  async summary(jobId: string): Promise<JourneySummary | null> {
    const meta = await this.#redis.hgetall(this.#meta(jobId));
    if (!meta.state) return null;
    return {
      jobId,
      state: meta.state as JourneyStage,
      origin: meta.origin ?? '',
      contractId: meta.contractId ?? '',
      updatedAt: Number(meta.updatedAt),
    };
  }

  /** Most recently moved requests first, filtered by state, origin key or contract id. */
  async list(
    filter: { state?: string; origin?: string; contractId?: string; limit?: number } = {},
  ): Promise<JourneySummary[]> {
    const limit = filter.limit ?? 100;
    const out: JourneySummary[] = [];
    const cutoff = Date.now() - this.#retainSeconds * 1000;
    await this.#redis.zremrangebyscore(this.#index, 0, cutoff);
    for (let offset = 0; out.length < limit; offset += 500) {
      const ids = await this.#redis.zrevrange(this.#index, offset, offset + 499);
      if (ids.length === 0) break;
      const summaries = await Promise.all(ids.map((id) => this.summary(id)));
      for (const s of summaries) {
        if (!s) continue;
        if (filter.state && s.state !== filter.state) continue;
        if (filter.origin && s.origin !== filter.origin) continue;
        if (filter.contractId && s.contractId.toLowerCase() !== filter.contractId.toLowerCase()) continue;
        out.push(s);
        if (out.length >= limit) break;
      }
    }
    return out;
  }
}

/**
 * Records as one script call. A request is recorded five or six times; writing the records of a
 * turn together (a batch's items, a transaction's requests) costs about 7 % less CPU a request,
 * relayer and Redis together, than one call a record (pipeline bench, 2026-12-07). Each record
 * runs under its own pcall, so one Redis refuses (a key of another type) fails alone, as it did
 * when each record was a call of its own.
 * KEYS: index, then each record's entries and meta. ARGV: retain seconds, then for each record:
 * entry JSON, at, job id, life ('start' | 'end' | ''), if-latest ('1' | ''), n, and the meta
 * hash's n field/value items. Returns one item a record: '' when written, else Redis's refusal.
 */
const RECORD_MANY = `
local out = {}
local a = 2
for k = 2, #KEYS, 2 do
  local entries, meta, life, n = KEYS[k], KEYS[k + 1], ARGV[a + 3], tonumber(ARGV[a + 5])
  local ok, err = pcall(function()
    redis.call('RPUSH', entries, ARGV[a])
    if ARGV[a + 4] == '1' then
      local last = tonumber(redis.call('HGET', meta, 'updatedAt'))
      if last and last > tonumber(ARGV[a + 1]) then return end
    end
    redis.call('HSET', meta, unpack(ARGV, a + 6, a + 5 + n))
    redis.call('ZADD', KEYS[1], ARGV[a + 1], ARGV[a + 2])
    if life == 'start' then
      redis.call('PERSIST', entries)
      redis.call('PERSIST', meta)
    elseif life == 'end' then
      redis.call('EXPIRE', entries, ARGV[1])
      redis.call('EXPIRE', meta, ARGV[1])
    end
  end)
  if ok then out[#out + 1] = ''
  elseif type(err) == 'table' and err.err then out[#out + 1] = err.err
  else out[#out + 1] = tostring(err) end
  a = a + 6 + n
end
return out
`;

/**
 * A request's start (journey.ts `start`): claims the journey and records its first entries, or
 * does nothing when it was claimed already. A later stage recorded first (a worker took the job
 * before the start was written) keeps the journey's state. KEYS: entries, meta, index. ARGV: at,
 * job id, entry count n, n entry JSONs, then the meta hash's field/value pairs.
 */
const START = `
if redis.call('HSETNX', KEYS[2], 'claimed', '1') == 0 then return 0 end
local n = tonumber(ARGV[3])
for i = 4, 3 + n do redis.call('RPUSH', KEYS[1], ARGV[i]) end
local last = tonumber(redis.call('HGET', KEYS[2], 'updatedAt'))
local later = last and last > tonumber(ARGV[1])
for i = 4 + n, #ARGV, 2 do
  if not (later and (ARGV[i] == 'state' or ARGV[i] == 'updatedAt')) then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
end
if not later then redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2]) end
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
return 1
`;

type WithRecord = {
  journeyRecordMany(...args: string[]): Promise<unknown>;
  journeyStart(...args: string[]): Promise<unknown>;
};
const defined = new WeakSet<RedisConnection>();

/** The connection with the record script defined on it (sent once, then run by its hash). */
function recordCommand(redis: RedisConnection): WithRecord {
  if (!defined.has(redis)) {
    // The key count is the call's first argument (it varies with the records in the call).
    redis.defineCommand('journeyRecordMany', { lua: RECORD_MANY });
    redis.defineCommand('journeyStart', { numberOfKeys: 3, lua: START });
    defined.add(redis);
  }
  return redis as unknown as WithRecord;
}

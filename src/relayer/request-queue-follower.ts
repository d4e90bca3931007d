import { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorMessage } from '../base/errors.js';
import { recordSecurityRefusal } from '../log/security-refusal.js';
import { jobRefusalSchema } from '../protocol/job-refusal.js';
import { requestJobId } from '../protocol/origin.js';
import { requestJobSchema } from '../protocol/request-job.js';
import type { JourneyStore } from './journey.js';
import type { RelayerMetrics } from './metrics.js';
import type { PendingIndex } from './pending.js';
import type { RelayerQueues } from './queues.js';
import { type RedisConnection, redisKey } from './redis.js';

export type RequestQueueFollowerParameters = {
  /** The request queue's name (`requestQueueName`). */
  name: string;
  /** BullMQ's connection: QueueEvents reads the events stream on a duplicate of it. */
  redis: RedisConnection;
  /** Where the follower keeps its place in the stream (small writes, pipelined). */
  records: RedisConnection;
  prefix: string;
  queues: RelayerQueues;
  journeys: JourneyStore;
  pending: PendingIndex;
  metrics: RelayerMetrics;
  logger: Logger;
};

/** How often the place read up to is written to Redis (a successor re-reads at most this much). */
const KEEP_PLACE_EVERY_MS = 1_000;

/**
 * The follower's records are of events that may be read long after (a successor reading on after a
 * gap): each moves its journey's state only if nothing later was recorded.
 */
const LATE = { ifLatest: true } as const;

/** A Redis stream id, as the kept place must be (Redis is not trusted to hold one). */
const streamIdSchema = z.string().regex(/^\d{1,20}-\d{1,20}$/);

/**
 * Keeps the place unless the one kept is further on: a follower that lost its lease and stops
 * late must not move its successor's place back. KEYS: the place. ARGV: the new place.
 */
const KEEP_PLACE = `
local function parts(id)
  local ms, seq = string.match(id or '', '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local cm, cs = parts(redis.call('GET', KEYS[1]))
local nm, ns = parts(ARGV[1])
if cm and (nm < cm or (nm == cm and ns <= cs)) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/** Where the follower of the request queue `name` keeps the place it read up to. */
export function eventsPlaceKey(prefix: string, name: string): string {
  return redisKey(prefix, 'events-cursor', bare(name));
}

/** The lease under which one relayer process follows the request queue `name`. */
export function followLeaseName(name: string): string {
  return `events:${bare(name)}`;
}

/**
 * Follows one request queue's events for the journeys: `dispatched` when a worker takes a job,
 * and its dead letter (`dead`, or `refused` for a worker's security refusal) when a job fails for
 * good. One relayer process follows a queue at a time (the daemon runs this under the queue's
 * `followLeaseName` lease): when every process followed, each request was recorded `dispatched`
 * once per process and each dead letter counted once per process. The place read up to is kept
 * in Redis, so the next holder of the lease reads on from there.
 */
export class RequestQueueFollower {
  readonly #p: RequestQueueFollowerParameters;
  #connection: RedisConnection | undefined;
  #events: QueueEvents | undefined;
  #place: string | undefined;
  #kept: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(parameters: RequestQueueFollowerParameters) {
    this.#p = parameters;
  }

  get #placeKey(): string {
    return eventsPlaceKey(this.#p.prefix, this.#p.name);
  }

  /**
   * Starts reading where the last follower stopped; a queue never followed before is read from
   * `sinceJobId`'s first event (the job that brought the queue to notice), else from now.
   */
  async start(sinceJobId?: string): Promise<void> {
    const stored = await this.#p.records.get(this.#placeKey);
    const kept = streamIdSchema.safeParse(stored);
    if (stored !== null && !kept.success)
      this.#p.logger.warn(
        { queue: this.#p.name, place: stored.slice(0, 64) },
        'the kept events place is not a stream id; reading as if none was kept',
      );
    const from = kept.success ? kept.data : await this.#eventsFrom(sinceJobId);
    this.#kept = kept.success ? kept.data : undefined;
    // Made once the reads above went well (a start that fails leaves nothing open). BullMQ
    // leaves a connection it was handed open on close: it is closed in stop().
    this.#connection = this.#p.redis.duplicate();
    const events = new QueueEvents(this.#p.name, {
      connection: this.#connection,
      prefix: this.#p.prefix,
      lastEventId: from,
    });
    this.#events = events;
    // Each record takes its event's time (a stream id starts with it): a follower reading on
    // after a gap records when things happened, not when it read them.
    events.on('active', ({ jobId }, id) => {
      this.#place = id;
      void this.#p.journeys
        .record(jobId, { stage: 'dispatched', at: timeOf(id) }, undefined, LATE)
        .catch(() => undefined);
    });
    events.on('failed', ({ jobId, failedReason }, id) => {
      this.#place = id;
      void this.#deadLetter(jobId, failedReason, timeOf(id)).catch((error: unknown) =>
        this.#p.logger.warn({ jobId, err: errorMessage(error) }, 'could not record a dead letter'),
      );
    });
    events.on('error', (error) =>
      this.#p.logger.warn({ queue: this.#p.name, err: errorMessage(error) }, 'queue events error'),
    );
    this.#timer = setInterval(() => void this.#keepPlace(), KEEP_PLACE_EVERY_MS).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#events?.close().catch(() => undefined);
    await this.#keepPlace();
    this.#connection?.disconnect();
  }

  async #keepPlace(): Promise<void> {
    const place = this.#place;
    if (place === undefined || place === this.#kept) return;
    try {
      await this.#p.records.eval(KEEP_PLACE, 1, this.#placeKey, place);
      this.#kept = place;
    } catch (error) {
      this.#p.logger.warn(
        { queue: this.#p.name, err: errorMessage(error) },
        'could not keep the events place',
      );
    }
  }

  /**
   * Where to start reading a queue never followed before. QueueEvents reads only what comes after
   * it starts (`$`), and the first job of a new queue is often taken by a worker before that read
   * begins: its `dispatched` stage would be missed. So a queue followed because of a job is read
   * from that job's first event on; one found otherwise from now, so old events are not replayed.
   */
  async #eventsFrom(sinceJobId: string | undefined): Promise<string> {
    if (!sinceJobId) return '$';
    // BullMQ's events stream: `<prefix>:<queue>:events`, entries [id, [field, value, …]].
    const recent = await this.#p.redis.xrevrange(
      `${this.#p.prefix}:${this.#p.name}:events`,
      '+',
      '-',
      'COUNT',
      500,
    );
    const ofJob = recent.filter(([, fields]) => fields[fields.indexOf('jobId') + 1] === sinceJobId);
    const oldest = ofJob.at(-1)?.[0];
    // Stream reads are exclusive of the id given: start just before the job's oldest event.
    return oldest ? previousStreamId(oldest) : '$';
  }

  /** A job failed: if for good, its journey ends (`dead`, or `refused` for a security refusal). */
  async #deadLetter(jobId: string, failedReason: string, at: number): Promise<void> {
    const job = await this.#p.queues.queue(this.#p.name).getJob(jobId);
    if (!job || !(await job.isFailed())) return;
    const parsed = requestJobSchema.safeParse(job.data);
    const refusal = jobRefusalSchema.safeParse(job.progress);
    if (refusal.success && refusal.data.refusal.security) {
      const { reason, detail } = refusal.data.refusal;
      recordSecurityRefusal(this.#p.logger, this.#p.metrics.securityRefusals, {
        role: 'worker',
        reason,
        jobId,
        requestId: parsed.success ? parsed.data.requestId : undefined,
        detail,
      });
      await this.#p.journeys.record(
        jobId,
        { stage: 'refused', at, detail: `${reason}: ${detail}`.slice(0, 500) },
        undefined,
        LATE,
      );
    } else
      await this.#p.journeys.record(
        jobId,
        { stage: 'dead', at, detail: `worker: ${failedReason}`.slice(0, 500) },
        undefined,
        LATE,
      );
    if (parsed.success) {
      await this.#p.pending.remove(
        parsed.data.observed.chain,
        requestJobId(parsed.data.origin, parsed.data.requestId),
      );
      this.#p.metrics.completed.inc({ origin: parsed.data.origin.kind, outcome: 'dead' });
    }
  }
}

/** A queue name without its hash tag's braces (a name inside another key's tag). */
function bare(name: string): string {
  return name.replace(/^\{|\}$/g, '');
}

/** The time in a stream id (`ms-seq`). */
function timeOf(id: string): number {
  return Number(id.split('-')[0]);
}

/** The stream id just before `id` (`ms-seq`), so that a read after it includes `id`. */
function previousStreamId(id: string): string {
  const [ms, seq] = id.split('-').map(BigInt) as [bigint, bigint];
  return seq > 0n ? `${ms}-${seq - 1n}` : `${ms - 1n}-18446744073709551615`;
}

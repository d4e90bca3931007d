import type { EventStream } from '../http-server.js';
import type { RelayerMetrics } from '../metrics.js';
import { withTimeout } from '../readiness.js';
import { type RedisConnection, redisKey } from '../redis.js';
import type { QueueSampler } from './samples.js';
import { securityRefusals } from './security.js';

/** How often the server looks for moved requests and new refusals while a page is open. */
const LOOK_EVERY_MS = 1_000;
const LOOK_TIMEOUT_MS = 5_000;
/** A comment this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** Workers and chains pages refresh this often (their reads go to the chains). */
const SLOW_EVERY_MS = 30_000;

/**
 * Server-sent events to every open console page. One look per second at the newest journey
 * move and the refusal count, whoever is watching, and only while someone is: pages are told
 * what changed (`requests`, `security`, `sample`, `chains`, `workers`) and fetch their part again.
 */
export class LiveHub {
  readonly #clients = new Set<EventStream>();
  readonly #redis: RedisConnection;
  readonly #index: string;
  readonly #metrics: Pick<RelayerMetrics, 'securityRefusals' | 'errors'>;
  readonly #sampler: QueueSampler;
  #timer: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #slow: NodeJS.Timeout | undefined;
  #lastMove: string | null = null;
  #lastRefusals = -1;
  #looking = false;
  readonly #unsubscribe: () => void;

  constructor(p: {
    redis: RedisConnection;
    prefix: string;
    metrics: Pick<RelayerMetrics, 'securityRefusals' | 'errors'>;
    sampler: QueueSampler;
  }) {
    this.#redis = p.redis;
    this.#index = redisKey(p.prefix, 'journeys');
    this.#metrics = p.metrics;
    this.#sampler = p.sampler;
    this.#unsubscribe = this.#sampler.onSample((sample) => {
      const i = this.#sampler.samples.indexOf(sample);
      this.broadcast('sample', JSON.stringify(this.#sampler.point(sample, this.#sampler.samples[i - 1])));
      this.broadcast('chains', '{}');
    });
  }

  get clients(): number {
    return this.#clients.size;
  }

  add(stream: EventStream): void {
    this.#clients.add(stream);
    stream.onClose(() => {
      this.#clients.delete(stream);
      if (this.#clients.size === 0) this.#pause();
    });
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#look(), LOOK_EVERY_MS).unref();
      this.#keepalive = setInterval(() => this.broadcast('ping', ''), KEEPALIVE_MS).unref();
      this.#slow = setInterval(() => this.broadcast('workers', '{}'), SLOW_EVERY_MS).unref();
    }
  }

  broadcast(event: string, data: string): void {
    for (const c of this.#clients) c.send(event, data);
  }

  async #look(): Promise<void> {
    if (this.#looking) return;
    this.#looking = true;
    try {
      // Bounded: a read that never answers must not stop every later look.
      // The newest move in JourneyStore's index (journey.ts: scored by each record's time): one
      // read, where `list({ limit: 1 })` would read a page of summaries every second.
      const newest = await withTimeout(
        this.#redis.zrevrange(this.#index, 0, 0, 'WITHSCORES'),
        LOOK_TIMEOUT_MS,
        'newest journey',
      );
      const move = newest.join('@');
      if (this.#lastMove !== null && move !== this.#lastMove) this.broadcast('requests', '{}');
      this.#lastMove = move;
      const refusals = (
        await withTimeout(securityRefusals(this.#metrics), LOOK_TIMEOUT_MS, 'refusals')
      ).reduce((n, r) => n + r.count, 0);
      if (this.#lastRefusals >= 0 && refusals !== this.#lastRefusals) this.broadcast('security', '{}');
      this.#lastRefusals = refusals;
    } catch {
      // Redis away: the pages keep what they show; the next look tries again.
    } finally {
      this.#looking = false;
    }
  }

  #pause(): void {
    for (const t of [this.#timer, this.#keepalive, this.#slow]) clearInterval(t);
    this.#timer = this.#keepalive = this.#slow = undefined;
  }

  close(): void {
    this.#pause();
    this.#unsubscribe();
    this.#clients.clear();
  }
}

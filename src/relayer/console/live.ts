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
  /** Each open page with the last journey move it was told of (or rendered with). */
  readonly #clients = new Map<EventStream, { move: string | null }>();
  readonly #redis: RedisConnection;
  readonly #index: string;
  readonly #metrics: Pick<RelayerMetrics, 'securityRefusals' | 'errors'>;
  readonly #sampler: QueueSampler;
  #timer: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #slow: NodeJS.Timeout | undefined;
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

  /**
   * `since`: the journey move the page was rendered with (`currentMove`), so a move between the
   * page's render and this subscription is told at once instead of lost.
   */
  add(stream: EventStream, since?: string): void {
    this.#clients.set(stream, { move: since ?? null });
    stream.onClose(() => {
      this.#clients.delete(stream);
      if (this.#clients.size === 0) this.#pause();
    });
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#look(), LOOK_EVERY_MS).unref();
      this.#keepalive = setInterval(() => this.broadcast('ping', ''), KEEPALIVE_MS).unref();
      this.#slow = setInterval(() => this.broadcast('workers', '{}'), SLOW_EVERY_MS).unref();
    }
    void this.#look();
  }

  /**
   * The newest move in JourneyStore's index (journey.ts: scored by each record's time): one read,
   * where `list({ limit: 1 })` would read a page of summaries. Bounded: a read that never answers
   * must not stop every later look.
   */
  async currentMove(): Promise<string> {
    const newest = await withTimeout(
      this.#redis.zrevrange(this.#index, 0, 0, 'WITHSCORES'),
      LOOK_TIMEOUT_MS,
      'newest journey',
    );
    return newest.join('@');
  }

  broadcast(event: string, data: string): void {
    for (const c of this.#clients.keys()) c.send(event, data);
  }

  async #look(): Promise<void> {
    if (this.#looking) return;
    this.#looking = true;
    try {
      const move = await this.currentMove();
      for (const [stream, seen] of this.#clients) {
        // A page subscribed without a move of its own starts from now.
        if (seen.move !== null && seen.move !== move) stream.send('requests', '{}');
        seen.move = move;
      }
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

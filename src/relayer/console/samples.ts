import type { Queue } from 'bullmq';
import { withTimeout } from '../readiness.js';

/**
 * The chart's memory: every 10 s the job counts of every queue this process has open, kept for
 * 15 minutes (90 samples) in a ring. Nothing is written to Redis: a restarted relayer starts a
 * new chart, Prometheus keeps the long history.
 */
export const SAMPLE_EVERY_MS = 10_000;
export const SAMPLE_WINDOW_MS = 15 * 60_000;
const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
type State = (typeof STATES)[number];

export type QueueCounts = Record<State, number>;
export type Sample = { at: number; queues: Record<string, QueueCounts> };

/** The chart's lines: totals over the queues, and jobs finished per minute. */
export const CHART_SERIES = ['waiting', 'active', 'delayed', 'failed', 'completed/min'] as const;

export class QueueSampler {
  readonly #queues: () => Queue[];
  readonly #size: number;
  readonly #ring: Sample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #taking: Promise<Sample | null> | undefined;
  readonly #listeners = new Set<(s: Sample) => void>();

  constructor(queues: () => Queue[], options: { size?: number } = {}) {
    this.#queues = queues;
    this.#size = options.size ?? Math.ceil(SAMPLE_WINDOW_MS / SAMPLE_EVERY_MS);
  }

  start(): void {
    if (this.#timer) return;
    void this.take();
    this.#timer = setInterval(() => void this.take(), SAMPLE_EVERY_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  onSample(listener: (s: Sample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get samples(): readonly Sample[] {
    return this.#ring;
  }

  get latest(): Sample | undefined {
    return this.#ring.at(-1);
  }

  /** One sample now (one at a time; a slow Redis skips a beat rather than piling reads up). */
  take(): Promise<Sample | null> {
    this.#taking ??= this.#take().finally(() => {
      this.#taking = undefined;
    });
    return this.#taking;
  }

  async #take(): Promise<Sample | null> {
    try {
      const entries = await Promise.all(
        this.#queues().map(async (q) => {
          const counts = await withTimeout(q.getJobCounts(...STATES), 2_000, 'queue counts');
          return [q.name, Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) as QueueCounts] as const;
        }),
      );
      const sample: Sample = { at: Date.now(), queues: Object.fromEntries(entries) };
      this.#ring.push(sample);
      while (this.#ring.length > this.#size) this.#ring.shift();
      for (const l of this.#listeners) l(sample);
      return sample;
    } catch {
      return null;
    }
  }

  /** Jobs per minute finished in a queue, over the last minute of samples (null with fewer than two). */
  ratePerMinute(queue: string, state: 'completed' | 'failed' = 'completed'): number | null {
    const last = this.#ring.at(-1);
    if (!last?.queues[queue]) return null;
    const since = last.at - 60_000;
    const first = this.#ring.find((s) => s.at >= since && s.queues[queue] && s !== last);
    if (!first) return null;
    const delta = last.queues[queue][state] - first.queues[queue]![state];
    return Math.max(0, (delta * 60_000) / (last.at - first.at));
  }

  /** A sample as chart values (seconds for uPlot's x axis). */
  point(sample: Sample, previous: Sample | undefined): { t: number; values: Record<string, number | null> } {
    const total = (state: State) => Object.values(sample.queues).reduce((n, c) => n + c[state], 0);
    let rate: number | null = null;
    if (previous) {
      let done = 0;
      for (const [name, c] of Object.entries(sample.queues))
        done += Math.max(0, c.completed - (previous.queues[name]?.completed ?? c.completed));
      rate = (done * 60_000) / Math.max(1, sample.at - previous.at);
    }
    return {
      t: Math.round(sample.at / 1000),
      values: {
        waiting: total('waiting'),
        active: total('active'),
        delayed: total('delayed'),
        failed: total('failed'),
        'completed/min': rate,
      },
    };
  }

  /** The whole ring as uPlot's columns (the page's first draw). */
  chart(): { series: readonly string[]; t: number[]; values: (number | null)[][] } {
    const t: number[] = [];
    const values: (number | null)[][] = [];
    this.#ring.forEach((s, i) => {
      const p = this.point(s, this.#ring[i - 1]);
      t.push(p.t);
      values.push(CHART_SERIES.map((name) => p.values[name] ?? null));
    });
    return { series: CHART_SERIES, t, values };
  }
}

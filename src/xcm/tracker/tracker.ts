import type { Hex } from '../../base/bytes.js';
import { BaseError, errorMessage, type Retry } from '../../base/errors.js';
import type { DecodedXcm } from '../decode.js';
import type { XcmEventSource, XcmSubscription } from './event-source.js';
import { applyEvent, emptyRecord, mergeRecords, settle } from './merge.js';
import type { XcmTrackerChange, XcmTrackerStore } from './store.js';
import {
  isFinal,
  type ParsedTrackerEvent,
  type TrackedXcm,
  type XcmCursor,
  type XcmTrackerBlock,
  xcmTrackerBlockSchema,
  xcmTrackerEventSchema,
} from './types.js';

/** pino-compatible; the tracker logs what it skipped and why, never message contents. */
export type TrackerLogger = { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };

export type XcmTrackerOptions = {
  store: XcmTrackerStore;
  sources?: readonly XcmEventSource[] | undefined;
  logger?: TrackerLogger | undefined;
  now?: (() => number) | undefined;
  /** First wait before retrying a block the store refused (doubles up to 30 s). */
  retryDelayMs?: number | undefined;
};

export type IngestResult = { accepted: number; rejected: number; changed: Hex[] };

export type ExpectParameters = {
  /** The message (its id and hash are taken from it), or the id / hash directly. */
  message?: DecodedXcm | undefined;
  id?: Hex | undefined;
  hash?: Hex | undefined;
  origin?: string | undefined;
  destination?: string | undefined;
};

export type WaitOptions = {
  timeoutMs: number;
  /** Re-read the store this often, to see updates made by a tracker in another process (default 1000). */
  pollIntervalMs?: number | undefined;
  signal?: AbortSignal | undefined;
};

export class XcmTrackTimeoutError extends BaseError {
  /** The message may still be processed. */
  static override readonly retry: Retry = 'retry';
  override name = 'XcmTrackTimeoutError';
  readonly id: Hex;
  readonly last: TrackedXcm | null;
  constructor(id: Hex, timeoutMs: number, last: TrackedXcm | null) {
    super(
      `XCM message ${id} not processed within ${timeoutMs} ms (last status: ${last?.status ?? 'unknown'})`,
      {
        docsPath: 'docs/xcm.md#tracking',
      },
    );
    this.id = id;
    this.last = last;
  }
}

type Listener = (rec: TrackedXcm) => void;

/**
 * Follows XCM messages by id through sent → delivered → processed/failed on any chain, from
 * blocks of tracker events. Chain-agnostic: sources turn chain events into tracker events.
 * All writes go through one queue, so a block is applied whole, with its chain's cursor, before
 * the next; events may arrive in any order across chains and any number of times.
 */
export class XcmTracker {
  readonly #store: XcmTrackerStore;
  readonly #sources: readonly XcmEventSource[];
  readonly #logger: TrackerLogger | undefined;
  readonly #now: () => number;
  readonly #listeners = new Set<Listener>();
  #queue: Promise<unknown> = Promise.resolve();
  #subscriptions: XcmSubscription[] = [];
  #stopped = false;
  readonly #retryDelayMs: number;
  readonly stats = { blocks: 0, events: 0, rejected: 0 };

  constructor(options: XcmTrackerOptions) {
    this.#store = options.store;
    this.#sources = options.sources ?? [];
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** Subscribes to every source from its saved cursor (backfilling what was missed). */
  async start(): Promise<void> {
    this.#stopped = false;
    for (const source of this.#sources) {
      const from = await this.#store.cursor(source.chain);
      this.#logger?.info?.({ chain: source.chain, from: from?.number ?? null }, 'xcm tracker resuming');
      this.#subscriptions.push(
        await source.subscribe(from, (block) => this.#ingestWithRetry(source.chain, block)),
      );
    }
  }

  /**
   * A block from a source is retried until the store takes it (Redis down, ...), so no block is
   * skipped and the cursor never passes a block that was not applied; stop() ends the retries.
   */
  async #ingestWithRetry(chain: string, block: XcmTrackerBlock): Promise<void> {
    let delay = this.#retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ingest(block);
        return;
      } catch (error) {
        if (this.#stopped) return;
        this.#logger?.warn(
          { chain, block: block.number, attempt, error: errorMessage(error) },
          'xcm tracker: block not stored, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 30_000);
        if (this.#stopped) return;
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const subs = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.all(subs.map((s) => s.close()));
    await this.#queue;
  }

  /** Applies one block of tracker events (validated here: a bad event is skipped and counted). */
  ingest(block: XcmTrackerBlock | unknown): Promise<IngestResult> {
    return this.#serial(() => this.#ingest(block));
  }

  /** Registers a message before (or after) it is seen on chain: links its hash to its id. */
  expect(p: ExpectParameters): Promise<TrackedXcm> {
    return this.#serial(async () => {
      const id = (p.message?.id ?? p.id ?? p.hash)?.toLowerCase() as Hex | undefined;
      const hash = (p.message?.hash ?? p.hash)?.toLowerCase() as Hex | undefined;
      if (!id || !/^0x[0-9a-f]{64}$/.test(id) || (hash && !/^0x[0-9a-f]{64}$/.test(hash))) {
        throw new BaseError('expect: a message, or a 32-byte 0x-hex id or hash');
      }
      const change = emptyChange();
      const work = new Map<Hex, TrackedXcm>();
      let rec = await this.#load(id, work, change);
      rec.origin ??= p.origin;
      rec.destination ??= p.destination;
      if (hash && hash !== id) rec = await this.#link(rec, hash, work, change);
      rec.updatedAt = this.#now();
      work.set(rec.id, settle(rec));
      change.records = [...work.values()];
      await this.#store.commit(change);
      this.#notify(change.records);
      return structuredClone(rec);
    });
  }

  /** The message with this id (or transport hash), or null. */
  async get(idOrHash: Hex): Promise<TrackedXcm | null> {
    const key = idOrHash.toLowerCase() as Hex;
    return (await this.#store.get(key)) ?? (await this.#resolveAndGet(key));
  }

  /** Messages not yet processed or failed. */
  open(limit?: number): Promise<TrackedXcm[]> {
    return this.#store.open(limit);
  }

  /** Resolves when the message is processed or failed; rejects with XcmTrackTimeoutError. */
  async waitForFinal(idOrHash: Hex, options: WaitOptions): Promise<TrackedXcm> {
    const key = idOrHash.toLowerCase() as Hex;
    const current = await this.get(key);
    if (current && isFinal(current.status)) return current;
    return new Promise<TrackedXcm>((resolve, reject) => {
      let last = current;
      let settled = false;
      const finish = (error: Error | null, rec?: TrackedXcm) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.#listeners.delete(listener);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(rec!);
      };
      const listener: Listener = (rec) => {
        if (rec.id !== key && !rec.hashes.includes(key)) return;
        last = rec;
        if (isFinal(rec.status)) finish(null, structuredClone(rec));
      };
      const onAbort = () => finish(new BaseError(`stopped waiting for XCM message ${key}`));
      this.#listeners.add(listener);
      const timer = setTimeout(
        () => finish(new XcmTrackTimeoutError(key, options.timeoutMs, last)),
        options.timeoutMs,
      );
      const poll = setInterval(() => {
        this.get(key).then(
          (rec) => rec && listener(rec),
          () => undefined,
        );
      }, options.pollIntervalMs ?? 1000);
      options.signal?.addEventListener('abort', onAbort);
      if (options.signal?.aborted) onAbort();
    });
  }

  /** Called with every record the tracker changes; returns an unsubscribe function. */
  onUpdate(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #ingest(input: unknown): Promise<IngestResult> {
    const parsed = xcmTrackerBlockSchema.safeParse(input);
    if (!parsed.success) {
      this.stats.rejected += 1;
      this.#logger?.warn(
        { issue: parsed.error.issues[0]?.message, path: parsed.error.issues[0]?.path.join('.') },
        'xcm tracker: block rejected',
      );
      return { accepted: 0, rejected: 1, changed: [] };
    }
    const block = parsed.data;
    const ctx = { chain: block.chain, blockNumber: block.number, blockHash: block.hash, at: block.at };
    const change = emptyChange();
    const work = new Map<Hex, TrackedXcm>();
    let accepted = 0;
    let rejected = 0;
    for (const raw of block.events) {
      const e = xcmTrackerEventSchema.safeParse(raw);
      if (!e.success) {
        rejected += 1;
        this.#logger?.warn(
          { chain: block.chain, block: block.number, issue: e.error.issues[0]?.message },
          'xcm tracker: event skipped',
        );
        continue;
      }
      accepted += 1;
      await this.#apply(e.data, ctx, work, change);
    }
    const previous = await this.#store.cursor(block.chain);
    if (!previous || block.number >= previous.number) {
      change.cursor = {
        chain: block.chain,
        cursor: { number: block.number, hash: block.hash } satisfies XcmCursor,
      };
    }
    const now = this.#now();
    change.records = [...work.values()].map((r) => ({ ...r, updatedAt: now }));
    await this.#store.commit(change);
    this.stats.blocks += 1;
    this.stats.events += accepted;
    this.stats.rejected += rejected;
    this.#notify(change.records);
    return { accepted, rejected, changed: change.records.map((r) => r.id) };
  }

  async #apply(
    e: ParsedTrackerEvent,
    ctx: Parameters<typeof applyEvent>[2],
    work: Map<Hex, TrackedXcm>,
    change: XcmTrackerChange,
  ): Promise<void> {
    if (e.kind === 'link') {
      const rec = await this.#load(e.id, work, change);
      work.set(e.id, applyEvent(await this.#link(rec, e.hash, work, change), e, ctx));
      return;
    }
    const hash = 'hash' in e ? e.hash : undefined;
    const key = e.id ?? hash;
    if (!key) return; // a sent/delivered event that names neither is of no use
    const id = await this.#canonicalId(key, work, change);
    let rec = await this.#load(id, work, change);
    if (e.id && hash && e.id !== hash) rec = await this.#link(rec, hash, work, change);
    work.set(rec.id, applyEvent(rec, e, ctx));
  }

  /** Ties a transport hash to a record: future events by hash land there, and a record kept under the hash is folded in. */
  async #link(
    rec: TrackedXcm,
    hash: Hex,
    work: Map<Hex, TrackedXcm>,
    change: XcmTrackerChange,
  ): Promise<TrackedXcm> {
    if (hash === rec.id) return rec;
    change.aliases.push([hash, rec.id]);
    let merged = rec.hashes.includes(hash) ? rec : { ...rec, hashes: [...rec.hashes, hash] };
    const orphan = work.get(hash) ?? (await this.#safeGet(hash));
    if (orphan && orphan.id === hash) {
      merged = mergeRecords(merged, orphan);
      work.delete(hash);
      change.deleted.push(hash);
    }
    work.set(merged.id, merged);
    return merged;
  }

  async #canonicalId(key: Hex, work: Map<Hex, TrackedXcm>, change: XcmTrackerChange): Promise<Hex> {
    const pending = change.aliases.find(([h]) => h === key);
    if (pending) return pending[1];
    if (work.has(key)) return key;
    return (await this.#store.resolve(key)) ?? key;
  }

  async #load(id: Hex, work: Map<Hex, TrackedXcm>, change: XcmTrackerChange): Promise<TrackedXcm> {
    const canonical = await this.#canonicalId(id, work, change);
    return work.get(canonical) ?? (await this.#safeGet(canonical)) ?? emptyRecord(canonical, this.#now());
  }

  /** A record from the store; a corrupt one is logged and started afresh rather than stopping the tracker. */
  async #safeGet(id: Hex): Promise<TrackedXcm | null> {
    try {
      return await this.#store.get(id);
    } catch (error) {
      this.#logger?.warn(
        { id, error: errorMessage(error) },
        'xcm tracker: stored record unreadable, starting it again',
      );
      return null;
    }
  }

  async #resolveAndGet(key: Hex): Promise<TrackedXcm | null> {
    const id = await this.#store.resolve(key);
    return id ? this.#store.get(id) : null;
  }

  #notify(records: TrackedXcm[]): void {
    for (const rec of records) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(structuredClone(rec));
        } catch (error) {
          this.#logger?.warn({ error: errorMessage(error) }, 'xcm tracker: update listener failed');
        }
      }
    }
  }
}

function emptyChange(): XcmTrackerChange {
  return { records: [], aliases: [], deleted: [] };
}

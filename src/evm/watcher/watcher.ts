import { type Address, BlockNotFoundError, type Client, type Hex, type Log } from 'viem';
import { getBlock, getLogs } from 'viem/actions';
import type { Checkpoint, CheckpointStore } from '../../base/checkpoint.js';
import { errorMessage } from '../../base/errors.js';
import { GatewayLogDecodeError, WatcherRpcError } from '../errors.js';
import { type GatewayLogEvent, decodeGatewayLog } from '../gateway/events.js';
import { isLogRangeError } from '../rpc-errors.js';

/** How far behind the head the watcher reads: N confirmations, or the node's `finalized`/`safe` block. */
export type WatcherFinality = { confirmations: number } | 'finalized' | 'safe';

export type ReorgNotice = {
  /** The checkpoint that no longer matches the chain. */
  checkpoint: Checkpoint;
  /** The block the watcher resumes after (its hash matches the chain, or a fixed depth back). */
  resumeAfter: bigint;
};

export type GatewayWatcherOptions = {
  client: Client;
  chainId: number;
  gateway: Address;
  checkpoints: CheckpointStore;
  /** First block to read when there is no checkpoint (the gateway's deployment block). */
  startBlock: bigint;
  /** Default `{ confirmations: 0 }`. */
  finality?: WatcherFinality;
  /** Largest `getLogs` range (default 2,000 blocks); halved on provider range errors. */
  maxBlockRange?: bigint;
  /**
   * How far to rewind on a reorg when no remembered block still matches (after a restart only
   * the checkpoint is known). Default 64 blocks.
   */
  reorgDepth?: bigint;
  /**
   * Receives each range's new events in chain order. The checkpoint moves past the range only
   * after this resolves; if it throws, the same range is read again on the next poll.
   */
  onEvents: (events: GatewayLogEvent[]) => Promise<void> | void;
  /** A log that claims to be a gateway event but does not decode; it is skipped. */
  onBadLog?: (error: GatewayLogDecodeError) => void;
  onReorg?: (notice: ReorgNotice) => void;
  /** A poll that failed (RPC down, handler threw); `run` retries with backoff. */
  onError?: (error: unknown) => void;
};

export type PollResult = {
  /** Blocks read in this poll (inclusive), or null when there was nothing new. */
  range: { from: bigint; to: bigint } | null;
  emitted: number;
  reorg: ReorgNotice | null;
};

/** How many recent (block, hash) pairs to remember for finding where a reorg started. */
const REMEMBERED_BLOCKS = 256;
/** Successful ranges before trying a larger range again after the provider refused one. */
const PROBE_AFTER = 50;

/**
 * Reads PhalaBridgeGateway events: adaptive `getLogs` ranges, confirmations or the `finalized`
 * tag, a checkpoint (block number and hash) stored after each handled range, reorg detection by
 * hash with a rewind, and every event handed over once with its deterministic id.
 *
 * Exactly once holds within one watcher; after a restart and a reorg deeper than the checkpoint,
 * events of the rewound blocks may be handed over again with the same ids (the queue's job ids
 * make that harmless).
 */
export class GatewayWatcher {
  readonly #o: GatewayWatcherOptions;
  readonly #finality: WatcherFinality;
  readonly #maxRange: bigint;
  readonly #reorgDepth: bigint;
  #range: bigint;
  #ceiling: bigint;
  #successes = 0;
  /** Recently handled block numbers → hash, oldest first. */
  readonly #recent = new Map<bigint, Hex>();
  /** Ids handed over, with the block they were in (pruned once far below the checkpoint). */
  readonly #emitted = new Map<string, bigint>();
  #running: Promise<void> | null = null;
  #abort: AbortController | null = null;

  constructor(options: GatewayWatcherOptions) {
    this.#o = options;
    this.#finality = options.finality ?? { confirmations: 0 };
    this.#maxRange = options.maxBlockRange ?? 2_000n;
    this.#reorgDepth = options.reorgDepth ?? 64n;
    if (this.#maxRange < 1n) throw new RangeError('maxBlockRange must be at least 1');
    if (
      typeof this.#finality === 'object' &&
      (this.#finality.confirmations < 0 || !Number.isInteger(this.#finality.confirmations))
    )
      throw new RangeError('confirmations must be a non-negative integer');
    this.#range = this.#maxRange;
    this.#ceiling = this.#maxRange;
  }

  /** The current `getLogs` range (shrinks on provider range errors). */
  get blockRange(): bigint {
    return this.#range;
  }

  /** The highest block the watcher may read now. */
  async safeHead(): Promise<bigint> {
    return (await this.#safeHeadBlock()).number;
  }

  /** The safe head's number and hash (the block read to learn it). */
  async #safeHeadBlock(): Promise<{ number: bigint; hash: Hex | null }> {
    const f = this.#finality;
    const tag = f === 'finalized' || f === 'safe' ? f : 'latest';
    const block = await getBlock(this.#o.client, { blockTag: tag, includeTransactions: false });
    if (block.number === null) throw new WatcherRpcError(`the node gave no number for the ${tag} block`);
    if (f === 'finalized' || f === 'safe' || f.confirmations === 0)
      return { number: block.number, hash: block.hash };
    return { number: block.number - BigInt(f.confirmations), hash: null };
  }

  /** Reads everything between the checkpoint and the safe head, range by range. */
  async poll(): Promise<PollResult> {
    // The head and the checkpoint's check are independent reads: made at once.
    const [headBlock, checked] = await Promise.all([
      this.#safeHeadBlock(),
      (async () => {
        const loaded = await this.#o.checkpoints.load();
        return { loaded, resumeAfter: loaded ? await this.#checkCheckpoint(loaded) : null };
      })(),
    ]);
    const head = headBlock.number;
    let checkpoint = checked.loaded;
    let reorg: ReorgNotice | null = null;
    if (checkpoint && checked.resumeAfter !== null) {
      reorg = { checkpoint, resumeAfter: checked.resumeAfter };
      checkpoint = await this.#rewind(checked.resumeAfter);
      this.#o.onReorg?.(reorg);
    }
    let from = checkpoint ? checkpoint.blockNumber + 1n : this.#o.startBlock;
    const first = from;
    let emitted = 0;
    while (from <= head) {
      const to = from + this.#range - 1n < head ? from + this.#range - 1n : head;
      // The head's hash, read before the logs, serves as the range's `before` when it ends there.
      const result = await this.#readRange(from, to, to === head ? headBlock.hash : null);
      if (result === 'shrunk') continue;
      if (result === 'reorged') break;
      const fresh = result.events.filter((e) => !this.#emitted.has(e.id));
      if (fresh.length) await this.#o.onEvents(fresh);
      for (const e of fresh) this.#emitted.set(e.id, e.blockNumber);
      emitted += fresh.length;
      await this.#o.checkpoints.save({ blockNumber: to, blockHash: result.toHash });
      this.#remember(to, result.toHash);
      this.#grow();
      from = to + 1n;
    }
    return { range: first <= head && from > first ? { from: first, to: from - 1n } : null, emitted, reorg };
  }

  /**
   * Polls until `stop()`: every `intervalMs` when caught up, at once while behind, with
   * exponential backoff (up to 30 s) after errors. Errors go to `onError`; the loop never throws.
   */
  start(intervalMs = 1_000): void {
    if (this.#running) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = (async () => {
      let failures = 0;
      while (!abort.signal.aborted) {
        let wait = intervalMs;
        try {
          await this.poll();
          failures = 0;
        } catch (error) {
          failures++;
          wait = Math.min(30_000, intervalMs * 2 ** Math.min(failures, 10));
          this.#o.onError?.(error);
        }
        await sleep(wait, abort.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#running;
    this.#running = null;
  }

  /** Null when the checkpoint is still on the chain; else the block to resume after. */
  async #checkCheckpoint(checkpoint: Checkpoint): Promise<bigint | null> {
    const hash = await this.#hashAt(checkpoint.blockNumber);
    if (hash === checkpoint.blockHash) return null;
    // Find the newest remembered block that is still canonical.
    const remembered = [...this.#recent.entries()].filter(([n]) => n < checkpoint.blockNumber).reverse();
    for (const [number, rememberedHash] of remembered) {
      if ((await this.#hashAt(number)) === rememberedHash) return number;
    }
    const back = checkpoint.blockNumber - this.#reorgDepth;
    return back >= this.#o.startBlock ? back : this.#o.startBlock - 1n;
  }

  async #rewind(resumeAfter: bigint): Promise<Checkpoint | null> {
    for (const n of [...this.#recent.keys()]) if (n > resumeAfter) this.#recent.delete(n);
    if (resumeAfter < this.#o.startBlock) return null;
    const hash = await this.#hashAt(resumeAfter);
    if (!hash) throw new WatcherRpcError(`block ${resumeAfter} not found while rewinding`);
    const checkpoint = { blockNumber: resumeAfter, blockHash: hash };
    await this.#o.checkpoints.save(checkpoint);
    return checkpoint;
  }

  /** The canonical hash at a height, or null if the chain is not that long (anymore). */
  async #hashAt(blockNumber: bigint): Promise<Hex | null> {
    if (blockNumber < 0n) return null;
    try {
      const block = await getBlock(this.#o.client, { blockNumber, includeTransactions: false });
      return block.hash;
    } catch (error) {
      if (error instanceof BlockNotFoundError) return null;
      throw error;
    }
  }

  async #readRange(
    from: bigint,
    to: bigint,
    knownToHash: Hex | null,
  ): Promise<{ events: GatewayLogEvent[]; toHash: Hex } | 'shrunk' | 'reorged'> {
    const before = knownToHash ?? (await this.#hashAt(to));
    if (!before) return 'reorged';
    let logs: Log[];
    try {
      logs = await getLogs(this.#o.client, { address: this.#o.gateway, fromBlock: from, toBlock: to });
    } catch (error) {
      if (isLogRangeError(error) && to > from) {
        this.#shrink(to - from + 1n);
        return 'shrunk';
      }
      throw new WatcherRpcError(`getLogs ${from}..${to} failed: ${errorMessage(error)}`, { cause: error });
    }
    // Any reorg that touched a block in the range changes the hash of its last block.
    const after = await this.#hashAt(to);
    if (after !== before) return 'reorged';
    const events: GatewayLogEvent[] = [];
    for (const log of logs) {
      if (log.blockNumber === to && log.blockHash !== before) return 'reorged';
      try {
        const event = decodeGatewayLog(log, this.#o.chainId);
        if (event) events.push(event);
      } catch (error) {
        if (error instanceof GatewayLogDecodeError) this.#o.onBadLog?.(error);
        else throw error;
      }
    }
    events.sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
    return { events, toHash: before };
  }

  #shrink(failedRange: bigint): void {
    this.#ceiling = failedRange - 1n;
    this.#range = failedRange / 2n > 0n ? failedRange / 2n : 1n;
    this.#successes = 0;
  }

  #grow(): void {
    this.#successes++;
    if (this.#successes >= PROBE_AFTER && this.#ceiling < this.#maxRange) {
      // The provider's limit may have been transient: probe again.
      this.#ceiling = this.#maxRange;
      this.#successes = 0;
    }
    const next = this.#range * 2n;
    this.#range = next > this.#ceiling ? this.#ceiling : next;
    if (this.#range < 1n) this.#range = 1n;
  }

  #remember(blockNumber: bigint, hash: Hex): void {
    this.#recent.set(blockNumber, hash);
    while (this.#recent.size > REMEMBERED_BLOCKS) {
      const oldest = this.#recent.keys().next().value;
      if (oldest === undefined) break;
      this.#recent.delete(oldest);
    }
    // Ids far below every block a reorg could still reach are never seen again.
    const floor = blockNumber - this.#reorgDepth * 4n;
    for (const [id, at] of this.#emitted) if (at < floor) this.#emitted.delete(id);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

import type { XcmCursor, XcmTrackerBlock } from './types.js';

export type XcmBlockHandler = (block: XcmTrackerBlock) => Promise<void>;
export type XcmSubscription = { close(): Promise<void> };

/**
 * A chain's tracker events, block by block. `subscribe` first delivers every block after `from`
 * (the tracker's saved cursor: this is how it backfills what it missed while it was down), then
 * new blocks as they are finalized, in order, awaiting the handler before the next block.
 * The relayer's watchers and the devnet implement it over their chain clients.
 */
export interface XcmEventSource {
  readonly chain: string;
  subscribe(from: XcmCursor | null, onBlock: XcmBlockHandler): Promise<XcmSubscription>;
}

/**
 * Blocks held in memory: a chain replayed from a tape, or a synthetic chain in tests. `push`
 * appends a block and delivers it to live subscribers; a subscriber that starts later (e.g. a
 * restarted tracker) gets the blocks after its cursor first.
 */
export class MemoryEventSource implements XcmEventSource {
  readonly chain: string;
  readonly #blocks: XcmTrackerBlock[] = [];
  readonly #subscribers = new Set<{ next: number; handler: XcmBlockHandler; running: Promise<void> }>();

  constructor(chain: string, blocks: XcmTrackerBlock[] = []) {
    this.chain = chain;
    for (const b of blocks) this.#blocks.push(b);
  }

  get height(): number {
    return this.#blocks.at(-1)?.number ?? -1;
  }

  async push(block: Omit<XcmTrackerBlock, 'chain'> & { chain?: string }): Promise<void> {
    this.#blocks.push({ ...block, chain: this.chain });
    await Promise.all([...this.#subscribers].map((s) => this.#pump(s)));
  }

  async subscribe(from: XcmCursor | null, onBlock: XcmBlockHandler): Promise<XcmSubscription> {
    const start = from === null ? this.#blocks.length : this.#blocks.findIndex((b) => b.number > from.number);
    const sub = {
      next: start < 0 ? this.#blocks.length : start,
      handler: onBlock,
      running: Promise.resolve(),
    };
    this.#subscribers.add(sub);
    await this.#pump(sub);
    return {
      close: async () => {
        this.#subscribers.delete(sub);
        await sub.running;
      },
    };
  }

  /** Delivers pending blocks to one subscriber, one at a time, in order. */
  #pump(sub: { next: number; handler: XcmBlockHandler; running: Promise<void> }): Promise<void> {
    sub.running = sub.running.then(async () => {
      while (sub.next < this.#blocks.length && this.#subscribers.has(sub)) {
        const block = this.#blocks[sub.next]!;
        try {
          await sub.handler(block);
        } catch {
          // a handler that throws stops its own delivery here; it can subscribe again from its cursor
          this.#subscribers.delete(sub);
          return;
        }
        sub.next += 1;
      }
    });
    return sub.running;
  }
}

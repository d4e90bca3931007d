import { u8aToHex } from '@polkadot/util';
import type { ValidTransaction } from '../runtime/executive.js';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * The transaction pool: ready transactions (nonce chains from each sender's on-chain nonce) and
 * future ones (a gap before them), with the statuses `author_submitAndWatchExtrinsic` reports.
 */

export type TxStatus =
  | 'future'
  | 'ready'
  | { inBlock: string }
  | { finalized: string }
  | { usurped: string }
  | { retracted: string }
  | 'dropped'
  | 'invalid';

/** What a status carries besides its name: why it was dropped, where it was included. */
export type TxStatusDetail = { reason?: string; index?: number };
export type TxWatcher = (status: TxStatus, detail?: TxStatusDetail) => void;

export type PoolTx = {
  hash: string;
  bytes: Uint8Array;
  sender: string;
  nonce: number;
  priority: bigint;
  seq: number;
  watchers: Set<TxWatcher>;
  lastStatus: 'future' | 'ready';
};

export class PoolError extends BaseError {
  /** The pool's answer to these bytes (author RPC 1010-1016), sent back as the node's error. */
  static override readonly retry: Retry = 'never';
  override name = 'PoolError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: string,
  ) {
    super(message);
  }
}

export type PoolLimits = { maxTransactions: number; maxFuturePerSender: number };

export class TransactionPool {
  readonly #byHash = new Map<string, PoolTx>();
  readonly #bySender = new Map<string, Map<number, PoolTx>>();
  #seq = 0;

  constructor(readonly limits: PoolLimits = { maxTransactions: 8192, maxFuturePerSender: 64 }) {}

  get size(): number {
    return this.#byHash.size;
  }

  has(hash: string): boolean {
    return this.#byHash.has(hash);
  }

  get(hash: string): PoolTx | undefined {
    return this.#byHash.get(hash);
  }

  all(): PoolTx[] {
    return [...this.#byHash.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The next nonce of `sender` counting its ready transactions (system_accountNextIndex). */
  nextNonce(sender: string, stateNonce: number): number {
    const txs = this.#bySender.get(sender);
    let next = stateNonce;
    while (txs?.has(next)) next++;
    return next;
  }

  /**
   * Adds a validated transaction. Returns its initial status; throws PoolError for a duplicate, a
   * same-nonce transaction without a higher priority, or a full pool.
   */
  add(
    hash: Uint8Array,
    bytes: Uint8Array,
    sender: Uint8Array,
    nonce: number,
    stateNonce: number,
    validity: ValidTransaction,
    watcher?: TxWatcher,
  ): { status: 'ready' | 'future'; usurped?: PoolTx } {
    const hashHex = u8aToHex(hash);
    if (this.#byHash.has(hashHex)) throw new PoolError(1013, 'Transaction Already Imported');
    const senderHex = u8aToHex(sender);
    let txs = this.#bySender.get(senderHex);
    const existing = txs?.get(nonce);
    if (existing && validity.priority <= existing.priority) {
      throw new PoolError(
        1014,
        `Priority is too low: (${existing.priority} vs ${validity.priority})`,
        'The transaction has too low priority to replace another transaction already in the pool.',
      );
    }
    if (!existing && this.#byHash.size >= this.limits.maxTransactions) {
      throw new PoolError(
        1016,
        'Immediately Dropped',
        "The transaction couldn't enter the pool because of the limit",
      );
    }
    const status = this.nextNonce(senderHex, stateNonce) >= nonce ? 'ready' : 'future';
    if (status === 'future') {
      const futures = [...(txs?.keys() ?? [])].filter(
        (n) => n > this.nextNonce(senderHex, stateNonce),
      ).length;
      if (futures >= this.limits.maxFuturePerSender) {
        throw new PoolError(
          1016,
          'Immediately Dropped',
          "The transaction couldn't enter the pool because of the limit",
        );
      }
    }
    if (existing) this.#remove(existing);
    if (!txs) {
      txs = new Map();
      this.#bySender.set(senderHex, txs);
    }
    const tx: PoolTx = {
      hash: hashHex,
      bytes,
      sender: senderHex,
      nonce,
      priority: validity.priority,
      seq: this.#seq++,
      watchers: new Set(watcher ? [watcher] : []),
      lastStatus: status,
    };
    txs.set(nonce, tx);
    this.#byHash.set(hashHex, tx);
    if (existing)
      for (const w of existing.watchers) w({ usurped: hashHex }, { reason: `replaced by ${hashHex}` });
    if (status === 'ready') {
      // This may close a gap: the futures right after it become ready.
      for (let n = nonce + 1; txs.has(n); n++) {
        const next = txs.get(n)!;
        if (next.lastStatus !== 'future') continue;
        next.lastStatus = 'ready';
        for (const w of next.watchers) w('ready');
      }
    }
    return existing ? { status, usurped: existing } : { status };
  }

  /**
   * Ready transactions in the order to put them in a block: each sender's nonce chain from its
   * state nonce, senders interleaved by arrival.
   */
  ready(stateNonce: (sender: string) => number): PoolTx[] {
    const chains: PoolTx[][] = [];
    for (const [sender, txs] of this.#bySender) {
      const chain: PoolTx[] = [];
      for (let n = stateNonce(sender); txs.has(n); n++) chain.push(txs.get(n)!);
      if (chain.length) chains.push(chain);
    }
    const out: PoolTx[] = [];
    const heads = chains.map(() => 0);
    for (;;) {
      let best = -1;
      for (let i = 0; i < chains.length; i++) {
        const tx = chains[i]![heads[i]!];
        if (tx && (best < 0 || tx.seq < chains[best]![heads[best]!]!.seq)) best = i;
      }
      if (best < 0) return out;
      out.push(chains[best]![heads[best]!]!);
      heads[best]!++;
    }
  }

  /** Removes a transaction, telling its watchers `status` (if given). */
  remove(hash: string, status?: TxStatus, reason?: string): PoolTx | undefined {
    const tx = this.#byHash.get(hash);
    if (!tx) return undefined;
    this.#remove(tx);
    if (status) for (const w of tx.watchers) w(status, { reason });
    return tx;
  }

  #remove(tx: PoolTx): void {
    this.#byHash.delete(tx.hash);
    const txs = this.#bySender.get(tx.sender);
    txs?.delete(tx.nonce);
    if (txs && txs.size === 0) this.#bySender.delete(tx.sender);
  }

  /** After a block: drops what is now stale, and tells watchers of futures that became ready. */
  prune(stateNonce: (sender: string) => number): PoolTx[] {
    const stale: PoolTx[] = [];
    for (const [sender, txs] of [...this.#bySender]) {
      const base = stateNonce(sender);
      for (const tx of [...txs.values()]) {
        if (tx.nonce < base) stale.push(tx);
      }
      let next = base;
      while (txs.has(next)) {
        const tx = txs.get(next)!;
        if (tx.lastStatus === 'future') {
          tx.lastStatus = 'ready';
          for (const w of tx.watchers) w('ready');
        }
        next++;
      }
      void sender;
    }
    for (const tx of stale) this.remove(tx.hash, 'invalid', 'Transaction is outdated');
    return stale;
  }
}

import type { Origin } from '../protocol/origin.js';
import type { RequestJob } from '../protocol/request-job.js';
import type { PreparedBatch } from '../protocol/prepared-batch.js';
import type { SentTransaction } from '../protocol/sent-transaction.js';
import type { TapeObservation } from '../protocol/tape.js';
import type { ResultJob } from '../protocol/result-job.js';

export type { PreparedBatch, SentTransaction };

/**
 * What the relayer needs from each kind of chain, and nothing more. The EVM, Phala-style and XCM
 * adapters in `chains/` implement these over the chain clients in src/evm, src/phala and src/xcm.
 */

/** What a watcher reports. Each call may repeat (restarts, reorgs, two relayers): all are idempotent. */
export interface WatchSink {
  /** `observation`: the raw log or event the job was made from (for the tape recorder). */
  request(job: RequestJob, observation?: TapeObservation): Promise<void>;
  cancelled(
    origin: Origin,
    requestId: `0x${string}`,
    detail?: { chain: string; txHash?: string },
  ): Promise<void>;
  /** Seen fulfilled on the origin chain (by us or anyone). */
  fulfilled(
    origin: Origin,
    requestId: `0x${string}`,
    detail: { chain: string; txHash?: string },
  ): Promise<void>;
  /** The chain reorganised after `afterBlock`: answers landed after it may be undone. */
  reorged(chain: string, afterBlock: number): Promise<void>;
  /** A malformed log or event: recorded, counted, never fatal. */
  rejected(chain: string, reason: string): void;
}

export interface OriginWatcher {
  readonly chain: string;
  start(sink: WatchSink): Promise<void>;
  stop(): Promise<void>;
  /** Head minus checkpoint, for the lag metric and readiness. */
  lag(): Promise<number>;
  /** Re-reads requests from `fromBlock` and reports the ones the chain still shows pending. */
  rederive?(fromBlock: number, sink: WatchSink): Promise<number>;
}

export type RequestStatus = 'pending' | 'fulfilled' | 'cancelled' | 'expired' | 'unknown';

/** One request with the worker's answer to it, as prepared for submission. */
export type SubmitItem = { request: RequestJob; result: ResultJob };

/**
 * What the destination chain did with one item of a final transaction.
 *   delivered        the answer is on chain (`callbackFailed`: the consumer's callback reverted,
 *                    which is the consumer's business; the request is answered)
 *                    (`xcm`: for an XCM origin, the response message the origin has processed)
 *   not-pending      someone answered, cancelled or expired it first: nothing to do
 *   rerun            the answer was computed on contract state that has moved on: the workers
 *                    run the request again
 *   refused          the chain refused the item with `code`; `retryable` says whether the same
 *                    answer may be accepted later (a worker approval on its way) or never
 */
/**
 * An XCM origin's answer on its way back: the response message and the steps the XCM tracker saw
 * (chain, block and time), for the request's journey.
 */
export type XcmDelivery = {
  messageId: string;
  sent?: { chain: string; blockNumber: number; at: number } | undefined;
  processed?: { chain: string; blockNumber: number; at: number } | undefined;
};

export type ItemResult =
  | { kind: 'delivered'; callbackFailed: boolean; xcm?: XcmDelivery }
  | { kind: 'not-pending' }
  | { kind: 'rerun'; reason: string }
  | { kind: 'refused'; code: string; retryable: boolean };

/**
 * One look at a sent transaction (the confirm stage's question, asked until it is final).
 *   pending     not mined; `known`: the node still holds it (when not, anyone may broadcast its
 *               signed bytes again: a node restart or a dropped transaction leaves no gap)
 *   mined       in a block, not yet at the configured depth (or, for an XCM origin, its response
 *               not yet processed at the origin)
 *   final       at depth: what happened to each item, by request id
 *   reverted    mined and reverted as a whole: every item goes back to prepare
 *   replaced    its nonce was used by a transaction that is not ours, or it was lost behind a nonce
 *               gap nothing fills (a reorg): every item goes back to prepare
 */
export type TransactionCheck =
  | { kind: 'pending'; known: boolean }
  | { kind: 'mined'; blockNumber: number }
  | {
      kind: 'final';
      txHash: string;
      blockNumber: number;
      gasUsed: bigint;
      items: Map<string, ItemResult>;
    }
  | { kind: 'reverted'; txHash: string; reason: string }
  | { kind: 'replaced' };

export interface Destination {
  readonly chain: string;
  /** How many worker batches and items go in one transaction, and how long a lone one waits for company. */
  readonly batch: { maxSize: number; maxDelayMs: number };
  /** How often the confirm stage looks at a sent transaction, and when it replaces a stuck one. */
  readonly timing?: { lookEveryMs: number; replaceAfterMs: number };
  /** Which origins this destination answers. */
  accepts(origin: Origin): boolean;
  /**
   * Whether the chain will accept this worker's proof for the cluster right now (approved,
   * unexpired, not revoked): results from any other signer are dropped before submission.
   */
  isApprovedWorker(
    cluster: `0x${string}`,
    worker: { address: `0x${string}`; publicKey: `0x${string}` },
  ): Promise<boolean>;
  /** The request's status on its origin chain, now. */
  status(request: RequestJob): Promise<RequestStatus>;
  /** Called when this chain reorganised (e.g. to re-read nonces). */
  afterReorg?(): Promise<void>;
  /**
   * Builds and signs one transaction carrying these batches with the signer's next nonce, and
   * broadcasts it without waiting for it to be mined. `beforeBroadcast` runs once the transaction
   * is signed and before it leaves: the submit stage records it there (the confirm job), so a crash
   * in between leaves a record that can be broadcast again, never a transaction nobody watches.
   * The batches given can always share a transaction (`canShare` decided it).
   */
  send(
    batches: PreparedBatch[],
    beforeBroadcast: (sent: SentTransaction) => Promise<void>,
  ): Promise<SentTransaction>;
  /** Whether `batch` may join a transaction with `others` (e.g. only signed worker batches mix). */
  canShare(batch: PreparedBatch, others: readonly PreparedBatch[]): boolean;
  /** One look at a sent transaction; `batches` are what it carries. */
  check(sent: SentTransaction, batches: readonly PreparedBatch[]): Promise<TransactionCheck>;
  /** Broadcasts the latest signed bytes again (the node lost them). */
  rebroadcast(sent: SentTransaction): Promise<void>;
  /** The same nonce with a higher fee; null when at the fee cap (nothing to do but wait). */
  replace(sent: SentTransaction): Promise<SentTransaction | null>;
}

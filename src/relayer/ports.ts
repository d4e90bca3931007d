import type { Origin } from '../protocol/origin.js';
import type { RequestJob } from '../protocol/request-job.js';
import type { TapeObservation } from '../protocol/tape.js';
import type { ResultJob } from '../protocol/result-job.js';

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

export type SubmitItem = { request: RequestJob; result: ResultJob };

/** The outcome of one item once its submission is final. */
export type ItemOutcome =
  | { kind: 'fulfilled'; txHash: string; blockNumber?: number; gasUsed?: bigint; xcm?: { messageId: string } }
  /** The result was computed on contract state that has moved on: the request runs again. */
  | { kind: 'rerun'; reason: string }
  | { kind: 'already-fulfilled' }
  | { kind: 'cancelled' }
  | { kind: 'rejected'; reason: string; txHash?: string; retryable: boolean }
  | { kind: 'reorged'; txHash: string };

export interface Destination {
  readonly chain: string;
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
  /** Sends the items (one transaction, or a batch) and waits until that is final. */
  submit(
    items: SubmitItem[],
    onSent: (txHash: string, items: SubmitItem[]) => Promise<void>,
  ): Promise<ItemOutcome[]>;
}

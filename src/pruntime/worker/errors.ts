import { BaseError, type BaseErrorParameters, type Retry } from '../../base/errors.js';

const docsPath = '/docs/pruntime-worker.md';

/** A worker that cannot start or keep running as configured. */
export class WorkerError extends BaseError {
  /** The configuration or environment must change. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'WorkerError';
  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { docsPath, ...parameters });
  }
}

/**
 * Why a request is refused for good, by every worker: the payload is malformed, its id does not
 * derive from its fields, it names another cluster or an origin this worker does not answer,
 * its deadline has passed, or its input opens under none of the contract's keys. Nothing is
 * signed; the queue job fails with `<reason>: <detail>` as its recorded reason.
 */
export type RejectionReason =
  | 'bad-payload'
  | 'job-id-mismatch'
  | 'request-id-mismatch'
  | 'wrong-cluster'
  | 'unsupported-origin'
  | 'deadline-passed'
  | 'code-unreadable'
  | 'input-unreadable'
  /** An EVM request whose state change an earlier run committed before it could publish the result. */
  | 'state-already-committed'
  // Security refusals: the job does not match its origin chain as the worker verified it
  // (src/pruntime/worker/request-on-chain.ts). Counted apart, as they mean someone forged a job.
  | 'RequestNotOnChain'
  | 'RequestFieldMismatch'
  | 'RequestNotPending';

/** The rejections that mean a forged or replayed job rather than a bad or late request. */
export const SECURITY_REFUSALS: ReadonlySet<RejectionReason> = new Set([
  'RequestNotOnChain',
  'RequestFieldMismatch',
  'RequestNotPending',
]);

export class RequestRejectedError extends BaseError {
  /** Refused for good, by every worker. */
  static override readonly retry: Retry = 'never';
  override name = 'RequestRejectedError';
  readonly reason: RejectionReason;
  /** What was wrong, without the reason's name. */
  readonly detail: string;
  constructor(reason: RejectionReason, detail: string) {
    super(`${reason}: ${detail}`, { docsPath: `${docsPath}#rejections` });
    this.reason = reason;
    this.detail = detail;
  }
}

/**
 * Why this worker cannot serve a request now but another worker (or this one, later) can: it
 * is not approved at the moment, it lacks the contract's key (or the key epoch the input was
 * sealed to), or it already holds the contract's share of its engine threads in requests
 * (`contract-busy`, docs/pruntime-worker.md#fair-share). The job goes back to the queue without
 * counting an attempt.
 */
export type DeferralReason =
  | 'not-serving'
  | 'no-contract-key'
  | 'missing-key-epoch'
  | 'origin-not-final'
  | 'contract-busy';

export class RequestDeferredError extends BaseError {
  /** The request waits for something that is on its way. */
  static override readonly retry: Retry = 'retry';
  override name = 'RequestDeferredError';
  readonly reason: DeferralReason;
  constructor(reason: DeferralReason, detail: string) {
    super(`${reason}: ${detail}`, { docsPath: `${docsPath}#deferrals` });
    this.reason = reason;
  }
}

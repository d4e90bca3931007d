import { BaseError, type BaseErrorParameters } from '../base/errors.js';

const docsPath = 'docs/substrate-devnode.md#client-srcphala';

/** A dispatched call failed on chain (System.ExtrinsicFailed); names the pallet error when there is one. */
export class DispatchFailedError extends BaseError {
  override name = 'DispatchFailedError';
  constructor(
    readonly pallet: string,
    readonly error: string,
    readonly detail: { docs: string[]; txHash: string; blockHash: string; raw: unknown },
  ) {
    super(`${pallet}.${error}`, {
      details: detail.docs.join(' ') || undefined,
      docsPath,
      metaMessages: [`transaction ${detail.txHash} in block ${detail.blockHash}`],
    });
  }
}

/** The node refused the transaction (author RPC error 1010 Invalid / 1011 Unknown / 1012-1016 pool). */
export class TransactionRejectedError extends BaseError {
  override name = 'TransactionRejectedError';
  constructor(
    readonly code: number | null,
    readonly reason: string,
    parameters: BaseErrorParameters = {},
  ) {
    super(`transaction rejected: ${reason}`, { docsPath, ...parameters });
  }
  /** Stale/Future nonce or a replaced transaction: worth retrying with a fresh nonce. */
  get nonceProblem(): boolean {
    return /outdated|future|Priority is too low|Already Imported/i.test(this.reason);
  }
}

/** The pool dropped, invalidated or replaced the transaction after accepting it. */
export class TransactionDroppedError extends BaseError {
  override name = 'TransactionDroppedError';
  constructor(
    readonly status: string,
    readonly txHash: string,
  ) {
    super(`transaction ${txHash} ${status}`, { docsPath });
  }
}

export class SubmitTimeoutError extends BaseError {
  override name = 'SubmitTimeoutError';
  constructor(
    readonly txHash: string,
    readonly waitingFor: string,
    ms: number,
  ) {
    super(`transaction ${txHash} not ${waitingFor} after ${ms} ms`, { docsPath });
  }
}

/** Chain data that does not have the shape this client expects (a different runtime, or hostile data). */
export class ChainDataError extends BaseError {
  override name = 'ChainDataError';
  constructor(what: string, parameters: BaseErrorParameters = {}) {
    super(`unexpected chain data: ${what}`, { docsPath, ...parameters });
  }
}

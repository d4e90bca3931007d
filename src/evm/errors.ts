import { BaseError, type BaseErrorParameters } from '../base/errors.js';

/** A gateway log that does not decode as the event its first topic names. */
export class GatewayLogDecodeError extends BaseError {
  override name = 'GatewayLogDecodeError';
  readonly transactionHash: string | null;
  readonly logIndex: number | null;
  constructor(transactionHash: string | null, logIndex: number | null, parameters: BaseErrorParameters = {}) {
    super(`malformed gateway log ${transactionHash ?? '?'}#${logIndex ?? '?'}`, {
      docsPath: 'docs/evm.md#watcher',
      ...parameters,
    });
    this.transactionHash = transactionHash;
    this.logIndex = logIndex;
  }
}

/** The RPC node returned something the watcher cannot use (missing block, bad range). */
export class WatcherRpcError extends BaseError {
  override name = 'WatcherRpcError';
}

/** The submitter could not get a transaction mined (fee cap, replacements exhausted, node errors). */
export class SubmitterError extends BaseError {
  override name = 'SubmitterError';
}

/** The gateway refused a transaction for a reason that retrying will not fix. */
export class GatewayRejectedError extends BaseError {
  override name = 'GatewayRejectedError';
  readonly errorName: string;
  constructor(errorName: string, parameters: BaseErrorParameters = {}) {
    super(`gateway rejected the transaction: ${errorName}`, {
      docsPath: 'docs/evm.md#typescript-api',
      ...parameters,
    });
    this.errorName = errorName;
  }
}

/** The redis lock around a signer's nonce could not be taken in time. */
export class NonceLockTimeoutError extends BaseError {
  override name = 'NonceLockTimeoutError';
}

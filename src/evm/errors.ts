import type { ContractErrorName, Hex } from 'viem';
import { BaseError, type BaseErrorParameters, type Retry } from '../base/errors.js';
import { phalaBridgeGatewayAbi } from './artifacts/PhalaBridgeGateway.js';

/** A gateway log that does not decode as the event its first topic names. */
export class GatewayLogDecodeError extends BaseError {
  /** The same log decodes the same way. */
  static override readonly retry: Retry = 'never';
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
  /** The next poll asks again (a node catching up, a range the provider refused). */
  static override readonly retry: Retry = 'retry';
  override name = 'WatcherRpcError';
}

/**
 * The submitter could not get a transaction mined (node errors, replacements exhausted). A
 * thrower that knows better says so (`retry: 'after-fix'` for a signer that cannot pay).
 */
export class SubmitterError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'SubmitterError';
}

/** The gateway's custom errors, by name (from its ABI). */
export type GatewayErrorName = ContractErrorName<typeof phalaBridgeGatewayAbi>;

const GATEWAY_ERROR_NAMES: ReadonlySet<string> = new Set(
  phalaBridgeGatewayAbi.flatMap((item) => (item.type === 'error' ? [item.name] : [])),
);

export function isGatewayErrorName(name: string): name is GatewayErrorName {
  return GATEWAY_ERROR_NAMES.has(name);
}

/**
 * The gateway errors a later try can get past: something in flight reaches the gateway first.
 * Every other gateway error is final for the transaction that got it.
 */
export const GATEWAY_ERROR_RETRY: { readonly [K in GatewayErrorName]?: Retry } = {
  /** The worker's registration (or its renewal) is on its way to the gateway. */
  WorkerNotAuthorized: 'retry',
  /** A gatekeeper set update is on its way; the registration is signed for the new epoch. */
  WrongEpoch: 'retry',
  /** The contract's registration is on its way. */
  ContractNotRegistered: 'retry',
};

/**
 * The gateway refused a transaction with one of its own errors, decoded from the revert data
 * (`reason`, e.g. `RequestExpired`). Final for most reasons; `GATEWAY_ERROR_RETRY` names the few
 * a later try can get past. A revert without a gateway error to name is `GatewayRevertedError`.
 */
export class GatewayRejectedError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'GatewayRejectedError';
  /** The gateway's error name. */
  readonly reason: GatewayErrorName | (string & {});
  /** @deprecated The same as `reason`. */
  readonly errorName: string;
  /**
   * `reason` should be a gateway error name (`gatewayFailure` makes one from a failed call).
   * Anything else (`'reverted'`, `'estimateGas failed'`, as this project's helpers threw in 0.1.0)
   * is taken for what it is: an undecoded failure, which a retry may get past.
   */
  constructor(reason: GatewayErrorName | (string & {}), parameters: BaseErrorParameters = {}) {
    super(`gateway rejected the transaction: ${reason}`, {
      docsPath: 'docs/evm.md#errors-and-retries',
      retry: isGatewayErrorName(reason) ? (GATEWAY_ERROR_RETRY[reason] ?? 'never') : 'retry',
      ...parameters,
    });
    this.reason = reason;
    this.errorName = reason;
  }
}

/**
 * A gateway transaction or its gas estimate failed with no gateway error to name: a revert
 * without decodable data, an estimate the node refused, a receipt without the expected event.
 * The chain may have moved meanwhile (another relayer answered first, a registration landed), so
 * check the request's state and try again.
 */
export class GatewayRevertedError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'GatewayRevertedError';
  /** The mined transaction that reverted; undefined for a failed estimate. */
  readonly transactionHash: Hex | undefined;
  constructor(
    shortMessage: string,
    parameters: BaseErrorParameters & { transactionHash?: Hex | undefined } = {},
  ) {
    const { transactionHash, ...rest } = parameters;
    super(shortMessage, {
      docsPath: 'docs/evm.md#errors-and-retries',
      ...(transactionHash ? { details: `transaction ${transactionHash}` } : {}),
      ...rest,
    });
    this.transactionHash = transactionHash;
  }
}

/** The redis lock around a signer's nonce could not be taken in time. */
export class NonceLockTimeoutError extends BaseError {
  /** Another process holds it for a moment. */
  static override readonly retry: Retry = 'retry';
  override name = 'NonceLockTimeoutError';
}

import { BaseError, type BaseErrorParameters, type Retry } from '../base/errors.js';

const docsPath = 'docs/substrate-devnode.md#client-srcphala';

/** A dispatched call failed on chain (System.ExtrinsicFailed); names the pallet error when there is one. */
export class DispatchFailedError extends BaseError {
  /** The same call fails the same way on the same state. */
  static override readonly retry: Retry = 'never';
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

/**
 * Why the node's pool refused a transaction. Substrate's author RPC says most of it by code
 * (sc-rpc-api author errors: 1012 temporarily banned, 1013 already imported, 1014 priority too
 * low, 1016 immediately dropped); for 1010 "Invalid Transaction" only the text of
 * `InvalidTransaction` tells Stale from Future from Payment, so those go through `POOL_TEXTS`.
 */
export type PoolRejection =
  /** The nonce is below the account's (used meanwhile): take a fresh one. */
  | 'stale'
  /** The nonce is above the account's: a gap to fill first. */
  | 'future'
  /** The account cannot pay the fees. */
  | 'payment'
  /** The very same extrinsic is in the pool already. */
  | 'already-imported'
  /** Another extrinsic with this nonce pays more. */
  | 'too-low-priority'
  /** Recently dropped bytes, banned for a while. */
  | 'temporarily-banned'
  /** The pool is full. */
  | 'immediately-dropped'
  /** The block is full. */
  | 'exhausts-resources'
  /** Anything else: a bad signature, a call the runtime does not take, … */
  | 'other';

const POOL_CODES: Readonly<Record<number, PoolRejection>> = {
  1012: 'temporarily-banned',
  1013: 'already-imported',
  1014: 'too-low-priority',
  1016: 'immediately-dropped',
};

/** `sp_runtime::InvalidTransaction`'s Display texts (and the pool's, for a node that gives no code). */
const POOL_TEXTS: readonly (readonly [RegExp, PoolRejection])[] = [
  [/transaction is outdated/i, 'stale'],
  [/will be valid in the future/i, 'future'],
  [/inability to pay/i, 'payment'],
  [/exhaust the block limits/i, 'exhausts-resources'],
  [/already imported/i, 'already-imported'],
  [/priority is too low/i, 'too-low-priority'],
  [/temporarily banned/i, 'temporarily-banned'],
  [/immediately dropped/i, 'immediately-dropped'],
];

const POOL_RETRY: Readonly<Record<PoolRejection, Retry>> = {
  stale: 'retry',
  future: 'retry',
  payment: 'after-fix',
  'already-imported': 'retry',
  'too-low-priority': 'retry',
  'temporarily-banned': 'retry',
  'immediately-dropped': 'retry',
  'exhausts-resources': 'retry',
  other: 'never',
};

export function poolRejectionOf(code: number | null, reason: string): PoolRejection {
  const byCode = code === null ? undefined : POOL_CODES[code];
  return byCode ?? POOL_TEXTS.find(([pattern]) => pattern.test(reason))?.[1] ?? 'other';
}

/** The node refused the transaction (author RPC error 1010 Invalid / 1011 Unknown / 1012-1016 pool). */
export class TransactionRejectedError extends BaseError {
  /** As `kind` says (`POOL_RETRY`): nonce and pool troubles are worth another try, the rest not. */
  static override readonly retry: Retry = 'never';
  override name = 'TransactionRejectedError';
  readonly kind: PoolRejection;
  constructor(
    readonly code: number | null,
    readonly reason: string,
    parameters: BaseErrorParameters = {},
  ) {
    super(`transaction rejected: ${reason}`, {
      docsPath,
      retry: POOL_RETRY[poolRejectionOf(code, reason)],
      ...parameters,
    });
    this.kind = poolRejectionOf(code, reason);
  }
  /** Stale/Future nonce or a replaced transaction: worth retrying with a fresh nonce. */
  get nonceProblem(): boolean {
    return (
      this.kind === 'stale' ||
      this.kind === 'future' ||
      this.kind === 'too-low-priority' ||
      this.kind === 'already-imported'
    );
  }
}

/** The pool dropped, invalidated or replaced the transaction after accepting it. */
export class TransactionDroppedError extends BaseError {
  /** Sent again (a fresh nonce, a later block) it can land. */
  static override readonly retry: Retry = 'retry';
  override name = 'TransactionDroppedError';
  constructor(
    readonly status: string,
    readonly txHash: string,
  ) {
    super(`transaction ${txHash} ${status}`, { docsPath });
  }
}

export class SubmitTimeoutError extends BaseError {
  /** The chain was slow; it may still land, or land when sent again. */
  static override readonly retry: Retry = 'retry';
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
  /** The same data has the same shape. */
  static override readonly retry: Retry = 'never';
  override name = 'ChainDataError';
  constructor(what: string, parameters: BaseErrorParameters = {}) {
    super(`unexpected chain data: ${what}`, { docsPath, ...parameters });
  }
}

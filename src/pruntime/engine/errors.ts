import { BaseError, type BaseErrorParameters, type Retry } from '../../base/errors.js';

/**
 * How a contract call can end other than with a result. Each is deterministic: every worker that
 * runs the same code on the same state and input ends the call with the same code, so a worker
 * may sign it as the call's outcome.
 */
export const contractErrorCodes = [
  /**
   * The call used more than its gas budget (a `while (true)` ends here), or ran past the engine's
   * wall-clock limit for that budget (work gas does not see; docs/pruntime.md#limits-and-errors).
   */
  'OutOfGas',
  /** The call's heap did not fit under the engine's memory cap. */
  'OutOfMemory',
  /** The call recursed deeper than the stack limit and did not catch the error. */
  'StackOverflow',
  /** `public` or `sealed` is longer than the output limit. */
  'OutputTooLarge',
  /** The contract's state would be larger than the state limit. */
  'StateTooLarge',
  /** The input is longer than the input limit. */
  'InputTooLarge',
  /** The contract threw (or its top level threw) and did not catch it. */
  'ContractThrew',
  /** The code does not parse as a module, lacks the called export, or uses top-level await. */
  'InvalidContract',
  /** The call returned something other than the documented shapes (e.g. a promise). */
  'InvalidResult',
] as const;

export type ContractErrorCode = (typeof contractErrorCodes)[number];

export function isContractErrorCode(value: unknown): value is ContractErrorCode {
  return typeof value === 'string' && (contractErrorCodes as readonly string[]).includes(value);
}

export type EngineFailureReason = 'crashed' | 'closed' | 'startup';

/**
 * The engine itself failed (not the contract): a WebAssembly trap, a dead engine thread, a
 * thread that could not start, or a closed engine. Such an outcome is not deterministic and must
 * never be signed as a contract's result; the request should be retried (here or on another
 * worker). A call that runs too long is not one of these: it ends as the contract's `OutOfGas`.
 */
export class EngineFailureError extends BaseError {
  /** Not the contract's doing: run the request again, here or on another worker. */
  static override readonly retry: Retry = 'retry';
  override name = 'EngineFailureError';
  readonly reason: EngineFailureReason;
  constructor(reason: EngineFailureReason, details: string, parameters: BaseErrorParameters = {}) {
    super(`Contract engine failure (${reason}).`, {
      ...parameters,
      details,
      docsPath: '/docs/pruntime.md#limits-and-errors',
    });
    this.reason = reason;
  }
}

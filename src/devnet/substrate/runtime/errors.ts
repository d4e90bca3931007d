import { BaseError, type Retry } from '../../../base/errors.js';
import type { DispatchErrorValue, TokenErrorName } from './types.js';

/**
 * Why a dispatch failed, thrown by pallet code and turned into `sp_runtime::DispatchError` by the
 * runtime. Module errors name their pallet and variant; the runtime fills in the indices.
 */
export class DispatchFailure extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'DispatchFailure';
  constructor(
    readonly error: DispatchErrorValue | { tag: 'ModuleByName'; pallet: string; variant: string },
    message?: string,
  ) {
    super(
      message ??
        (error.tag === 'ModuleByName'
          ? `${error.pallet}.${error.variant}`
          : `DispatchError::${error.tag}${'value' in error && error.value && typeof error.value === 'object' && 'tag' in error.value ? `(${String(error.value.tag)})` : ''}`),
    );
  }

  static module(pallet: string, variant: string): DispatchFailure {
    return new DispatchFailure({ tag: 'ModuleByName', pallet, variant });
  }
  static badOrigin(): DispatchFailure {
    return new DispatchFailure({ tag: 'BadOrigin' });
  }
  static token(name: TokenErrorName): DispatchFailure {
    return new DispatchFailure({ tag: 'Token', value: { tag: name } } as DispatchErrorValue);
  }
  static arithmetic(name: 'Underflow' | 'Overflow' | 'DivisionByZero'): DispatchFailure {
    return new DispatchFailure({ tag: 'Arithmetic', value: { tag: name } } as DispatchErrorValue);
  }
  static other(): DispatchFailure {
    return new DispatchFailure({ tag: 'Other' });
  }
  static cannotLookup(): DispatchFailure {
    return new DispatchFailure({ tag: 'CannotLookup' });
  }
}

/** sp_runtime::transaction_validity: why the pool or block builder refuses a transaction. */
export type InvalidTransactionReason =
  | 'Call'
  | 'Payment'
  | 'Future'
  | 'Stale'
  | 'BadProof'
  | 'AncientBirthBlock'
  | 'ExhaustsResources'
  | 'BadMandatory'
  | 'MandatoryValidation'
  | 'BadSigner';
export type UnknownTransactionReason = 'CannotLookup' | 'NoUnsignedValidator';

/** The texts Substrate's `From<InvalidTransaction> for &str` gives, which the RPC error carries. */
export const INVALID_TRANSACTION_TEXT: Record<InvalidTransactionReason, string> = {
  Call: 'Transaction call is not expected',
  Payment: 'Inability to pay some fees (e.g. account balance too low)',
  Future: 'Transaction will be valid in the future',
  Stale: 'Transaction is outdated',
  BadProof: 'Transaction has a bad signature',
  AncientBirthBlock: 'Transaction has an ancient birth block',
  ExhaustsResources: 'Transaction would exhaust the block limits',
  BadMandatory: 'A call was labelled as mandatory, but resulted in an Error.',
  MandatoryValidation: 'Transaction dispatch is mandatory; transactions must not be validated.',
  BadSigner: 'Invalid signing address',
};
export const UNKNOWN_TRANSACTION_TEXT: Record<UnknownTransactionReason, string> = {
  CannotLookup: 'Could not lookup information required to validate the transaction',
  NoUnsignedValidator: 'Could not find an unsigned validator for the unsigned transaction',
};

function validityRetry(validity: { kind: 'invalid' | 'unknown'; reason: string }): Retry {
  if (validity.kind === 'unknown') return 'never';
  if (validity.reason === 'Payment') return 'after-fix';
  return ['Stale', 'Future', 'ExhaustsResources'].includes(validity.reason) ? 'retry' : 'never';
}

export class TransactionValidityError extends BaseError {
  /** Stale, Future and ExhaustsResources pass with a fresh nonce or in a later block; the rest never. */
  static override readonly retry: Retry = 'never';
  override name = 'TransactionValidityError';
  constructor(
    readonly validity:
      | { kind: 'invalid'; reason: InvalidTransactionReason }
      | { kind: 'unknown'; reason: UnknownTransactionReason },
  ) {
    super(
      validity.kind === 'invalid'
        ? INVALID_TRANSACTION_TEXT[validity.reason]
        : UNKNOWN_TRANSACTION_TEXT[validity.reason],
      { retry: validityRetry(validity) },
    );
  }
  static invalid(reason: InvalidTransactionReason): TransactionValidityError {
    return new TransactionValidityError({ kind: 'invalid', reason });
  }
  static unknown(reason: UnknownTransactionReason): TransactionValidityError {
    return new TransactionValidityError({ kind: 'unknown', reason });
  }
}

/** An extrinsic that cannot be decoded at all (author RPC 1001/1002). */
export class ExtrinsicFormatError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'ExtrinsicFormatError';
  constructor(
    readonly stage: 'format' | 'call',
    reason: string,
  ) {
    super(reason);
  }
}

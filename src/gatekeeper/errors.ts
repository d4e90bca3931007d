import { BaseError, type Retry } from '../base/errors.js';

/** Errors of the gatekeeper (docs/gatekeeper.md#errors). None ever carries key material. */

export type GatekeeperRefusalReason =
  /** Keys or a registration for a worker this enclave has not verified (or found untrusted). */
  | 'worker-not-verified'
  /** A registration that differs from what this enclave approved (measurement, cluster, expiry). */
  | 'registration-mismatch'
  /** A master key epoch this enclave does not hold. */
  | 'unknown-epoch'
  /** A new epoch that does not follow the newest held one. */
  | 'epoch-out-of-order'
  /** A handed-over master key whose public key differs from the chain's. */
  | 'master-key-mismatch'
  /** Bytes that look like a gatekeeper payload, offered to the transaction signer. */
  | 'not-a-transaction'
  /** A development-only operation (a given master key) on a real TEE. */
  | 'not-development';

/** The gatekeeper enclave refused an operation; nothing was signed or sealed. */
export class GatekeeperRefusalError extends BaseError {
  /** Nothing was signed; the same request is refused again. */
  static override readonly retry: Retry = 'never';
  override name = 'GatekeeperRefusalError';
  readonly reason: GatekeeperRefusalReason;
  constructor(reason: GatekeeperRefusalReason, details: string) {
    super('The gatekeeper enclave refused the operation.', {
      details,
      docsPath: '/docs/gatekeeper.md#errors',
    });
    this.reason = reason;
  }
}

/** The sealed master keys cannot be opened (another build or platform) or are malformed. */
export class MasterKeyUnsealError extends BaseError {
  /** The master keys must come from another gatekeeper. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'MasterKeyUnsealError';
  constructor(file: string, cause: unknown) {
    super('Cannot unseal the master keys.', {
      details: `${file}: a gatekeeper built from different code (another measurement) or on another platform cannot open them; it must receive the master keys from another gatekeeper instead.`,
      docsPath: '/docs/gatekeeper.md#keys',
      cause,
    });
  }
}

/** The gatekeeper cannot start or continue: configuration, chain or identity problems. */
export class GatekeeperError extends BaseError {
  /** Configuration, chain or identity must be put right. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'GatekeeperError';
}

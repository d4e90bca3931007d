import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * A TEE provider failed or answered something it must not (docs/attestation.md#quote-providers).
 * `retryable`: whether trying again can help (a concurrent writer, a busy agent), as opposed to a
 * misconfiguration or a confused interface that needs a person.
 */
export class PlatformError extends BaseError {
  /** Unless `retryable` says otherwise, a person must look at the platform or its configuration. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'PlatformError';
  readonly retryable: boolean;
  constructor(
    shortMessage: string,
    details?: string,
    cause?: unknown,
    options: { retryable?: boolean } = {},
  ) {
    super(shortMessage, {
      details,
      cause,
      docsPath: '/docs/attestation.md#quote-providers',
      retry: options.retryable ? 'retry' : 'after-fix',
    });
    this.retryable = options.retryable ?? false;
  }
}

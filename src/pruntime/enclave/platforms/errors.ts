import { BaseError } from '../../../base/errors.js';

/**
 * A TEE provider failed or answered something it must not (docs/attestation.md#quote-providers).
 * `retryable`: whether trying again can help (a concurrent writer, a busy agent), as opposed to a
 * misconfiguration or a confused interface that needs a person.
 */
export class PlatformError extends BaseError {
  override name = 'PlatformError';
  readonly retryable: boolean;
  constructor(
    shortMessage: string,
    details?: string,
    cause?: unknown,
    options: { retryable?: boolean } = {},
  ) {
    super(shortMessage, { details, cause, docsPath: '/docs/attestation.md#quote-providers' });
    this.retryable = options.retryable ?? false;
  }
}

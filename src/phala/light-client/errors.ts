import { BaseError, type BaseErrorParameters, type Retry } from '../../base/errors.js';

const docsPath = 'docs/ARCHITECTURE.md#trust-model';

/**
 * Why the light client refused something an untrusted RPC node gave it. Callers match on this,
 * never on the message text.
 */
export type LightClientErrorReason =
  // GRANDPA justifications
  | 'signer-not-in-set'
  | 'bad-signature'
  | 'duplicate-signer'
  | 'insufficient-weight'
  | 'target-mismatch'
  | 'precommit-not-descendant'
  | 'unused-ancestry'
  // headers and the finalized chain
  | 'header-mismatch'
  | 'broken-chain'
  | 'genesis-mismatch'
  | 'no-justification'
  | 'authority-set-change-unsupported'
  | 'not-verified'
  // storage read proofs
  | 'root-not-in-proof'
  | 'incomplete-proof'
  | 'malformed-node'
  // anything else
  | 'malformed'
  | 'rpc-answer'
  | 'rpc-error';

/**
 * The reasons another try (later, or at another node) can get past: the node failed or answered
 * something unusable, or what is asked for is not final or proven yet. Everything else is a proof
 * that does not hold, which no retry changes.
 */
const RETRY: Partial<Record<LightClientErrorReason, Retry>> = {
  'rpc-error': 'retry',
  'rpc-answer': 'retry',
  'no-justification': 'retry',
  'not-verified': 'retry',
  'authority-set-change-unsupported': 'after-fix',
};

export class LightClientError extends BaseError {
  /** A proof that does not hold; `RETRY` names the reasons that are worth another try. */
  static override readonly retry: Retry = 'never';
  override name = 'LightClientError';
  readonly reason: LightClientErrorReason;
  constructor(reason: LightClientErrorReason, shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { docsPath, retry: RETRY[reason] ?? 'never', ...parameters });
    this.reason = reason;
  }
}

import { BaseError, type BaseErrorParameters } from '../../base/errors.js';

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

export class LightClientError extends BaseError {
  override name = 'LightClientError';
  readonly reason: LightClientErrorReason;
  constructor(reason: LightClientErrorReason, shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { docsPath, ...parameters });
    this.reason = reason;
  }
}

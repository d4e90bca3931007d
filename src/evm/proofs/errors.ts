import { BaseError, type BaseErrorParameters, type Retry } from '../../base/errors.js';

/**
 * Why a piece of EVM state was not accepted. Callers branch on `reason` (never on message text):
 * every reason but `RpcUnavailable` and `InsufficientDepth` means some endpoint answered something
 * false or malformed; those two mean nothing could be verified yet.
 */
export type EvmProofErrorReason =
  | 'InvalidConfig'
  | 'RpcUnavailable'
  | 'InsufficientDepth'
  | 'MalformedHeader'
  | 'HeaderHashMismatch'
  | 'QuorumNotReached'
  | 'ChainIdMismatch'
  | 'ProofRootMismatch'
  | 'IncompleteProof'
  | 'MalformedProof'
  | 'AccountMismatch';

const docsPath = 'docs/evm.md#verified-state';

/** The common parent: `reason` names the refusal. */
export abstract class EvmProofError extends BaseError {
  /** Each subclass states its own; a proof that does not hold is final. */
  static override readonly retry: Retry = 'never';
  abstract readonly reason: EvmProofErrorReason;
  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { docsPath, ...parameters });
  }
}

/** The verifier's configuration is unusable (e.g. a single endpoint outside development). */
export class EvmVerifierConfigError extends EvmProofError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'EvmVerifierConfigError';
  readonly reason = 'InvalidConfig' as const;
}

/** Not enough endpoints answered at all (errors, timeouts) to attempt a check. */
export class EvmRpcUnavailableError extends EvmProofError {
  /** Endpoints come back. */
  static override readonly retry: Retry = 'retry';
  override name = 'EvmRpcUnavailableError';
  readonly reason = 'RpcUnavailable' as const;
}

/** The chain the endpoints agree on is not yet `depth` blocks long. */
export class InsufficientDepthError extends EvmProofError {
  /** The chain grows. */
  static override readonly retry: Retry = 'retry';
  override name = 'InsufficientDepthError';
  readonly reason = 'InsufficientDepth' as const;
}

/** A block answer that is not a well-formed header of a known fork. */
export class MalformedHeaderError extends EvmProofError {
  /** An endpoint that answers garbage. */
  static override readonly retry: Retry = 'never';
  override name = 'MalformedHeaderError';
  readonly reason = 'MalformedHeader' as const;
}

/** A header whose RLP encoding does not hash to the hash it was claimed (or agreed) to have. */
export class HeaderHashMismatchError extends EvmProofError {
  static override readonly retry: Retry = 'never';
  override name = 'HeaderHashMismatchError';
  readonly reason = 'HeaderHashMismatch' as const;
  readonly expected: `0x${string}`;
  readonly computed: `0x${string}`;
  constructor(expected: `0x${string}`, computed: `0x${string}`, parameters: BaseErrorParameters = {}) {
    super('header does not hash to the expected block hash', {
      details: `expected ${expected}, header hashes to ${computed}`,
      ...parameters,
    });
    this.expected = expected;
    this.computed = computed;
  }
}

/** What one endpoint answered in a quorum round (its label never carries the URL's path or keys). */
export type QuorumAnswer = {
  endpoint: string;
  /** The block hash it reported, with `valid: false` when its header does not hash to it. */
  hash?: `0x${string}`;
  valid?: boolean;
  /** The head it reported (when no block could be chosen). */
  head?: bigint;
  error?: string;
};

/** Fewer than `quorum` endpoints reported the same, correctly hashing header. */
export class QuorumNotReachedError extends EvmProofError {
  /** Endpoints that lag or reorg agree again later. */
  static override readonly retry: Retry = 'retry';
  override name = 'QuorumNotReachedError';
  readonly reason = 'QuorumNotReached' as const;
  /** The block asked about; null when fewer than `quorum` endpoints even reported a head. */
  readonly blockNumber: bigint | null;
  readonly answers: readonly QuorumAnswer[];
  constructor(blockNumber: bigint | null, quorum: number, answers: readonly QuorumAnswer[]) {
    super(
      blockNumber === null
        ? `fewer than ${quorum} endpoints report a head`
        : `fewer than ${quorum} endpoints agree on block ${blockNumber}`,
      { metaMessages: answers.map(describeAnswer) },
    );
    this.blockNumber = blockNumber;
    this.answers = answers;
  }
}

/** One line per endpoint for error listings. */
export function describeAnswer(a: QuorumAnswer): string {
  if (a.error !== undefined) return `- ${a.endpoint}: ${a.error}`;
  if (a.head !== undefined) return `- ${a.endpoint}: head ${a.head}`;
  return `- ${a.endpoint}: ${a.hash}${a.valid === false ? ' (header does not hash to it)' : ''}`;
}

/** Endpoints serve another chain than the configured one, leaving too few to reach the quorum. */
export class ChainIdMismatchError extends EvmProofError {
  /** The endpoint list must change. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'ChainIdMismatchError';
  readonly reason = 'ChainIdMismatch' as const;
  readonly expected: number;
  readonly mismatched: readonly { endpoint: string; chainId: number }[];
  constructor(expected: number, mismatched: readonly { endpoint: string; chainId: number }[]) {
    super(`endpoints serve another chain than ${expected}`, {
      metaMessages: mismatched.map((m) => `- ${m.endpoint}: chain ${m.chainId}`),
    });
    this.expected = expected;
    this.mismatched = mismatched;
  }
}

/** A proof whose first node does not hash to the root it is checked against (another block). */
export class ProofRootMismatchError extends EvmProofError {
  /** Usually a proof of another block (the head moved): ask again. */
  static override readonly retry: Retry = 'retry';
  override name = 'ProofRootMismatchError';
  readonly reason = 'ProofRootMismatch' as const;
}

/** A proof that stops before reaching the key's leaf or its proof of absence (truncated, node missing). */
export class IncompleteProofError extends EvmProofError {
  static override readonly retry: Retry = 'never';
  override name = 'IncompleteProofError';
  readonly reason = 'IncompleteProof' as const;
}

/** A proof or proven value that is not well-formed RLP of the expected shape. */
export class MalformedProofError extends EvmProofError {
  static override readonly retry: Retry = 'never';
  override name = 'MalformedProofError';
  readonly reason = 'MalformedProof' as const;
}

/** An eth_getProof answer for another account, or whose claimed account fields are not the proven ones. */
export class AccountMismatchError extends EvmProofError {
  static override readonly retry: Retry = 'never';
  override name = 'AccountMismatchError';
  readonly reason = 'AccountMismatch' as const;
}

/** The refusal reason of an error from this module, or undefined for anything else. */
export function evmProofErrorReason(error: unknown): EvmProofErrorReason | undefined {
  return error instanceof EvmProofError ? error.reason : undefined;
}

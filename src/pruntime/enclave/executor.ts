import { type Address, isAddress } from 'viem';
import { z } from 'zod';
import { type Hex, fromHex, isHex, toHex, utf8 } from '../../base/bytes.js';
import { BaseError, InvalidInputError, type Retry } from '../../base/errors.js';
import { EnvelopeOpenError } from '../../crypto/envelope.js';
import { blake2_256 } from '../../crypto/hash.js';
import {
  fulfillmentBatchDigest,
  fulfillmentBatchRoot,
  fulfillmentDigest,
  fulfillmentLeaf,
  fulfillmentOf,
  queryAnswerDigest,
  substrateFulfillmentPayload,
} from '../../crypto/proofs.js';
import { stateCommitPayload } from '../../crypto/state-commit.js';
import { stateCommitPayload as chainStateCommitPayload } from '../../phala/payloads.js';
import { contractCodeBytes } from '../../protocol/contract-code.js';
import type { ContractEngine } from '../engine/engine.js';
import type { ContractErrorCode } from '../engine/errors.js';
import { callLimitsSchema } from '../engine/limits.js';
import type { JsonValue } from '../engine/sandbox.js';
import { EMPTY_STATE } from '../engine/state.js';
import type { EnclaveIdentity } from './identity.js';
import { type ContractKey, type KeyStore, sealOutput } from './key-store.js';

/**
 * Runs a request end to end inside the enclave boundary (docs/pruntime.md#executing-a-request):
 * open the input with the contract key, unseal the current state, run the contract, seal the new
 * state and the sealed output, compute the state root, sign the result for the origin's chain
 * and the state commit for the Phala-style chain. The caller (the worker service) sees only
 * envelopes, hashes and signatures.
 */

/** Where the proof will be checked (PROTOCOL §4). */
export type ProofTarget =
  | { kind: 'evm'; chainId: number | bigint; verifyingContract: Address }
  | { kind: 'substrate'; genesisHash: Hex };

export type SealedState = { version: bigint; sealed: Uint8Array };

export type ExecuteRequest = {
  contractId: Hex;
  /**
   * The contract: its JavaScript source, or a WebAssembly module's bytes (protocol/contract-code.ts).
   * `codeHash`, when given, must be blake2_256 of the code as the chain stores it (UTF-8 for
   * JavaScript, the module bytes as they are).
   */
  code: string | Uint8Array;
  codeHash?: Hex;
  /**
   * The origin-chain block the worker verified the request in (the block a WebAssembly contract
   * reads as context field 5, docs/wasm-host-interface.md); absent: 0.
   */
  blockNumber?: number;
  /** Origin key (PROTOCOL §1), bound into the input envelope's context. */
  originKey: string;
  /**
   * `ctx.origin` as the contract sees it. Its `endUser` (hex), when it has one, is the end user
   * bound into the input envelope: the enclave opens the input only for the end user it shows the
   * contract, so the two cannot disagree. Without one the end user is the requester.
   */
  origin: JsonValue;
  /** The requester as bound into the input envelope (address, account id or SCALE location). */
  requester: Uint8Array;
  requestId: Hex;
  sealedInput: Uint8Array;
  /** The requester's X25519 key for the sealed output. */
  responseKey: Uint8Array;
  /** The contract's committed state, or null before its first commit. */
  state: SealedState | null;
  target: ProofTarget;
  /**
   * The Phala-style chain's genesis hash. When given, the state commit is signed the way that
   * chain's `commitState` checks it (src/phala/payloads.ts: bound to the chain); without it, in
   * the chain-independent crypto/state-commit.ts form.
   */
  stateCommitGenesisHash?: Hex;
  limits?: z.input<typeof partialLimits>;
};

export type StateCommitProposal = {
  contractId: Hex;
  expectedVersion: bigint;
  newVersion: bigint;
  sealedState: Uint8Array;
  stateRoot: Hex;
  /** The requests whose results made this state (this one). */
  requestIds: Hex[];
  /**
   * Substrate-style signature by the worker's key. For a Substrate target it is the result's own
   * proof (fulfil v2, which covers the state: PROTOCOL §4); otherwise the commit-state v2 payload
   * naming `requestIds` (see ExecuteRequest.stateCommitGenesisHash).
   */
  signature: Hex;
};

export type ExecuteResult = {
  status: 'ok' | 'contract-error';
  /** Set when `status` is `contract-error`; its name is also the public output. */
  errorCode: ContractErrorCode | null;
  publicOutput: Uint8Array;
  sealedOutput: Uint8Array;
  stateRoot: Hex;
  stateCommit: StateCommitProposal | null;
  proof: { kind: 'eip712' | 'substrate'; signature: Hex };
  gasUsed: number;
  /** Epoch of the contract key that opened the input (and seals the new state). */
  keyEpoch: number;
};

export type QueryRequest = {
  contractId: Hex;
  code: string | Uint8Array;
  codeHash?: Hex;
  /** The query, sealed by the client to the contract key with origin key "query". */
  sealedQuery: Uint8Array;
  responseKey: Uint8Array;
  state: SealedState | null;
  limits?: z.input<typeof partialLimits>;
};

export type QueryResult = {
  status: 'ok' | 'contract-error';
  errorCode: ContractErrorCode | null;
  /** blake2_256(sealedQuery): `ctx.requestId` and the output envelope's context. */
  queryId: Hex;
  /** The answer sealed to the response key (empty when the contract failed). */
  sealedOutput: Uint8Array;
  gasUsed: number;
  /**
   * Substrate-style signature over blake2_256(SCALE("phala-bridge/query/v1", contractId [u8;32],
   * queryId [u8;32], blake2_256(sealedOutput) [u8;32])): the answer came from this worker.
   */
  signature: Hex;
};

export type EnclaveErrorReason =
  | 'no-contract-key'
  | 'input-unreadable'
  | 'state-unreadable'
  | 'code-mismatch'
  | 'unknown-result';

/**
 * A request the enclave refuses to run (nothing is signed): the worker lacks the contract's key,
 * no key it holds opens the input or the state, or the code is not the code named by its hash.
 * Another worker may be able to serve it.
 */
export class EnclaveRefusalError extends BaseError {
  /** Another worker (or this one, once it holds the key) may serve it. */
  static override readonly retry: Retry = 'retry';
  override name = 'EnclaveRefusalError';
  readonly reason: EnclaveErrorReason;
  constructor(reason: EnclaveErrorReason, details: string) {
    super('The enclave refused the request.', { details, docsPath: '/docs/pruntime.md#executing-a-request' });
    this.reason = reason;
  }
}

const bytes = z.instanceof(Uint8Array);
const hex32 = z
  .string()
  .refine((v) => isHex(v) && v.length === 66, 'a 32-byte 0x-hex value') as z.ZodType<Hex>;
const partialLimits = callLimitsSchema.partial();
const sealedStateSchema = z
  .strictObject({
    version: z
      .bigint()
      .min(0n)
      .max((1n << 64n) - 2n),
    sealed: bytes,
  })
  .nullable();
/** Code handed to the engine, of either kind (the engine checks the kind's own limits). */
const MAX_CODE_BYTES = 4 * 1024 * 1024;
const codeFields = {
  contractId: hex32,
  code: z.union([
    z
      .string()
      .min(1)
      .max(1024 * 1024),
    bytes.refine((v) => v.length > 0 && v.length <= MAX_CODE_BYTES, `1 to ${MAX_CODE_BYTES} bytes`),
  ]),
  codeHash: hex32.optional(),
  state: sealedStateSchema,
  limits: partialLimits.optional(),
};
const targetSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('evm'),
    chainId: z.union([z.number().int().positive(), z.bigint().positive()]),
    verifyingContract: z
      .string()
      .refine((v) => isAddress(v, { strict: false }), 'an address') as z.ZodType<Address>,
  }),
  z.strictObject({ kind: z.literal('substrate'), genesisHash: hex32 }),
]);
const executeSchema = z.strictObject({
  ...codeFields,
  originKey: z.string().min(1).max(255),
  origin: z.json(),
  requester: bytes.refine((v) => v.length > 0 && v.length <= 255, '1 to 255 bytes'),
  requestId: hex32,
  sealedInput: bytes,
  responseKey: bytes.refine((v) => v.length === 32, '32 bytes'),
  target: targetSchema,
  stateCommitGenesisHash: hex32.optional(),
  blockNumber: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});
const querySchema = z.strictObject({
  ...codeFields,
  sealedQuery: bytes,
  responseKey: bytes.refine((v) => v.length === 32, '32 bytes'),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InvalidInputError(`${what}.${issue.path.join('.')}`, issue.message);
}

/** How many recent EVM results the executor remembers for batch signing. */
const REMEMBERED_RESULTS = 16_384;

export type SignBatchRequest = {
  target: Extract<ProofTarget, { kind: 'evm' }>;
  /**
   * Item hashes (crypto/proofs.ts fulfillmentLeaf) in batch order; each must be a result this
   * enclave produced. The enclave places them (the leaf carries the index), so the order signed
   * is the order given here.
   */
  leaves: Hex[];
};

export class ContractExecutor {
  /** Leaves of EVM results this enclave signed, with the gateway they were signed for. */
  readonly #produced = new Map<string, string>();

  constructor(
    private readonly identity: EnclaveIdentity,
    private readonly keys: KeyStore,
    private readonly engine: ContractEngine,
  ) {}

  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const r = parse(executeSchema, request, 'request');
    checkCode(r.code, r.codeHash);
    const requestId = fromHex(r.requestId, 'requestId', 32);
    const { key, plaintext: input } = this.#openWith(r.contractId, (k) =>
      k.openRequest(r.sealedInput, r.originKey, r.requester, r.responseKey, endUserOf(r.origin, r.requester)),
    );
    const current = this.#unsealState(r.contractId, r.state);
    const outcome = await this.engine.run({
      code: r.code,
      contractId: r.contractId,
      blockNumber: r.blockNumber ?? 0,
      kind: 'handle',
      input,
      state: current,
      requestId: r.requestId,
      origin: r.origin as JsonValue,
      randomSeed: key.randomSeed(requestId),
      limits: r.limits,
      tenant: r.contractId.toLowerCase(),
    });
    input.fill(0);
    let status: ExecuteResult['status'] = 'ok';
    let errorCode: ContractErrorCode | null = null;
    let publicOutput: Uint8Array;
    let sealedOutput: Uint8Array = new Uint8Array(0);
    let stateRoot: Uint8Array;
    let stateCommit: StateCommitProposal | null = null;
    if (outcome.ok) {
      publicOutput = outcome.public;
      if (outcome.sealed.length > 0) sealedOutput = sealOutput(r.responseKey, requestId, outcome.sealed);
      stateRoot = key.stateRoot(outcome.state);
      if (outcome.stateChanged) {
        const expectedVersion = r.state?.version ?? 0n;
        const newVersion = expectedVersion + 1n;
        const sealedState = key.sealState(outcome.state, newVersion);
        const contractId = fromHex(r.contractId);
        // Phala-style and XCM results carry their state in `fulfill`, covered by the result's own
        // signature (set below); other origins get a commit naming this request (commit-state v2).
        let signature: Hex = '0x';
        if (r.target.kind !== 'substrate') {
          const payload = r.stateCommitGenesisHash
            ? chainStateCommitPayload({
                genesisHash: fromHex(r.stateCommitGenesisHash),
                contractId,
                expectedVersion,
                state: sealedState,
                stateRoot,
                requestIds: [requestId],
              })
            : stateCommitPayload({ contractId, expectedVersion, stateRoot, sealedState });
          signature = toHex(this.identity.signSubstrateDigest(blake2_256(payload)));
        }
        stateCommit = {
          contractId: r.contractId,
          expectedVersion,
          newVersion,
          sealedState,
          stateRoot: toHex(stateRoot),
          requestIds: [r.requestId],
          signature,
        };
      }
      outcome.sealed.fill(0);
      outcome.state.fill(0);
    } else {
      status = 'contract-error';
      errorCode = outcome.error.code;
      publicOutput = utf8(outcome.error.code);
      stateRoot = key.stateRoot(current ?? EMPTY_STATE);
    }
    current?.fill(0);
    const proof = this.#sign(r.target, requestId, publicOutput, sealedOutput, stateRoot, stateCommit);
    if (stateCommit && proof.kind === 'substrate') stateCommit.signature = proof.signature;
    return {
      status,
      errorCode,
      publicOutput,
      sealedOutput,
      stateRoot: toHex(stateRoot),
      stateCommit,
      proof,
      gasUsed: outcome.gasUsed,
      keyEpoch: key.epoch,
    };
  }

  async query(request: QueryRequest): Promise<QueryResult> {
    const r = parse(querySchema, request, 'query');
    checkCode(r.code, r.codeHash);
    const queryId = blake2_256(r.sealedQuery);
    const { key, plaintext: input } = this.#openWith(r.contractId, (k) =>
      k.openQuery(r.sealedQuery, r.responseKey),
    );
    const current = this.#unsealState(r.contractId, r.state);
    const outcome = await this.engine.run({
      code: r.code,
      contractId: r.contractId,
      kind: 'query',
      input,
      state: current,
      requestId: toHex(queryId),
      origin: { kind: 'query' },
      randomSeed: key.randomSeed(queryId),
      limits: r.limits,
      tenant: r.contractId.toLowerCase(),
    });
    input.fill(0);
    current?.fill(0);
    const sealedOutput = outcome.ok ? sealOutput(r.responseKey, queryId, outcome.sealed) : new Uint8Array(0);
    if (outcome.ok) outcome.sealed.fill(0);
    const digest = queryAnswerDigest(fromHex(r.contractId), queryId, sealedOutput);
    return {
      status: outcome.ok ? 'ok' : 'contract-error',
      errorCode: outcome.ok ? null : outcome.error.code,
      queryId: toHex(queryId),
      sealedOutput,
      gasUsed: outcome.gasUsed,
      signature: toHex(this.identity.signSubstrateDigest(digest)),
    };
  }

  /** Tries the contract's keys, newest epoch first; the first that opens the envelope is used. */
  #openWith(
    contractId: Hex,
    open: (key: ContractKey) => Uint8Array,
  ): { key: ContractKey; plaintext: Uint8Array } {
    const keys = this.keys.contractKeys(contractId);
    if (keys.length === 0)
      throw new EnclaveRefusalError('no-contract-key', `no key for contract ${contractId}`);
    for (const key of keys) {
      try {
        return { key, plaintext: open(key) };
      } catch (error) {
        if (!(error instanceof EnvelopeOpenError)) throw error;
      }
    }
    throw new EnclaveRefusalError('input-unreadable', `no key held for ${contractId} opens the input`);
  }

  #unsealState(contractId: Hex, state: SealedState | null): Uint8Array | null {
    if (!state) return null;
    for (const key of this.keys.contractKeys(contractId)) {
      try {
        return key.openState(state.sealed, state.version);
      } catch (error) {
        if (!(error instanceof EnvelopeOpenError)) throw error;
      }
    }
    throw new EnclaveRefusalError(
      'state-unreadable',
      `no key held for ${contractId} opens state v${state.version}`,
    );
  }

  /**
   * Signs a FulfillmentBatch over results this enclave produced for the same gateway: the batch
   * signature vouches for nothing the single signatures did not already vouch for.
   */
  signBatch(request: SignBatchRequest): { root: Hex; count: number; signature: Hex } {
    const domain = `${request.target.chainId}:${request.target.verifyingContract.toLowerCase()}`;
    if (request.leaves.length === 0 || request.leaves.length > 0xffffffff) {
      throw new EnclaveRefusalError('unknown-result', 'a batch needs at least one result');
    }
    for (const leaf of request.leaves) {
      if (this.#produced.get(leaf.toLowerCase()) !== domain) {
        throw new EnclaveRefusalError(
          'unknown-result',
          `leaf ${leaf} is not a result this enclave produced for ${domain}`,
        );
      }
    }
    const root = toHex(fulfillmentBatchRoot(request.leaves.map((l) => fromHex(l, 'leaf', 32))));
    const digest = fulfillmentBatchDigest(
      { chainId: request.target.chainId, verifyingContract: request.target.verifyingContract },
      root,
      request.leaves.length,
    );
    return { root, count: request.leaves.length, signature: this.identity.signEthereumDigest(digest) };
  }

  #remember(leaf: Hex, domain: string): void {
    this.#produced.set(leaf.toLowerCase(), domain);
    if (this.#produced.size > REMEMBERED_RESULTS) this.#produced.delete(this.#produced.keys().next().value!);
  }

  #sign(
    target: ProofTarget,
    requestId: Uint8Array,
    publicOutput: Uint8Array,
    sealedOutput: Uint8Array,
    stateRoot: Uint8Array,
    stateCommit: StateCommitProposal | null,
  ): ExecuteResult['proof'] {
    if (target.kind === 'evm') {
      const fulfillment = fulfillmentOf(toHex(requestId), publicOutput, sealedOutput, toHex(stateRoot));
      const digest = fulfillmentDigest(
        { chainId: target.chainId, verifyingContract: target.verifyingContract },
        fulfillment,
      );
      this.#remember(
        toHex(fulfillmentLeaf(fulfillment)),
        `${target.chainId}:${target.verifyingContract.toLowerCase()}`,
      );
      return { kind: 'eip712', signature: this.identity.signEthereumDigest(digest) };
    }
    const payload = substrateFulfillmentPayload({
      genesisHash: fromHex(target.genesisHash),
      requestId,
      publicOutput,
      sealedOutput,
      stateRoot,
      stateCommit: stateCommit && {
        expectedVersion: stateCommit.expectedVersion,
        stateHash: blake2_256(stateCommit.sealedState),
      },
    });
    const signature = this.identity.signSubstrateDigest(blake2_256(payload));
    return { kind: 'substrate', signature: toHex(signature) };
  }
}

const originEndUserSchema = z.object({
  endUser: z.string().regex(/^0x(?:[0-9a-fA-F]{2}){1,255}$/, 'hex, 1 to 255 bytes'),
});

/** The end user the contract is shown (`origin.endUser`), else the requester (PROTOCOL §2). */
function endUserOf(origin: unknown, requester: Uint8Array): Uint8Array {
  if (origin === null || typeof origin !== 'object' || !('endUser' in origin)) return requester;
  const parsed = parse(originEndUserSchema, origin, 'request.origin');
  return fromHex(parsed.endUser as Hex, 'origin.endUser');
}

function checkCode(code: string | Uint8Array, codeHash: Hex | undefined): void {
  if (codeHash && toHex(blake2_256(contractCodeBytes(code))) !== codeHash.toLowerCase())
    throw new EnclaveRefusalError('code-mismatch', `the code does not hash to ${codeHash}`);
}

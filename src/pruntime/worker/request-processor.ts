import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { originKey, requestJobId } from '../../protocol/origin.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { ResultJob } from '../../protocol/result-job.js';
import type { Enclave } from '../enclave/enclave.js';
import { EnclaveRefusalError, type ExecuteResult } from '../enclave/executor.js';
import type { ChainReader } from './chain-reader.js';
import { type StateCommitGate, StateCommitGateError } from './state-commit-gate.js';
import type { RequestOnChain } from './request-on-chain.js';
import { RequestDeferredError, RequestRejectedError, WorkerError } from './errors.js';
import {
  type RequestCheckContext,
  checkRequest,
  contractOrigin,
  parseRequestJob,
  signingTarget,
} from './request-check.js';

/**
 * Turns one queued request into a signed result payload (docs/pruntime-worker.md#serving):
 * validate and check it (request-check.ts), find it on its origin chain through the worker's own
 * verified view, with the contract and its committed state (request-on-chain.ts), read the code
 * (checked against the proven code hash), run it in the enclave with the signing target of its
 * origin, and shape the answer as a `resultJobSchema` payload. Throws RequestRejectedError (refused for good, nothing
 * signed), RequestDeferredError (another worker, or this one later) or anything else (retry).
 */
export type RequestProcessorParameters = {
  enclave: Enclave;
  chain: ChainReader;
  /** The worker's verified view of every origin chain: nothing runs that it has not found there. */
  onChain: RequestOnChain;
  check: RequestCheckContext;
  /** Whether the worker may serve right now (approved, unexpired, measurement allowed). */
  isServing(): boolean;
  /**
   * Commits an EVM-origin result's new state from the worker's own account and waits until it is
   * final (state-commit-gate.ts); the result is released only then. Absent: no gate (tests).
   */
  stateCommitGate?: StateCommitGate | undefined;
  /** Unix milliseconds (tests). */
  now?: () => number;
};

export class RequestProcessor {
  readonly #p: RequestProcessorParameters;
  readonly #now: () => number;

  constructor(parameters: RequestProcessorParameters) {
    this.#p = parameters;
    this.#now = parameters.now ?? Date.now;
  }

  /**
   * The whole path for one queue payload. `jobId` is the queue job's id (checked against the
   * request); without it the request's own job id is used.
   */
  async run(data: unknown, jobId?: string): Promise<ResultJob> {
    const request = parseRequestJob(data);
    checkRequest(request, jobId, this.#p.check, Math.floor(this.#now() / 1000));
    if (!this.#p.isServing())
      throw new RequestDeferredError('not-serving', 'this worker is not approved at the moment');
    const id = jobId ?? requestJobId(request.origin, request.requestId);
    const executed = await this.#execute(request);
    // Phala-style and XCM results carry their state into their own fulfil; an EVM result's state
    // must be final on the Phala-style chain before anyone can deliver the answer.
    if (request.origin.kind === 'evm' && executed.stateCommit && this.#p.stateCommitGate) {
      try {
        await this.#p.stateCommitGate.release(executed.stateCommit);
      } catch (error) {
        // The request's effect is on chain already (an earlier run committed it and stopped
        // before its result went out): running it again would apply it twice.
        if (error instanceof StateCommitGateError && error.reason === 'already-committed')
          throw new RequestRejectedError(
            'state-already-committed',
            `${request.requestId}: its state change is committed already`,
          );
        throw error; // stale: run again on the new state; refused or timeout: retried
      }
    }
    return resultJobOf(request, id, executed, this.#p.enclave.publicIdentity, this.#now());
  }

  async #execute(request: RequestJob): Promise<ExecuteResult> {
    const { enclave, chain, check } = this.#p;
    const verified = await this.#p.onChain.verify(request);
    const contract = verified.contract;
    if (contract.cluster.toLowerCase() !== check.cluster.toLowerCase())
      throw new RequestRejectedError(
        'wrong-cluster',
        `contract ${request.contractId} is in ${contract.cluster}`,
      );
    if (!enclave.hasContractKey(request.contractId))
      throw new RequestDeferredError('no-contract-key', `no key for contract ${request.contractId}`);
    const code = await chain.code(contract.codeHash);
    if (code === null)
      throw new WorkerError('The contract code is not on the chain.', { details: contract.codeHash });
    const state = verified.state ? { version: verified.state.version, sealed: verified.state.state } : null;
    try {
      return await enclave.execute({
        contractId: request.contractId,
        code,
        codeHash: contract.codeHash,
        blockNumber: verified.originBlock,
        originKey: originKey(request.origin),
        origin: contractOrigin(request),
        requester: fromHex(request.requester, 'requester'),
        requestId: request.requestId,
        sealedInput: fromHex(request.sealedInput, 'sealedInput'),
        responseKey: fromHex(request.responseKey, 'responseKey', 32),
        state,
        target: signingTarget(request, check),
        stateCommitGenesisHash: check.phalaGenesisHash,
      });
    } catch (error) {
      if (error instanceof InvalidInputError)
        throw new RequestRejectedError('bad-payload', `${error.field}: ${error.shortMessage}`);
      if (!(error instanceof EnclaveRefusalError)) throw error;
      return this.#refused(request, error);
    }
  }

  /**
   * The enclave refused: is it this worker (a key it lacks) or the request (no key of the
   * contract opens the input)? Only when the worker holds every key epoch the chain published is
   * an unreadable input the request's fault.
   */
  async #refused(request: RequestJob, error: EnclaveRefusalError): Promise<never> {
    if (error.reason === 'no-contract-key')
      throw new RequestDeferredError('no-contract-key', `no key for contract ${request.contractId}`);
    if (error.reason === 'input-unreadable' || error.reason === 'state-unreadable') {
      const published = await this.#p.chain.contractKeyEpochs(request.contractId);
      const held = new Set(
        this.#p.enclave
          .keys()
          .filter((k) => k.kind === 'contract' && k.id === request.contractId.toLowerCase())
          .map((k) => k.epoch),
      );
      const missing = [...published.keys()].filter((epoch) => !held.has(epoch));
      if (missing.length > 0)
        throw new RequestDeferredError('missing-key-epoch', `no key of epoch ${missing.join(', ')}`);
      if (error.reason === 'input-unreadable')
        throw new RequestRejectedError('input-unreadable', 'no key of the contract opens the sealed input');
    }
    // state-unreadable with every key, or code-mismatch: something is off on the chain or here;
    // retried with backoff (bounded by the deadline) rather than judged.
    throw error;
  }
}

/** The result job of an executed request, signed by the worker whose identity is given. */
export function resultJobOf(
  request: RequestJob,
  jobId: string,
  executed: ExecuteResult,
  identity: { address: Hex; secp256k1: Hex },
  producedAt: number,
): ResultJob {
  const commit = executed.stateCommit;
  return {
    v: 1,
    jobId,
    origin: request.origin,
    requestId: request.requestId,
    contractId: request.contractId,
    cluster: request.cluster,
    worker: { address: identity.address, publicKey: identity.secp256k1 },
    status: executed.status,
    publicOutput: toHex(executed.publicOutput),
    sealedOutput: toHex(executed.sealedOutput),
    stateRoot: executed.stateRoot,
    proof: executed.proof,
    ...(commit
      ? {
          stateCommit: {
            contractId: commit.contractId,
            expectedVersion: commit.expectedVersion.toString(),
            sealedState: toHex(commit.sealedState),
            stateRoot: commit.stateRoot,
            requestIds: commit.requestIds,
            signature: commit.signature,
          },
        }
      : {}),
    gasUsed: executed.gasUsed,
    producedAt,
  };
}

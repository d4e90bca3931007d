import { type Hex, toHex } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import * as contracts from '../../phala/actions/contracts.js';
import type { PhalaClient } from '../../phala/client.js';
import { DispatchFailedError } from '../../phala/errors.js';
import type { Signer } from '../../phala/submit.js';
import type { ChainReader } from './chain-reader.js';

/**
 * The worker's gate for results of stateful calls from origins the Phala-style chain cannot see
 * (EVM): the new state is committed on the Phala-style chain from the worker's own account, and
 * the signed result is released only once that commit shows in a finalized block
 * (docs/pruntime-worker.md#state-commits). So no relayer can deliver an answer whose state never
 * landed, or land it out of order. Phala-style and XCM results need no gate: their state goes in
 * the same `fulfill` as the answer.
 */

/** A contract's committed state as of the latest finalized block the worker trusts. */
export type FinalizedContractState = { version: bigint; stateRoot: Hex };

/**
 * Reads `PhalaContracts.ContractStates(contractId)` at the latest finalized block. The worker's
 * verified light client backs it in production; `ChainFinalizedStateReader` reads it over RPC.
 */
export interface FinalizedStateReader {
  contractState(contractId: Hex): Promise<FinalizedContractState | null>;
  /** `PhalaContracts.CommittedRequests(requestId)`: the contract and version its state landed as. */
  committedRequest(requestId: Hex): Promise<{ contractId: Hex; version: bigint } | null>;
}

/** The default reader: the node's finalized head, then the state at that block (trusts the node). */
export class ChainFinalizedStateReader implements FinalizedStateReader {
  readonly #client: PhalaClient;

  constructor(chain: ChainReader | PhalaClient) {
    this.#client = 'client' in chain ? chain.client : chain;
  }

  async contractState(contractId: Hex): Promise<FinalizedContractState | null> {
    const head = await this.#client.api.rpc.chain.getFinalizedHead();
    const state = await contracts.getContractStateAt(this.#client, contractId, head.toHex() as Hex);
    return state && { version: state.version, stateRoot: state.stateRoot.toLowerCase() as Hex };
  }

  async committedRequest(requestId: Hex): Promise<{ contractId: Hex; version: bigint } | null> {
    const head = await this.#client.api.rpc.chain.getFinalizedHead();
    return contracts.getCommittedRequestAt(this.#client, requestId, head.toHex() as Hex);
  }
}

/** A worker-signed commit (the executor's `StateCommitProposal` is one). */
export type SignedStateCommit = {
  contractId: Hex;
  expectedVersion: bigint;
  sealedState: Uint8Array | Hex;
  stateRoot: Hex;
  /** The requests whose results made the state; named in the signed payload. */
  requestIds: readonly Hex[];
  /** Over the commit-state v2 payload (src/phala/payloads.ts). */
  signature: Hex;
};

export type StateCommitGateErrorReason =
  /** The contract's state moved past `expectedVersion`: run the request again on the new state. */
  | 'stale'
  /**
   * State was committed for one of these requests already (an earlier run's commit landed, e.g.
   * before a crash): running it again would apply it twice. Do not re-run; the request's effect
   * is on chain, and this run's result must not be released.
   */
  | 'already-committed'
  /** The chain refused the commit for another reason (`details` names the pallet error). */
  | 'refused'
  /** The commit did not show at a finalized block in time; the result stays unreleased. */
  | 'timeout';

export class StateCommitGateError extends BaseError {
  /** `stale` and `timeout` are worth another run; `already-committed` and `refused` are final. */
  static override readonly retry: Retry = 'never';
  override name = 'StateCommitGateError';
  readonly reason: StateCommitGateErrorReason;
  constructor(reason: StateCommitGateErrorReason, details: string, cause?: unknown) {
    super('The state commit did not become final; the result is not released.', {
      details,
      docsPath: '/docs/pruntime-worker.md#state-commits',
      cause,
      retry: reason === 'stale' || reason === 'timeout' ? 'retry' : 'never',
    });
    this.reason = reason;
  }
}

export type StateCommitGateParameters = {
  client: PhalaClient;
  /** The worker's own account on the Phala-style chain (the one it registered from). */
  account: Signer;
  reader: FinalizedStateReader;
  /** How long to wait for the commit to show as final (default 120 s). */
  timeoutMs?: number;
  /** How often the reader is asked once the commit is in (default 500 ms). */
  pollMs?: number;
};

export type StateCommitReceipt = {
  version: bigint;
  stateRoot: Hex;
  /** The commit's extrinsic, or null when an earlier attempt had landed it already. */
  txHash: Hex | null;
};

export class StateCommitGate {
  readonly #p: StateCommitGateParameters;

  constructor(parameters: StateCommitGateParameters) {
    this.#p = parameters;
  }

  /**
   * Commits `commit` and resolves once the reader shows its version and root at a finalized
   * block. Throws StateCommitGateError: `stale` (run again on the new state), `refused`, `timeout`.
   */
  async release(commit: SignedStateCommit): Promise<StateCommitReceipt> {
    const version = commit.expectedVersion + 1n;
    const stateRoot = commit.stateRoot.toLowerCase() as Hex;
    const deadline = Date.now() + (this.#p.timeoutMs ?? 120_000);
    // An earlier attempt (a retry after a crash) may have landed it already. "Ours" is told by
    // the request ids the chain recorded for the commit, never by the state root: two requests
    // can well leave the same state.
    const landed = async () => {
      const at = await this.#p.reader.committedRequest(requestId);
      if (!at) return false;
      if (at.contractId.toLowerCase() === commit.contractId.toLowerCase() && at.version === version)
        return true;
      throw new StateCommitGateError(
        'already-committed',
        `${requestId} took effect as version ${at.version} of ${at.contractId}; this run extends ${commit.expectedVersion}`,
      );
    };
    const requestId = commit.requestIds[0]!;
    if (await landed()) return { version, stateRoot, txHash: null };
    const before = await this.#p.reader.contractState(commit.contractId);
    if ((before?.version ?? 0n) > commit.expectedVersion) throw this.#stale(commit, before);

    let txHash: Hex;
    try {
      const sent = await contracts.commitState(this.#p.client, {
        signer: this.#p.account,
        contractId: commit.contractId,
        expectedVersion: commit.expectedVersion,
        state: typeof commit.sealedState === 'string' ? commit.sealedState : toHex(commit.sealedState),
        stateRoot: commit.stateRoot,
        requestIds: commit.requestIds,
        signature: commit.signature,
        waitFor: 'finalized',
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
      txHash = sent.txHash;
    } catch (error) {
      if (!(error instanceof DispatchFailedError)) throw error;
      if (error.error === 'AlreadyCommitted' || error.error === 'StaleState') {
        if (await landed()) return { version, stateRoot, txHash: null };
        if (error.error === 'AlreadyCommitted')
          throw new StateCommitGateError('already-committed', `${error.pallet}.${error.error}`, error);
        throw this.#stale(commit, await this.#p.reader.contractState(commit.contractId));
      }
      throw new StateCommitGateError('refused', `${error.pallet}.${error.error}`, error);
    }
    // Final by the node's word; released only once the reader (the worker's own view) agrees.
    const pollMs = this.#p.pollMs ?? 500;
    for (;;) {
      if (await landed()) return { version, stateRoot, txHash };
      if (Date.now() >= deadline)
        throw new StateCommitGateError(
          'timeout',
          `version ${version} of ${commit.contractId} (tx ${txHash}) is not final in the worker's view`,
        );
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  #stale(commit: SignedStateCommit, seen: FinalizedContractState | null): StateCommitGateError {
    return new StateCommitGateError(
      'stale',
      `contract ${commit.contractId} is at version ${seen?.version ?? 0n}, past ${commit.expectedVersion}`,
    );
  }
}

import { errorMessage } from '../../base/errors.js';
import type { PhalaClient } from '../../phala/client.js';
import { DispatchFailedError } from '../../phala/errors.js';
import type { Signer } from '../../phala/submit.js';
import * as contracts from '../../phala/actions/contracts.js';
import type { ResultJob } from '../../protocol/result-job.js';

export type StateCommitOutcome =
  | { kind: 'none' }
  | { kind: 'committed'; txHash: string }
  | { kind: 'already' }
  | { kind: 'stale'; reason: string }
  | { kind: 'failed'; reason: string };

/**
 * Commits a result's new contract state on the Phala-style chain before the result itself is
 * delivered (to any destination): optimistic concurrency, as the design says. If the state moved
 * on since the worker read it, the result was computed on old state and must be computed again.
 */
export class StateCommitter {
  readonly #client: PhalaClient | undefined;
  readonly #signer: Signer | undefined;

  constructor(client: PhalaClient | undefined, signer: Signer | undefined) {
    this.#client = client;
    this.#signer = signer;
  }

  async commit(result: ResultJob): Promise<StateCommitOutcome> {
    const commit = result.stateCommit;
    if (!commit) return { kind: 'none' };
    if (!this.#client || !this.#signer)
      return { kind: 'failed', reason: 'no Phala-style chain (with a signer) to commit state on' };
    // A retry after a crash finds its own state already there.
    if (await this.#isCurrent(commit.contractId, commit.stateRoot)) return { kind: 'already' };
    try {
      const sent = await contracts.commitState(this.#client, {
        signer: this.#signer,
        contractId: commit.contractId,
        expectedVersion: BigInt(commit.expectedVersion),
        state: commit.sealedState,
        stateRoot: commit.stateRoot,
        signature: commit.signature,
        waitFor: 'finalized',
      });
      return { kind: 'committed', txHash: sent.txHash };
    } catch (error) {
      if (error instanceof DispatchFailedError && error.error === 'StaleState') {
        if (await this.#isCurrent(commit.contractId, commit.stateRoot)) return { kind: 'already' };
        return { kind: 'stale', reason: `contract state moved past version ${commit.expectedVersion}` };
      }
      return { kind: 'failed', reason: errorMessage(error) };
    }
  }

  async #isCurrent(contractId: `0x${string}`, stateRoot: `0x${string}`): Promise<boolean> {
    const current = await contracts.getContractState(this.#client!, contractId);
    return current?.stateRoot.toLowerCase() === stateRoot.toLowerCase();
  }
}

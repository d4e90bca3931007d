import type { NewState } from '../../phala/actions/contracts.js';
import type { ResultJob } from '../../protocol/result-job.js';

/**
 * Where a result's new contract state goes (docs/PROTOCOL.md §4). The relayer never commits state
 * on its own any more (issue 13: a commit apart from its result let a relayer land state without
 * the answer, or the answer without its state):
 * - Phala-style and XCM origins: the state rides in the result's own `fulfill` (`newStateOf`),
 *   covered by the worker's fulfil v2 signature, and lands in the same dispatch or not at all;
 * - EVM origins: the worker commits it itself, from its own account, and releases the result
 *   only once the commit is final, so the relayer just delivers the result.
 */
export function newStateOf(result: ResultJob): NewState | null {
  const commit = result.stateCommit;
  if (!commit) return null;
  return { expectedVersion: BigInt(commit.expectedVersion), state: commit.sealedState };
}

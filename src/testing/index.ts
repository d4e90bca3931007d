/**
 * `phala-bridge/testing`: helpers for users' tests, runner-agnostic (plain throws). Start the
 * whole system, send requests with `phala-bridge/sdk`, wait for their answers, replay tapes.
 * See docs/testing.md.
 */
export { evmAccount, substrateAccount } from './accounts.js';
export { DEFAULT_TEST_SEED, startDevnet } from './devnet.js';
export type { DeployedContract, Devnet, StartDevnetParameters } from './devnet.js';
export {
  type ExpectFulfilledOptions,
  type Fulfilled,
  type FulfilledTarget,
  NotFulfilledError,
  UnexpectedOutputError,
  expectFulfilled,
} from './expect-fulfilled.js';
export { type Outcome, type RequestRef, compareOutcomes, outcomeOf } from './outcomes.js';
export { ReplayError, type ReplayOptions, type ReplayResult, replay } from './replay.js';
export { readTape, type TapeEntry } from '../protocol/tape.js';

/**
 * The typed client of the Phala-style chain, over @polkadot/api. Everything here works against any
 * node whose runtime has the same pallets; nothing depends on the dev node.
 */
export {
  type CreatePhalaClientParameters,
  ConnectError,
  type PhalaClient,
  closePhalaClient,
  createPhalaClient,
  genesisHex,
  submit,
} from './client.js';
export * from './errors.js';
export {
  type DecodedEvent,
  type EventPhase,
  type DescribedDispatchError,
  decodeEventRecords,
  describeDispatchError,
  eventsAt,
  eventsOfExtrinsic,
} from './events.js';
export {
  type FinalizedBlock,
  type FollowOptions,
  type Follower,
  finalizedBlockAt,
  followFinalizedBlocks,
} from './follow.js';
export {
  type ChainProgress,
  ProgressFileError,
  readProgressFile,
  writeProgressFile,
} from './progress-file.js';
export * from './ids.js';
export * from './payloads.js';
export { type Plain, plainOf } from './plain.js';
export { devSigner, ecdsaAccountId, ecdsaSigner, signerFromUri } from './signers.js';
export {
  NonceTracker,
  type Signer,
  type SubmitOptions,
  type SubmitResult,
  type Tx,
  type WaitFor,
  rejectionOf,
  submitExtrinsic,
  watchExtrinsic,
} from './submit.js';
export * from './types.js';
export * as registry from './actions/registry.js';
export * as contracts from './actions/contracts.js';
export * as mq from './actions/mq.js';
export * as balances from './actions/balances.js';
export { submitSudo } from './actions/common.js';

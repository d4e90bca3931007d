/**
 * The Substrate dev-node kit: what tests, the CLI and the multi-chain devnet use. Pallet authors
 * import from the files themselves (runtime/pallet.ts, scale/ty.ts, runtime/types.ts ...); see
 * docs/substrate-devnode.md.
 */
export { type DevNode, type StartDevNodeParameters, DevNodeError, startDevNode } from './node.js';
export {
  type BlockProduction,
  type ChainLogger,
  type ChainProperties,
  type ChainSpec,
  DevChain,
  type DevChainOptions,
  type StoredBlock,
  SubmitError,
} from './chain/chain.js';
export {
  GRANDPA_AUTHORITIES_KEY,
  GRANDPA_ENGINE_ID,
  GrandpaConfigError,
  type GrandpaSetInfo,
} from './chain/grandpa.js';
export { type ComposeChainParameters, composeChain } from './chains/compose.js';
export { DEV_ACCOUNT_NAMES, devAccounts } from './chains/dev-accounts.js';
export { DEV_ENDOWMENT, PHALA_PARA_ID, type PhalaChainOptions, phalaChainSpec } from './chains/phala.js';
export { PHALA_PALLET_INDICES, phalaPallets, phalaPalletsWith } from './chains/phala-pallets.js';
export { type RpcServer, type RpcServerOptions, startRpcServer } from './rpc/server.js';
export { foreignSource, foreignType, foreignTypeId, polkadotMetadataSource } from './metadata/foreign.js';
export type { RequestOriginExtension, RequestValue } from './pallets/phala/contracts.js';
export { Registry } from './pallets/phala/registry.js';
export { Balances } from './pallets/balances.js';
export { System } from './pallets/system.js';
export { type DispatchOrigin, Origin } from './runtime/origin.js';
export { DispatchFailure } from './runtime/errors.js';
export type {
  CallContext,
  Env,
  RuntimeCallValue,
  RuntimeEventValue,
  RuntimeHandle,
} from './runtime/context.js';
export {
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageDoubleMap,
  storageMap,
  storageValue,
  weight,
} from './runtime/pallet.js';
export type { Pallet, RuntimeApi } from './runtime/pallet.js';
export { RuntimeRefs } from './runtime/refs.js';
export { Runtime } from './runtime/runtime.js';
export { t, type Ty } from './scale/ty.js';

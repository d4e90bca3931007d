/**
 * `phala-bridge/sdk`: seal inputs, send requests from every origin, wait for and open results.
 * Every action takes `(client, parameters)` as viem's do, with `XParameters`, `XReturnType` and
 * `XErrorType` types.
 */
export * from './clusters.js';
export * from './deploy.js';
export * from './evm.js';
export * from './phala.js';
export * from './query.js';
export * from './relayer-status.js';
export * from './seal.js';
export * from './sibling.js';
/** What `deployContract` refuses: a module no worker would run, code no worker can read. */
export { WasmModuleRefusedError, type WasmRefusalReason } from '../pruntime/wasm/errors.js';
export { type CodeKind, ContractCodeUnreadableError, codeKindOf } from '../protocol/contract-code.js';
export {
  confidentialConsumerAbi,
  decodeGatewayLog,
  type GatewayEvent,
  type GatewayLogEvent,
  iConfidentialConsumerAbi,
  iPhalaBridgeGatewayAbi,
  phalaBridgeGatewayAbi,
} from '../abi/index.js';

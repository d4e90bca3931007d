/** The contract engine's public surface (docs/pruntime.md). */
export {
  ContractEngine,
  type ContractEngineOptions,
  type ContractOutcome,
  type RunContractParameters,
  runContractOnce,
} from './engine.js';
export {
  contractErrorCodes,
  EngineFailureError,
  isContractErrorCode,
  type ContractErrorCode,
  type EngineFailureReason,
} from './errors.js';
export {
  defaultCallLimits,
  defaultEngineLimits,
  MAX_GAS,
  type CallLimits,
  type EngineLimits,
} from './limits.js';
export {
  GAS_PER_CALL,
  GAS_PER_HOST_CALL,
  GAS_PER_INTERRUPT,
  MAX_LOAD_GAS,
  type CallKind,
  type JsonValue,
  type SandboxFailure,
  type SandboxSuccess,
} from './sandbox.js';
export { ContractState, EMPTY_STATE, type StateEntry, type StateValueType } from './state.js';

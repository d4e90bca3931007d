/**
 * The enclave module's public surface. Internal classes that hold secrets (EnclaveIdentity,
 * KeyStore, ContractKey, Sealer) are deliberately not exported: code outside the enclave gets
 * operations on keys, never keys.
 */
export { Enclave, type EnclaveOptions, type KeyHandoverParameters } from './enclave.js';
export {
  EnclaveRefusalError,
  type EnclaveErrorReason,
  type ExecuteRequest,
  type ExecuteResult,
  type ProofTarget,
  type QueryRequest,
  type QueryResult,
  type SealedState,
  type SignBatchRequest,
  type StateCommitProposal,
} from './executor.js';
export { IdentityUnsealError } from './identity.js';
export type { StoredKeyInfo } from './key-store.js';
export { KeyMismatchError } from './key-store.js';
export {
  computeCodeMeasurement,
  MEASURED_DIRECTORIES,
  MEASURED_WASM_PATH,
  type CodeMeasurement,
  type MeasuredFile,
} from './measurement.js';
export {
  createTeePlatform,
  platformConfigFrom,
  DstackPlatform,
  GraminePlatform,
  PlatformError,
  SimPlatform,
  TdxPlatform,
  type PlatformConfig,
  type TeeKind,
  type TeePlatform,
} from './platform.js';
export { SealedDataError } from './sealing.js';
export { TransactionSigningRefusedError } from './transaction-signer.js';

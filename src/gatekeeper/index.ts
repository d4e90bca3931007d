/**
 * The gatekeeper (docs/gatekeeper.md): master key, contract keys, worker approvals, key handover,
 * EVM registrations. Attestation verification is its own module (./attestation, docs/attestation.md).
 */

// The running service and its configuration.
export {
  Gatekeeper,
  type GatekeeperParameters,
  type GatekeeperStatus,
} from './service/gatekeeper.js';
export {
  type GatekeeperSetup,
  type RunningGatekeeper,
  type StartGatekeeperOptions,
  gatekeeperSetup,
  openGatekeeperEnclave,
  startGatekeeperFromConfig,
} from './service/from-config.js';
export {
  type SuperviseGatekeeperParameters,
  type SupervisedGatekeeper,
  superviseGatekeeper,
} from './service/supervisor.js';
export { type RotateMasterKeyParameters, rotateMasterKey } from './service/rotate.js';

// The enclave boundary.
export {
  type ContractKeyToHand,
  GatekeeperEnclave,
  type GatekeeperEnclaveOptions,
  MASTER_KEYS_FILE,
  type MasterKeyHandoverVerdict,
  type MasterKeyRequest,
  type WorkerToJudge,
  type WorkerVerdict,
} from './enclave/enclave.js';
export { GATEKEEPER_MEASURED_DIRECTORIES, computeGatekeeperMeasurement } from './enclave/measurement.js';
export { type GatekeeperPlatformOptions, createGatekeeperPlatform } from './enclave/platform.js';
export { identityTransactionSigner } from './enclave/transaction-signer.js';

// Keys (PROTOCOL §3).
export {
  CONTRACT_KEY_SALT,
  MASTER_PUBLIC_KEY_SALT,
  deriveContractPublicKey,
  deriveContractSecretKey,
  deriveMasterPublicKey,
} from './keys/derive.js';

// Judging registrations.
export {
  type AttestationBundle,
  decodeAttestationBundle,
  encodeAttestationBundle,
} from './approvals/attestation-bundle.js';
export {
  type Judgement,
  type JudgementReason,
  type JudgementReasonCode,
  chainMeasurementOf,
  judgeCandidate,
  reasonText,
} from './approvals/judge.js';

// What gatekeepers put on chain (PhalaMq), for workers and relayers.
export { DESTINATIONS, destinationOf } from '../protocol/mq-destinations.js';
export {
  type KeyHandoverEntry,
  type KeyHandoverMessage,
  decodeKeyHandoverMessage,
  encodeKeyHandoverMessage,
  handoversFor,
} from '../protocol/key-handover-message.js';
export {
  type EvmSignatureMessage,
  type GatewaySignature,
  decodeEvmSignatureMessage,
  encodeEvmSignatureMessage,
} from './messages/evm-signature-message.js';
export {
  type AddResult,
  EvmSignatureCollector,
  type GatewayRef,
  type ReadyEvmMessage,
} from './evm/collector.js';
export { type EvmMessage, evmMessageDigest } from './evm/typed-data.js';
export {
  WORKER_REVOCATION_DESTINATION,
  WORKER_REVOCATION_DESTINATION_BYTES,
  type WorkerRevocationMessage,
  decodeWorkerRevocationMessage,
  encodeWorkerRevocationMessage,
  workerRevocationSigner,
} from './messages/worker-revocation-message.js';
export { type ReadyWorkerRevocation, WorkerRevocationCollector } from './sibling/revocation-collector.js';
export {
  type GatekeeperSetUpdate,
  type WorkerRevocation,
  gatekeeperSetUpdateDigest,
  workerRevocationDigest,
} from '../crypto/proofs.js';
export { sortAddresses } from '../evm/gateway/registry.js';

export {
  GatekeeperError,
  GatekeeperRefusalError,
  type GatekeeperRefusalReason,
  MasterKeyUnsealError,
} from './errors.js';

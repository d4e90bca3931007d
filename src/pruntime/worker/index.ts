/** The worker service's public surface (docs/pruntime-worker.md). */
export {
  type RejectionRecord,
  type StartWorkerParameters,
  type WorkerInfoView,
  type WorkerStats,
  WorkerService,
  platformConfigOf,
  engineThreadsFor,
  startWorker,
  workerConfigOf,
} from './service.js';
export { runWorker } from './run.js';
export {
  type DeferralReason,
  type RejectionReason,
  RequestDeferredError,
  RequestRejectedError,
  WorkerError,
} from './errors.js';
export { ChainReadTimeoutError, ChainReader, type ContractFacts } from './chain-reader.js';
export { type QueryBody, QueryError, type QueryResponse, queryBodySchema } from './direct-query.js';
export {
  KEY_HANDOVER_DESTINATION,
  KEY_HANDOVER_DESTINATION_BYTES,
  type KeyHandoverEntry,
  type KeyHandoverMessage,
  decodeKeyHandoverMessage,
  encodeKeyHandoverMessage,
} from '../../protocol/key-handover-message.js';
export {
  type RegistrationKind,
  type RegistrationStatus,
  registrationStatusOf,
  shouldRegister,
} from './registration.js';
export {
  type RequestCheckContext,
  checkRequest,
  contractOrigin,
  expectedRequestId,
  parseRequestJob,
  signingTarget,
} from './request-check.js';
export { RequestProcessor } from './request-processor.js';

/**
 * The EVM side of phala-bridge (viem): gateway ABI and actions, request ids, the log watcher and
 * the transaction submitter. See docs/evm.md.
 */
export * from './artifacts/index.js';
export * from './errors.js';
export * from './gateway/decode-error.js';
export * from './gateway/events.js';
export * from './gateway/fulfill.js';
export * from './gateway/fulfillment-gas.js';
export * from './gateway/fulfillment-outcomes.js';
export * from './gateway/outputs.js';
export * from './gateway/read.js';
export * from './gateway/registry.js';
export * from './gateway/request.js';
export * from './request-id.js';
export * from './rpc-errors.js';
export * from './schemas.js';
export * from './sign.js';
export * from './submitter/fees.js';
export * from './submitter/nonce-manager.js';
export * from './submitter/submit-fulfillment.js';
export * from './submitter/submit-registration.js';
export * from './submitter/submitter.js';
export * from './types.js';
export * from './watcher/watcher.js';

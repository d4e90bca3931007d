/** `phala-bridge/sdk`: seal inputs, send requests from every origin, wait for and open results. */
export * from './evm.js';
export * from './phala.js';
export * from './seal.js';
export * from './sibling.js';
export * from './deploy.js';
export * from './query.js';

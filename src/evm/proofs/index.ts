/**
 * EVM state a worker can act on without trusting any single RPC endpoint: headers k of n
 * endpoints agree on (each recomputed from its RLP) and storage proven by eth_getProof against
 * their state roots. See docs/evm.md#verified-state.
 */
export * from './errors.js';
export * from './header.js';
export * from './quorum.js';
export * from './rpc.js';
export * from './state-reader.js';
export * from './storage-proof.js';

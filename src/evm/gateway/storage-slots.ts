import type { Hex } from 'viem';
import { mappingSlot } from '../proofs/state-reader.js';

/**
 * Where PhalaBridgeGateway keeps what a worker proves with `eth_getProof`
 * (docs/ARCHITECTURE.md#trust-model). Solidity lays out the contract's state variables in order
 * after those of its bases: OpenZeppelin's EIP712 holds two (`_nameFallback`,
 * `_versionFallback`), then come `_commitments` and `_contracts`. test/evm/storage-slots.test.ts
 * checks these against a deployed gateway, so a layout change fails a test instead of every
 * request.
 */
export const COMMITMENTS_SLOT = 2n;
export const CONTRACTS_SLOT = 3n;

export const GATEWAY_SLOTS = {
  /** `_commitments[requestId]`: the pending request's commitment, zero when none. */
  commitment: (requestId: Hex): Hex => mappingSlot(requestId, COMMITMENTS_SLOT),
  /** First slot of `_contracts[contractId]`: epoch (bits 0..63), registered (bit 64). */
  contractRecord: (contractId: Hex): Hex => mappingSlot(contractId, CONTRACTS_SLOT),
};

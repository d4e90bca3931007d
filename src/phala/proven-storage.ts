import { xxhashAsU8a } from '@polkadot/util-crypto';
import { type Hex, concatBytes, equalBytes, toHex } from '../base/bytes.js';
import { ScaleReader } from './light-client/scale.js';

/**
 * The storage items a worker reads through its light client (docs/ARCHITECTURE.md#trust-model):
 * their keys, and decoders for their values. The values come out of a verified read proof, so
 * they are decoded here with their fixed layout rather than with the metadata an RPC node
 * serves: metadata is not covered by any proof, and a lying node could describe the same bytes
 * as another type. A layout that does not fit (trailing or missing bytes) is an error, never a
 * guess.
 */

const PALLET = 'PhalaContracts';

function prefix(pallet: string, item: string): Uint8Array {
  return concatBytes(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128));
}

/** `PhalaContracts.Requests(requestId)` (Identity hasher). */
export function requestStorageKey(requestId: Uint8Array): Uint8Array {
  return concatBytes(prefix(PALLET, 'Requests'), requestId);
}

/** `PhalaContracts.Results(requestId)`: present once a request was fulfilled. */
export function resultStorageKey(requestId: Uint8Array): Uint8Array {
  return concatBytes(prefix(PALLET, 'Results'), requestId);
}

/** `PhalaContracts.Contracts(contractId)`. */
export function contractStorageKey(contractId: Uint8Array): Uint8Array {
  return concatBytes(prefix(PALLET, 'Contracts'), contractId);
}

/** `PhalaContracts.ContractStates(contractId)`. */
export function contractStateStorageKey(contractId: Uint8Array): Uint8Array {
  return concatBytes(prefix(PALLET, 'ContractStates'), contractId);
}

/** `PhalaContracts.CommittedRequests(requestId)`: where an EVM request's state change landed. */
export function committedRequestStorageKey(requestId: Uint8Array): Uint8Array {
  return concatBytes(prefix(PALLET, 'CommittedRequests'), requestId);
}

/**
 * The fields of a pending request as `PhalaContracts.Requests` holds them. The origin is kept as
 * its encoded bytes (variant index ‖ payload): the worker compares it with the origin the job
 * claims, encoded the same way, so no XCM location needs decoding here.
 */
export type ProvenRequest = {
  origin: Uint8Array;
  contractId: Hex;
  sealedInputHash: Uint8Array;
  responseKey: Hex;
  deadline: number;
  nonce: bigint;
  createdAt: number;
};

/**
 * Decodes `Request { origin, contract_id, sealed_input, response_key, deadline, nonce, created_at }`
 * given the origin the job claims (`expectedOrigin`, encoded): the origin is variable-length, so
 * its bytes are checked first and the rest decoded after them. An origin that differs is
 * reported as `origin: null` so the caller can name the mismatch.
 */
export function decodeProvenRequest(
  value: Uint8Array,
  expectedOrigin: Uint8Array,
  hashInput: (input: Uint8Array) => Uint8Array,
): ProvenRequest | { origin: null } {
  if (
    value.length < expectedOrigin.length ||
    !equalBytes(value.subarray(0, expectedOrigin.length), expectedOrigin)
  )
    return { origin: null };
  const r = new ScaleReader(value, 'PhalaContracts.Requests value');
  r.take(expectedOrigin.length); // origin, compared above
  const contractId = toHex(r.take(32));
  const sealedInput = r.vecU8();
  const responseKey = toHex(r.take(32));
  const deadline = r.u32le();
  const nonce = r.u64le();
  const createdAt = r.u32le();
  r.end();
  return {
    origin: expectedOrigin,
    contractId,
    sealedInputHash: hashInput(sealedInput),
    responseKey,
    deadline,
    nonce,
    createdAt,
  };
}

export type ProvenContract = { deployer: Hex; codeHash: Hex; cluster: Hex };

/** `ContractInfo { deployer, code_hash, cluster, salt, instantiated_at }`. */
export function decodeProvenContract(value: Uint8Array): ProvenContract {
  const r = new ScaleReader(value, 'PhalaContracts.Contracts value');
  const deployer = toHex(r.take(32));
  const codeHash = toHex(r.take(32));
  const cluster = toHex(r.take(32));
  r.vecU8(); // salt
  r.u32le(); // instantiated_at
  r.end();
  return { deployer, codeHash, cluster };
}

export type ProvenContractState = { version: bigint; state: Uint8Array; stateRoot: Hex };

/** `ContractState { version, state, state_root, committed_by (33), committed_at }`. */
export function decodeProvenContractState(value: Uint8Array): ProvenContractState {
  const r = new ScaleReader(value, 'PhalaContracts.ContractStates value');
  const version = r.u64le();
  const state = r.vecU8();
  const stateRoot = toHex(r.take(32));
  r.take(33); // committed_by
  r.u32le(); // committed_at
  r.end();
  return { version, state, stateRoot };
}

/** `(contract_id, version)` of `CommittedRequests`. */
export function decodeProvenCommittedRequest(value: Uint8Array): { contractId: Hex; version: bigint } {
  const r = new ScaleReader(value, 'PhalaContracts.CommittedRequests value');
  const contractId = toHex(r.take(32));
  const version = r.u64le();
  r.end();
  return { contractId, version };
}

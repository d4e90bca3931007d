import { compactFromU8aLim, u8aToBigInt } from '@polkadot/util';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { type Hex, concatBytes, equalBytes, toHex } from '../base/bytes.js';
import { BaseError } from '../base/errors.js';

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

export class ProvenValueError extends BaseError {
  override name = 'ProvenValueError';
  constructor(item: string, detail: string) {
    super(`A proven ${item} value does not have the layout the worker expects.`, {
      details: detail,
      docsPath: '/docs/ARCHITECTURE.md#trust-model',
    });
  }
}

/** Reads a SCALE value front to back; every read is bounds-checked. */
class Reader {
  #at = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly item: string,
  ) {}
  take(n: number, what: string): Uint8Array {
    if (this.#at + n > this.bytes.length) throw new ProvenValueError(this.item, `${what}: truncated`);
    const out = this.bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  u32(what: string): number {
    return Number(u8aToBigInt(this.take(4, what), { isLe: true }));
  }
  u64(what: string): bigint {
    return u8aToBigInt(this.take(8, what), { isLe: true });
  }
  compactBytes(what: string): Uint8Array {
    const [offset, length] = compactFromU8aLim(this.bytes.subarray(this.#at));
    if (offset === 0) throw new ProvenValueError(this.item, `${what}: bad length prefix`);
    this.#at += offset;
    return this.take(length, what);
  }
  get remaining(): number {
    return this.bytes.length - this.#at;
  }
  end(): void {
    if (this.remaining !== 0) throw new ProvenValueError(this.item, `${this.remaining} trailing bytes`);
  }
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
  const r = new Reader(value, 'PhalaContracts.Requests');
  r.take(expectedOrigin.length, 'origin');
  const contractId = toHex(r.take(32, 'contract_id'));
  const sealedInput = r.compactBytes('sealed_input');
  const responseKey = toHex(r.take(32, 'response_key'));
  const deadline = r.u32('deadline');
  const nonce = r.u64('nonce');
  const createdAt = r.u32('created_at');
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
  const r = new Reader(value, 'PhalaContracts.Contracts');
  const deployer = toHex(r.take(32, 'deployer'));
  const codeHash = toHex(r.take(32, 'code_hash'));
  const cluster = toHex(r.take(32, 'cluster'));
  r.compactBytes('salt');
  r.u32('instantiated_at');
  r.end();
  return { deployer, codeHash, cluster };
}

export type ProvenContractState = { version: bigint; state: Uint8Array; stateRoot: Hex };

/** `ContractState { version, state, state_root, committed_by (33), committed_at }`. */
export function decodeProvenContractState(value: Uint8Array): ProvenContractState {
  const r = new Reader(value, 'PhalaContracts.ContractStates');
  const version = r.u64('version');
  const state = r.compactBytes('state');
  const stateRoot = toHex(r.take(32, 'state_root'));
  r.take(33, 'committed_by');
  r.u32('committed_at');
  r.end();
  return { version, state, stateRoot };
}

/** `(contract_id, version)` of `CommittedRequests`. */
export function decodeProvenCommittedRequest(value: Uint8Array): { contractId: Hex; version: bigint } {
  const r = new Reader(value, 'PhalaContracts.CommittedRequests');
  const contractId = toHex(r.take(32, 'contract_id'));
  const version = r.u64('version');
  r.end();
  return { contractId, version };
}

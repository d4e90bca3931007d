import { compactAddLength, stringToU8a } from '@polkadot/util';
import { type Address, domainSeparator, hashStruct } from 'viem';
import { type Hex, concatBytes, fromHex, toHex } from '../base/bytes.js';
import { BoundedCache } from '../base/bounded-cache.js';
import { InvalidInputError } from '../base/errors.js';
import { blake2_256, keccak256 } from './hash.js';
import { buildMerkleTree } from './merkle.js';
import {
  isEthereumSignatureBy,
  isSubstrateSignatureBy,
  recoverAddressEthereum,
  recoverPublicKeySubstrate,
  signDigestEthereum,
  signDigestSubstrate,
} from './signatures.js';

/** Proofs of a result (docs/PROTOCOL.md §4): EIP-712 for EVM gateways, blake2 + ECDSA for Substrate. */

export type GatewayDomain = { chainId: number | bigint; verifyingContract: Address };

export const eip712Types = {
  Fulfillment: [
    { name: 'requestId', type: 'bytes32' },
    { name: 'publicOutputHash', type: 'bytes32' },
    { name: 'sealedOutputHash', type: 'bytes32' },
    { name: 'stateRoot', type: 'bytes32' },
  ],
  FulfillmentBatch: [
    { name: 'root', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
  ],
  WorkerRegistration: [
    { name: 'worker', type: 'address' },
    { name: 'measurement', type: 'bytes32' },
    { name: 'cluster', type: 'bytes32' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'epoch', type: 'uint64' },
  ],
  // Beyond the design sketch: the gateway learns a contract's cluster (whose workers may answer
  // it) and its X25519 public key (what clients seal inputs to) from gatekeeper signatures too.
  ContractRegistration: [
    { name: 'contractId', type: 'bytes32' },
    { name: 'cluster', type: 'bytes32' },
    { name: 'publicKey', type: 'bytes32' },
    { name: 'epoch', type: 'uint64' },
  ],
  // Gateway governance, also signed by a gatekeeper threshold: revoking every registration of a
  // worker that expires at or before `revokeUpTo`, and handing over to a new set at `epoch`.
  WorkerRevocation: [
    { name: 'worker', type: 'address' },
    { name: 'revokeUpTo', type: 'uint64' },
    { name: 'epoch', type: 'uint64' },
  ],
  GatekeeperSetUpdate: [
    { name: 'gatekeepers', type: 'address[]' },
    { name: 'threshold', type: 'uint16' },
    { name: 'epoch', type: 'uint64' },
  ],
} as const;

function domain(d: GatewayDomain) {
  return {
    name: 'PhalaBridgeGateway',
    version: '1',
    chainId: BigInt(d.chainId),
    verifyingContract: d.verifyingContract,
  };
}

// A relayer hashes every result's EIP-712 message for the same one or two gateways: their domain
// separators are kept instead of being hashed again each time (viem's hashTypedData does).
const separators = new BoundedCache<string, Uint8Array>(64);
function domainSeparatorOf(d: GatewayDomain): Uint8Array {
  return separators.get(`${d.chainId}:${d.verifyingContract.toLowerCase()}`, () =>
    fromHex(domainSeparator({ domain: domain(d) })),
  );
}

type PrimaryType = Exclude<keyof typeof eip712Types, 'EIP712Domain'>;

/** keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message)): what hashTypedData gives. */
function typedDigest(d: GatewayDomain, primaryType: PrimaryType, message: Record<string, unknown>): Hex {
  // The exported digests type each message; hashStruct's own typing wants one primary type.
  const struct = fromHex(
    hashStruct({ data: message, primaryType, types: eip712Types } as Parameters<typeof hashStruct>[0]),
  );
  return toHex(keccak256(concatBytes(Uint8Array.of(0x19, 0x01), domainSeparatorOf(d), struct)));
}

export type Fulfillment = { requestId: Hex; publicOutputHash: Hex; sealedOutputHash: Hex; stateRoot: Hex };
export type WorkerRegistration = {
  worker: Address;
  measurement: Hex;
  cluster: Hex;
  expiresAt: bigint;
  epoch: bigint;
};
export type ContractRegistration = { contractId: Hex; cluster: Hex; publicKey: Hex; epoch: bigint };
export type WorkerRevocation = { worker: Address; revokeUpTo: bigint; epoch: bigint };
/** `gatekeepers` in ascending address order, as the gateway requires. */
export type GatekeeperSetUpdate = { gatekeepers: readonly Address[]; threshold: number; epoch: bigint };

/** Builds the Fulfillment fields from the outputs themselves. */
export function fulfillmentOf(
  requestId: Hex,
  publicOutput: Uint8Array,
  sealedOutput: Uint8Array,
  stateRoot: Hex,
): Fulfillment {
  return {
    requestId,
    publicOutputHash: toHex(keccak256(publicOutput)),
    sealedOutputHash: toHex(keccak256(sealedOutput)),
    stateRoot,
  };
}

export function fulfillmentDigest(d: GatewayDomain, message: Fulfillment): Hex {
  return typedDigest(d, 'Fulfillment', message);
}

export function fulfillmentBatchDigest(d: GatewayDomain, root: Hex, count: number): Hex {
  return typedDigest(d, 'FulfillmentBatch', { root, count });
}

export function workerRegistrationDigest(d: GatewayDomain, message: WorkerRegistration): Hex {
  return typedDigest(d, 'WorkerRegistration', message);
}

export function contractRegistrationDigest(d: GatewayDomain, message: ContractRegistration): Hex {
  return typedDigest(d, 'ContractRegistration', message);
}

export function workerRevocationDigest(d: GatewayDomain, message: WorkerRevocation): Hex {
  return typedDigest(d, 'WorkerRevocation', message);
}

export function gatekeeperSetUpdateDigest(d: GatewayDomain, message: GatekeeperSetUpdate): Hex {
  return typedDigest(d, 'GatekeeperSetUpdate', message);
}

/** Signs an EIP-712 digest; returns the 65-byte r ‖ s ‖ v signature as hex. */
export function signTypedDigest(digest: Hex, secretKey: Uint8Array): Hex {
  return toHex(signDigestEthereum(fromHex(digest, 'digest', 32), secretKey));
}

export function recoverTypedSigner(digest: Hex, signature: Hex): Address | null {
  return recoverAddressEthereum(fromHex(digest, 'digest', 32), fromHex(signature, 'signature'));
}

/**
 * Whether `publicKey` made this EIP-712 signature (as `recoverTypedSigner` would say), checked the
 * fast way for keys seen over and over (the relayer's workers). False for malformed input.
 */
export function isTypedSignatureBy(digest: Hex, signature: Hex, publicKey: Uint8Array): boolean {
  try {
    return isEthereumSignatureBy(fromHex(digest, 'digest', 32), fromHex(signature, 'signature'), publicKey);
  } catch {
    return false;
  }
}

/**
 * A result's item hash: keccak256(abi.encode(requestId, publicOutputHash, sealedOutputHash,
 * stateRoot)). What names a result to the enclave's batch signer; the batch leaf adds its place
 * (`batchLeaf`).
 */
export function fulfillmentLeaf(f: Fulfillment): Uint8Array {
  return keccak256(
    concatBytes(
      fromHex(f.requestId, 'requestId', 32),
      fromHex(f.publicOutputHash, 'publicOutputHash', 32),
      fromHex(f.sealedOutputHash, 'sealedOutputHash', 32),
      fromHex(f.stateRoot, 'stateRoot', 32),
    ),
  );
}

/**
 * Item `index`'s batch leaf: keccak256(abi.encode(uint256 index, itemHash)). The index makes the
 * order of a batch the worker's: a relayer that reorders the items changes every moved leaf.
 */
export function batchLeaf(index: number, itemHash: Uint8Array): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff)
    throw new InvalidInputError('index', 'a batch index (uint32)');
  if (itemHash.length !== 32) throw new InvalidInputError('itemHash', '32 bytes');
  const word = new Uint8Array(32);
  new DataView(word.buffer).setUint32(28, index);
  return keccak256(concatBytes(word, itemHash));
}

/** The `FulfillmentBatch` root of item hashes in batch order (PROTOCOL §4), as the gateway rebuilds it. */
export function fulfillmentBatchRoot(itemHashes: readonly Uint8Array[]): Uint8Array {
  return buildMerkleTree(itemHashes.map((h, i) => batchLeaf(i, h))).root;
}

const SUBSTRATE_FULFILL_TAG = compactAddLength(stringToU8a('phala-bridge/fulfill/v1'));
const SUBSTRATE_FULFILL_STATE_TAG = compactAddLength(stringToU8a('phala-bridge/fulfill/v2'));

/**
 * The new contract state a Substrate result brings with it (PROTOCOL §4): the version it extends
 * and blake2_256 of the sealed state. A result that carries one is signed under the v2 tag, so its
 * signature is good only together with that very state: the answer cannot land without it.
 */
export type FulfillmentStateCommit = { expectedVersion: bigint; stateHash: Uint8Array };

export type SubstrateFulfillment = {
  genesisHash: Uint8Array;
  requestId: Uint8Array;
  publicOutput: Uint8Array;
  sealedOutput: Uint8Array;
  stateRoot: Uint8Array;
  /** Absent or null: a result that changes no state (v1 payload). */
  stateCommit?: FulfillmentStateCommit | null | undefined;
};

/**
 * SCALE("phala-bridge/fulfill/v1", genesisHash, requestId, publicOutput, sealedOutput, stateRoot),
 * or, with a state commit, SCALE("phala-bridge/fulfill/v2", the same fields, expectedVersion u64,
 * blake2_256(state) [u8;32]).
 */
export function substrateFulfillmentPayload(f: SubstrateFulfillment): Uint8Array {
  for (const [field, value] of [
    ['genesisHash', f.genesisHash],
    ['requestId', f.requestId],
    ['stateRoot', f.stateRoot],
  ] as const) {
    if (value.length !== 32) throw new InvalidInputError(field, '32 bytes');
  }
  const fields = [
    f.genesisHash,
    f.requestId,
    compactAddLength(f.publicOutput),
    compactAddLength(f.sealedOutput),
    f.stateRoot,
  ];
  const commit = f.stateCommit;
  if (!commit) return concatBytes(SUBSTRATE_FULFILL_TAG, ...fields);
  if (commit.stateHash.length !== 32) throw new InvalidInputError('stateCommit.stateHash', '32 bytes');
  if (commit.expectedVersion < 0n || commit.expectedVersion >= 1n << 64n)
    throw new InvalidInputError('stateCommit.expectedVersion', 'a u64');
  const version = new Uint8Array(8);
  new DataView(version.buffer).setBigUint64(0, commit.expectedVersion, true);
  return concatBytes(SUBSTRATE_FULFILL_STATE_TAG, ...fields, version, commit.stateHash);
}

export function signSubstrateFulfillment(f: SubstrateFulfillment, secretKey: Uint8Array): Uint8Array {
  return signDigestSubstrate(blake2_256(substrateFulfillmentPayload(f)), secretKey);
}

/** The compressed secp256k1 key that signed this fulfillment, or null if the signature is malformed. */
export function recoverSubstrateFulfillmentSigner(
  f: SubstrateFulfillment,
  signature: Uint8Array,
): Uint8Array | null {
  return recoverPublicKeySubstrate(blake2_256(substrateFulfillmentPayload(f)), signature);
}

/** Whether `publicKey` signed this fulfillment (as recovery would say), the fast way. */
export function isSubstrateFulfillmentSignedBy(
  f: SubstrateFulfillment,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  return isSubstrateSignatureBy(blake2_256(substrateFulfillmentPayload(f)), signature, publicKey);
}

const QUERY_ANSWER_TAG = compactAddLength(stringToU8a('phala-bridge/query/v1'));

/**
 * What a worker signs (Substrate-style) for a direct query's answer:
 * blake2_256(SCALE("phala-bridge/query/v1", contractId, queryId, blake2_256(sealedOutput))).
 */
export function queryAnswerDigest(
  contractId: Uint8Array,
  queryId: Uint8Array,
  sealedOutput: Uint8Array,
): Uint8Array {
  return blake2_256(concatBytes(QUERY_ANSWER_TAG, contractId, queryId, blake2_256(sealedOutput)));
}

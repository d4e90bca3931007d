import { compactAddLength, compactToU8a, stringToU8a } from '@polkadot/util';
import { concatBytes } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { blake2_256 } from '../crypto/hash.js';
import { recoverPublicKeySubstrate, signDigestSubstrate } from '../crypto/signatures.js';

/**
 * What gatekeepers and workers sign for the Phala-style chain (docs/substrate-devnode.md §
 * "Signed payloads"): SCALE of a domain tag, the chain's genesis hash (so a signature is good on
 * one chain only), then the fields. The signature is Substrate ECDSA over blake2_256(payload),
 * r ‖ s ‖ recovery id, from the signer's secp256k1 identity key; the pallet recovers the key.
 */

export const PAYLOAD_TAGS = {
  approveWorker: 'phala-bridge/approve-worker/v1',
  rejectWorker: 'phala-bridge/reject-worker/v1',
  revokeWorker: 'phala-bridge/revoke-worker/v1',
  masterKey: 'phala-bridge/master-key/v1',
  contractKey: 'phala-bridge/contract-key/v1',
  commitState: 'phala-bridge/commit-state/v2',
  mqMessage: 'phala-bridge/mq/v1',
} as const;

function tag(name: keyof typeof PAYLOAD_TAGS): Uint8Array {
  return compactAddLength(stringToU8a(PAYLOAD_TAGS[name]));
}

function fixed(value: Uint8Array, length: number, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length)
    throw new InvalidInputError(field, `${length} bytes`);
  return value;
}

function u64(value: bigint, field: string): Uint8Array {
  if (value < 0n || value >= 2n ** 64n) throw new InvalidInputError(field, 'a u64');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

function u32(value: number, field: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new InvalidInputError(field, 'a u32');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export type WorkerApproval = {
  genesisHash: Uint8Array;
  /** The worker's compressed secp256k1 key (33 bytes). */
  worker: Uint8Array;
  x25519: Uint8Array;
  cluster: Uint8Array;
  /** The measurement the gatekeeper found in the worker's attestation. */
  measurement: Uint8Array;
  /** Unix seconds. */
  expiresAt: bigint;
  /** The block the registration being approved was made in (binds the approval to it). */
  registeredAt: number;
};

export function workerApprovalPayload(a: WorkerApproval): Uint8Array {
  return concatBytes(
    tag('approveWorker'),
    fixed(a.genesisHash, 32, 'genesisHash'),
    fixed(a.worker, 33, 'worker'),
    fixed(a.x25519, 32, 'x25519'),
    fixed(a.cluster, 32, 'cluster'),
    fixed(a.measurement, 32, 'measurement'),
    u64(a.expiresAt, 'expiresAt'),
    u32(a.registeredAt, 'registeredAt'),
  );
}

export type WorkerVerdict = {
  genesisHash: Uint8Array;
  worker: Uint8Array;
  registeredAt: number;
  reason: Uint8Array;
};

export function workerRejectionPayload(r: WorkerVerdict): Uint8Array {
  return concatBytes(
    tag('rejectWorker'),
    fixed(r.genesisHash, 32, 'genesisHash'),
    fixed(r.worker, 33, 'worker'),
    u32(r.registeredAt, 'registeredAt'),
    compactAddLength(r.reason),
  );
}

export function workerRevocationPayload(r: WorkerVerdict): Uint8Array {
  return concatBytes(
    tag('revokeWorker'),
    fixed(r.genesisHash, 32, 'genesisHash'),
    fixed(r.worker, 33, 'worker'),
    u32(r.registeredAt, 'registeredAt'),
    compactAddLength(r.reason),
  );
}

export type MasterKeyRotation = { genesisHash: Uint8Array; publicKey: Uint8Array; epoch: bigint };

export function masterKeyPayload(m: MasterKeyRotation): Uint8Array {
  return concatBytes(
    tag('masterKey'),
    fixed(m.genesisHash, 32, 'genesisHash'),
    compactAddLength(m.publicKey),
    u64(m.epoch, 'epoch'),
  );
}

export type ContractKeyPublication = {
  genesisHash: Uint8Array;
  contractId: Uint8Array;
  publicKey: Uint8Array;
  epoch: bigint;
};

export function contractKeyPayload(c: ContractKeyPublication): Uint8Array {
  return concatBytes(
    tag('contractKey'),
    fixed(c.genesisHash, 32, 'genesisHash'),
    fixed(c.contractId, 32, 'contractId'),
    fixed(c.publicKey, 32, 'publicKey'),
    u64(c.epoch, 'epoch'),
  );
}

/**
 * A state commit for requests the Phala-style chain cannot see (EVM origins): the requests it
 * answers are named and signed with it, so a commit is tied to the results that made it. (v2:
 * v1 named none, and could be submitted apart from any request.) Requests that live in
 * `PhalaContracts.Requests` bring their state with their fulfilment instead (PROTOCOL §4).
 */
export type StateCommit = {
  genesisHash: Uint8Array;
  contractId: Uint8Array;
  expectedVersion: bigint;
  /** The sealed state itself; the payload holds its blake2_256. */
  state: Uint8Array;
  stateRoot: Uint8Array;
  /** The request ids (32 bytes each) whose results made this state, in the order they ran. */
  requestIds: readonly Uint8Array[];
};

/**
 * SCALE("phala-bridge/commit-state/v2", genesisHash, contractId, expectedVersion u64,
 * blake2_256(state), stateRoot, requestIds Vec<[u8;32]>).
 */
export function stateCommitPayload(s: StateCommit): Uint8Array {
  return concatBytes(
    tag('commitState'),
    fixed(s.genesisHash, 32, 'genesisHash'),
    fixed(s.contractId, 32, 'contractId'),
    u64(s.expectedVersion, 'expectedVersion'),
    blake2_256(s.state),
    fixed(s.stateRoot, 32, 'stateRoot'),
    compactToU8a(s.requestIds.length),
    ...s.requestIds.map((id, i) => fixed(id, 32, `requestIds[${i}]`)),
  );
}

/** The sender of an mq message: a worker or gatekeeper, by its secp256k1 key. */
export type MessageSender = { kind: 'worker' | 'gatekeeper'; key: Uint8Array };

/** SCALE of `MessageOrigin`: Worker(0) / Gatekeeper(1), then the 33-byte key. */
export function encodeMessageSender(sender: MessageSender): Uint8Array {
  return concatBytes(Uint8Array.of(sender.kind === 'worker' ? 0 : 1), fixed(sender.key, 33, 'sender key'));
}

export type MqMessage = {
  genesisHash: Uint8Array;
  sender: MessageSender;
  destination: Uint8Array;
  sequence: bigint;
  payload: Uint8Array;
};

export function mqMessagePayload(m: MqMessage): Uint8Array {
  return concatBytes(
    tag('mqMessage'),
    fixed(m.genesisHash, 32, 'genesisHash'),
    encodeMessageSender(m.sender),
    compactAddLength(m.destination),
    u64(m.sequence, 'sequence'),
    compactAddLength(m.payload),
  );
}

/** Signs a payload with a secp256k1 identity key: 65 bytes, r ‖ s ‖ recovery id. */
export function signPayload(payload: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return signDigestSubstrate(blake2_256(payload), secretKey);
}

/** The compressed secp256k1 key that signed a payload, or null for a malformed signature. */
export function recoverPayloadSigner(payload: Uint8Array, signature: Uint8Array): Uint8Array | null {
  return recoverPublicKeySubstrate(blake2_256(payload), signature);
}

import type { Codec } from '@polkadot/types/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import type { Hex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import type { PhalaClient } from '../client.js';
import { ChainDataError } from '../errors.js';
import {
  contractKeyPayload,
  masterKeyPayload,
  signPayload,
  workerApprovalPayload,
  workerRejectionPayload,
  workerRevocationPayload,
} from '../payloads.js';
import { plainOf } from '../plain.js';
import type { Signer, SubmitResult } from '../submit.js';
import {
  type ContractKey,
  type GatekeeperInfo,
  type MasterKey,
  type WorkerInfo,
  contractKeySchema,
  gatekeeperInfoSchema,
  masterKeySchema,
  parseChainData,
  workerInfoSchema,
} from '../types.js';
import {
  type ActionOptions,
  type Bytes,
  bytesOf,
  hexOf,
  queryPlain,
  submitFor,
  submitSudo,
} from './common.js';

/** PhalaRegistry: transactions, gatekeeper signatures and queries. */

type Query = (...args: unknown[]) => Promise<Codec>;
const q = (client: PhalaClient) =>
  client.api.query.phalaRegistry as unknown as Record<
    string,
    Query & { entries(): Promise<[{ args: Codec[] }, Codec][]> }
  >;
const tx = (client: PhalaClient) => client.api.tx.phalaRegistry!;

// ------------------------------------------------------------------ root (sudo) administration

export function addGatekeeper(
  client: PhalaClient,
  p: { sudo: Signer; gatekeeper: Bytes; x25519: Bytes; account: Bytes } & ActionOptions,
): Promise<SubmitResult> {
  const call = tx(client).addGatekeeper!(
    hexOf(p.gatekeeper, 'gatekeeper', 33),
    hexOf(p.x25519, 'x25519', 32),
    hexOf(p.account, 'account', 32),
  );
  return submitSudo(client, call, p.sudo, p);
}

export function removeGatekeeper(
  client: PhalaClient,
  p: { sudo: Signer; gatekeeper: Bytes } & ActionOptions,
): Promise<SubmitResult> {
  return submitSudo(client, tx(client).removeGatekeeper!(hexOf(p.gatekeeper, 'gatekeeper', 33)), p.sudo, p);
}

export function addMeasurement(
  client: PhalaClient,
  p: { sudo: Signer; measurement: Bytes } & ActionOptions,
): Promise<SubmitResult> {
  return submitSudo(client, tx(client).addMeasurement!(hexOf(p.measurement, 'measurement', 32)), p.sudo, p);
}

export function removeMeasurement(
  client: PhalaClient,
  p: { sudo: Signer; measurement: Bytes } & ActionOptions,
): Promise<SubmitResult> {
  return submitSudo(
    client,
    tx(client).removeMeasurement!(hexOf(p.measurement, 'measurement', 32)),
    p.sudo,
    p,
  );
}

export function setApprovalThreshold(
  client: PhalaClient,
  p: { sudo: Signer; threshold: number } & ActionOptions,
): Promise<SubmitResult> {
  return submitSudo(client, tx(client).setApprovalThreshold!(p.threshold), p.sudo, p);
}

export function forceRevokeWorker(
  client: PhalaClient,
  p: { sudo: Signer; worker: Bytes; reason: string } & ActionOptions,
): Promise<SubmitResult> {
  return submitSudo(
    client,
    tx(client).forceRevokeWorker!(hexOf(p.worker, 'worker', 33), utf8Hex(p.reason)),
    p.sudo,
    p,
  );
}

// ------------------------------------------------------------------ workers

/**
 * Registers the signer as a worker: the signer must be the ecdsa account of the worker's
 * secp256k1 identity key (its public key is the worker key).
 */
export function registerWorker(
  client: PhalaClient,
  p: { signer: Signer; x25519: Bytes; cluster: Bytes; attestation: Bytes } & ActionOptions,
) {
  if (p.signer.publicKey.length !== 33) {
    throw new InvalidInputError(
      'signer',
      "the ecdsa account of the worker's secp256k1 key (see ecdsaSigner)",
    );
  }
  const call = tx(client).registerWorker!(
    u8aToHex(p.signer.publicKey),
    hexOf(p.x25519, 'x25519', 32),
    hexOf(p.cluster, 'cluster', 32),
    hexOf(p.attestation, 'attestation'),
  );
  return submitFor(client, call, p.signer, 'WorkerRegistered', p);
}

/** A gatekeeper's approval signature for the worker's current registration (read from chain). */
export async function signWorkerApproval(
  client: PhalaClient,
  p: { gatekeeperSecretKey: Uint8Array; worker: Bytes; measurement: Bytes; expiresAt: bigint },
): Promise<Hex> {
  const worker = await getWorker(client, p.worker);
  if (!worker) throw new ChainDataError(`worker ${hexOf(p.worker, 'worker', 33)} is not registered`);
  const payload = workerApprovalPayload({
    genesisHash: client.genesisHash,
    worker: bytesOf(p.worker, 'worker'),
    x25519: hexToU8a(worker.x25519),
    cluster: hexToU8a(worker.cluster),
    measurement: bytesOf(p.measurement, 'measurement'),
    expiresAt: p.expiresAt,
    registeredAt: worker.registeredAt,
  });
  return u8aToHex(signPayload(payload, p.gatekeeperSecretKey)) as Hex;
}

/** Submits a gatekeeper's approval (anyone may submit it; the signature is what counts). */
export function approveWorker(
  client: PhalaClient,
  p: {
    signer: Signer;
    worker: Bytes;
    measurement: Bytes;
    expiresAt: bigint;
    signature: Bytes;
  } & ActionOptions,
) {
  const call = tx(client).approveWorker!(
    hexOf(p.worker, 'worker', 33),
    hexOf(p.measurement, 'measurement', 32),
    p.expiresAt,
    hexOf(p.signature, 'signature', 65),
  );
  return submitFor(client, call, p.signer, 'WorkerApprovalAdded', p);
}

export async function signWorkerRejection(
  client: PhalaClient,
  p: { gatekeeperSecretKey: Uint8Array; worker: Bytes; reason: string },
): Promise<Hex> {
  const worker = await getWorker(client, p.worker);
  if (!worker) throw new ChainDataError(`worker ${hexOf(p.worker, 'worker', 33)} is not registered`);
  const payload = workerRejectionPayload({
    genesisHash: client.genesisHash,
    worker: bytesOf(p.worker, 'worker'),
    registeredAt: worker.registeredAt,
    reason: new TextEncoder().encode(p.reason),
  });
  return u8aToHex(signPayload(payload, p.gatekeeperSecretKey)) as Hex;
}

export function rejectWorker(
  client: PhalaClient,
  p: { signer: Signer; worker: Bytes; reason: string; signature: Bytes } & ActionOptions,
) {
  const call = tx(client).rejectWorker!(
    hexOf(p.worker, 'worker', 33),
    utf8Hex(p.reason),
    hexOf(p.signature, 'signature', 65),
  );
  return submitFor(client, call, p.signer, 'WorkerRejected', p);
}

export async function signWorkerRevocation(
  client: PhalaClient,
  p: { gatekeeperSecretKey: Uint8Array; worker: Bytes; reason: string },
): Promise<Hex> {
  const worker = await getWorker(client, p.worker);
  if (!worker) throw new ChainDataError(`worker ${hexOf(p.worker, 'worker', 33)} is not registered`);
  const payload = workerRevocationPayload({
    genesisHash: client.genesisHash,
    worker: bytesOf(p.worker, 'worker'),
    registeredAt: worker.registeredAt,
    reason: new TextEncoder().encode(p.reason),
  });
  return u8aToHex(signPayload(payload, p.gatekeeperSecretKey)) as Hex;
}

export function revokeWorker(
  client: PhalaClient,
  p: { signer: Signer; worker: Bytes; reason: string; signature: Bytes } & ActionOptions,
) {
  const call = tx(client).revokeWorker!(
    hexOf(p.worker, 'worker', 33),
    utf8Hex(p.reason),
    hexOf(p.signature, 'signature', 65),
  );
  return submitFor(client, call, p.signer, 'WorkerRevoked', p);
}

// ------------------------------------------------------------------ keys

export function signMasterKeyRotation(
  client: PhalaClient,
  p: { gatekeeperSecretKey: Uint8Array; publicKey: Bytes; epoch: bigint },
): Hex {
  const payload = masterKeyPayload({
    genesisHash: client.genesisHash,
    publicKey: bytesOf(p.publicKey, 'publicKey'),
    epoch: p.epoch,
  });
  return u8aToHex(signPayload(payload, p.gatekeeperSecretKey)) as Hex;
}

export function rotateMasterKey(
  client: PhalaClient,
  p: { signer: Signer; publicKey: Bytes; epoch: bigint; signature: Bytes } & ActionOptions,
) {
  const call = tx(client).rotateMasterKey!(
    hexOf(p.publicKey, 'publicKey'),
    p.epoch,
    hexOf(p.signature, 'signature', 65),
  );
  return submitFor(client, call, p.signer, 'MasterKeyRotated', p);
}

export function signContractKeyPublication(
  client: PhalaClient,
  p: { gatekeeperSecretKey: Uint8Array; contractId: Bytes; publicKey: Bytes; epoch: bigint },
): Hex {
  const payload = contractKeyPayload({
    genesisHash: client.genesisHash,
    contractId: bytesOf(p.contractId, 'contractId'),
    publicKey: bytesOf(p.publicKey, 'publicKey'),
    epoch: p.epoch,
  });
  return u8aToHex(signPayload(payload, p.gatekeeperSecretKey)) as Hex;
}

export function publishContractKey(
  client: PhalaClient,
  p: { signer: Signer; contractId: Bytes; publicKey: Bytes; epoch: bigint; signature: Bytes } & ActionOptions,
) {
  const call = tx(client).publishContractKey!(
    hexOf(p.contractId, 'contractId', 32),
    hexOf(p.publicKey, 'publicKey', 32),
    p.epoch,
    hexOf(p.signature, 'signature', 65),
  );
  return submitFor(client, call, p.signer, 'ContractKeyPublished', p);
}

// ------------------------------------------------------------------ queries

export async function getWorker(client: PhalaClient, worker: Bytes): Promise<WorkerInfo | null> {
  const value = await queryPlain(q(client).workers!, hexOf(worker, 'worker', 33));
  return value === null ? null : parseChainData(workerInfoSchema, value, 'PhalaRegistry.Workers');
}

/**
 * Whether a worker may serve a cluster right now: approved for that cluster, unexpired, and its
 * measurement still on the allowlist (a measurement can be withdrawn after approval).
 */
export async function isWorkerApprovedFor(
  client: PhalaClient,
  p: { cluster: Bytes; worker: Bytes; now?: Date },
): Promise<boolean> {
  const info = await getWorker(client, p.worker);
  if (info?.status.kind !== 'approved') return false;
  if (info.cluster.toLowerCase() !== hexOf(p.cluster, 'cluster', 32).toLowerCase()) return false;
  const now = BigInt(Math.floor((p.now ?? new Date()).getTime() / 1000));
  if (BigInt(info.status.expiresAt) <= now) return false;
  return isMeasurementAllowed(client, info.status.measurement);
}

export async function listWorkers(client: PhalaClient): Promise<{ worker: Hex; info: WorkerInfo }[]> {
  const entries = await q(client).workers!.entries();
  return entries.map(([key, value]) => ({
    worker: plainOf(key.args[0]!) as Hex,
    info: parseChainData(workerInfoSchema, plainOf(unwrap(value)), 'PhalaRegistry.Workers'),
  }));
}

export async function getGatekeeper(client: PhalaClient, gatekeeper: Bytes): Promise<GatekeeperInfo | null> {
  const value = await queryPlain(q(client).gatekeepers!, hexOf(gatekeeper, 'gatekeeper', 33));
  return value === null ? null : parseChainData(gatekeeperInfoSchema, value, 'PhalaRegistry.Gatekeepers');
}

export async function listGatekeepers(
  client: PhalaClient,
): Promise<{ gatekeeper: Hex; info: GatekeeperInfo }[]> {
  const entries = await q(client).gatekeepers!.entries();
  return entries.map(([key, value]) => ({
    gatekeeper: plainOf(key.args[0]!) as Hex,
    info: parseChainData(gatekeeperInfoSchema, plainOf(unwrap(value)), 'PhalaRegistry.Gatekeepers'),
  }));
}

export async function isMeasurementAllowed(client: PhalaClient, measurement: Bytes): Promise<boolean> {
  return (await queryPlain(q(client).allowedMeasurements!, hexOf(measurement, 'measurement', 32))) !== null;
}

export async function listMeasurements(client: PhalaClient): Promise<Hex[]> {
  const entries = await q(client).allowedMeasurements!.entries();
  return entries.map(([key]) => plainOf(key.args[0]!) as Hex);
}

export async function getApprovalThreshold(client: PhalaClient): Promise<number> {
  return Number(await queryPlain(q(client).approvalThreshold!));
}

export async function getMasterKey(client: PhalaClient): Promise<MasterKey | null> {
  const value = await queryPlain(q(client).masterKey!);
  return value === null ? null : parseChainData(masterKeySchema, value, 'PhalaRegistry.MasterKey');
}

export async function getContractKey(client: PhalaClient, contractId: Bytes): Promise<ContractKey | null> {
  const value = await queryPlain(q(client).contractKeys!, hexOf(contractId, 'contractId', 32));
  return value === null ? null : parseChainData(contractKeySchema, value, 'PhalaRegistry.ContractKeys');
}

/** A contract's public key at a given epoch (kept after rotation, to open old state). */
export async function getContractKeyAt(
  client: PhalaClient,
  contractId: Bytes,
  epoch: bigint,
): Promise<Hex | null> {
  const value = await queryPlain(q(client).contractKeyHistory!, hexOf(contractId, 'contractId', 32), epoch);
  return value === null ? null : (value as Hex);
}

function unwrap(value: Codec): Codec {
  const v = value as Codec & { isSome?: boolean; unwrap?: () => Codec };
  return typeof v.isSome === 'boolean' && v.unwrap ? v.unwrap() : value;
}

function utf8Hex(text: string): Hex {
  return u8aToHex(new TextEncoder().encode(text)) as Hex;
}

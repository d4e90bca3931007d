import { secp256k1 } from '@noble/curves/secp256k1.js';
import { freshnessBlockOf } from '../../../../crypto/attestation-bundle.js';
import { blake2_256 } from '../../../../crypto/hash.js';
import { QUOTE_FRESHNESS_BLOCKS } from '../../../../crypto/report-data.js';
import {
  contractKeyPayload,
  masterKeyPayload,
  recoverPayloadSigner,
  workerApprovalPayload,
  workerRejectionPayload,
  workerRevocationPayload,
} from '../../../../phala/payloads.js';
import type { CallContext, Env } from '../../runtime/context.js';
import { DispatchFailure } from '../../runtime/errors.js';
import {
  type Pallet,
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageDoubleMap,
  storageMap,
  storageValue,
  weight,
} from '../../runtime/pallet.js';
import { AccountId, BlockNumber, H256 } from '../../runtime/types.js';
import { type Infer, t } from '../../scale/ty.js';
import { System } from '../system.js';
import { now } from '../timestamp.js';
import { EcdsaSignature, WorkerPublicKey, X25519PublicKey } from './types.js';

/**
 * PhalaRegistry: gatekeepers and their keys, the allowlist of pRuntime measurements, workers
 * (registered with an attestation by their own ecdsa account, approved by gatekeeper signatures,
 * k of n, until an expiry; rejected or revoked with a reason), the master public key and its epoch,
 * and contracts' public keys. Gatekeeper actions carry the gatekeeper's signature over a
 * genesis-bound payload (src/phala/payloads.ts), so anyone (the gatekeeper itself, a relayer) may
 * submit them.
 */

export const PHALA_REGISTRY = 'PhalaRegistry';
const CRATE = 'pallet_phala_registry';

export const GatekeeperInfo = t.struct(`${CRATE}::GatekeeperInfo`, {
  account: AccountId,
  x25519: X25519PublicKey,
  addedAt: BlockNumber,
});
export const WorkerStatus = t.enum(`${CRATE}::WorkerStatus`, {
  Pending: {},
  Approved: { fields: { measurement: H256, expiresAt: t.u64, approvedAt: BlockNumber } },
  Rejected: { fields: { reason: t.bytes } },
  Revoked: { fields: { reason: t.bytes } },
});
export type WorkerStatusValue = Infer<typeof WorkerStatus>;
export const WorkerInfo = t.struct(`${CRATE}::WorkerInfo`, {
  operator: AccountId,
  x25519: X25519PublicKey,
  cluster: H256,
  attestation: t.bytes,
  registeredAt: BlockNumber,
  status: WorkerStatus,
});
export type WorkerInfoValue = Infer<typeof WorkerInfo>;
export const WorkerApproval = t.struct(`${CRATE}::WorkerApproval`, {
  measurement: H256,
  expiresAt: t.u64,
  registeredAt: BlockNumber,
});
export const MasterKeyInfo = t.struct(`${CRATE}::MasterKeyInfo`, {
  publicKey: t.bytes,
  epoch: t.u64,
  rotatedAt: BlockNumber,
  rotatedBy: WorkerPublicKey,
});
export const ContractKeyInfo = t.struct(`${CRATE}::ContractKeyInfo`, {
  publicKey: X25519PublicKey,
  epoch: t.u64,
  publishedBy: WorkerPublicKey,
  publishedAt: BlockNumber,
});

export const registryStorage = {
  Gatekeepers: storageMap({
    hasher: 'Blake2_128Concat',
    key: WorkerPublicKey,
    value: GatekeeperInfo,
    docs: [' Gatekeepers by secp256k1 identity key.'],
  }),
  GatekeeperCount: storageValue({ value: t.u32, default: 0 }),
  ApprovalThreshold: storageValue({
    value: t.u32,
    default: 1,
    docs: [' Gatekeeper approvals a worker needs.'],
  }),
  AllowedMeasurements: storageMap({
    hasher: 'Blake2_128Concat',
    key: H256,
    value: BlockNumber,
    docs: [' pRuntime measurements (MRENCLAVE / MRTD / sim) allowed, with the block each was added in.'],
  }),
  Workers: storageMap({
    hasher: 'Blake2_128Concat',
    key: WorkerPublicKey,
    value: WorkerInfo,
    docs: [' Workers by secp256k1 identity key.'],
  }),
  WorkerApprovals: storageDoubleMap({
    hashers: ['Blake2_128Concat', 'Blake2_128Concat'],
    keys: [WorkerPublicKey, WorkerPublicKey],
    value: WorkerApproval,
    docs: [' Approvals of a worker registration, by gatekeeper.'],
  }),
  MasterKey: storageValue({ value: MasterKeyInfo, docs: [' The master public key and its epoch.'] }),
  MasterKeyHistory: storageMap({
    hasher: 'Twox64Concat',
    key: t.u64,
    value: t.bytes,
    docs: [' Master public keys by epoch.'],
  }),
  ContractKeys: storageMap({
    hasher: 'Identity',
    key: H256,
    value: ContractKeyInfo,
    docs: [" Each contract's current public key."],
  }),
  ContractKeyHistory: storageDoubleMap({
    hashers: ['Identity', 'Twox64Concat'],
    keys: [H256, t.u64],
    value: X25519PublicKey,
    docs: [' Contract public keys by epoch.'],
  }),
};

export const registryEvents = defineEvents(PHALA_REGISTRY, CRATE, {
  GatekeeperAdded: { fields: { gatekeeper: WorkerPublicKey, account: AccountId, x25519: X25519PublicKey } },
  GatekeeperRemoved: { fields: { gatekeeper: WorkerPublicKey } },
  MeasurementAdded: { fields: { measurement: H256 } },
  MeasurementRemoved: { fields: { measurement: H256 } },
  ApprovalThresholdSet: { fields: { threshold: t.u32 } },
  WorkerRegistered: {
    fields: {
      worker: WorkerPublicKey,
      operator: AccountId,
      cluster: H256,
      x25519: X25519PublicKey,
      attestation: t.bytes,
    },
  },
  WorkerApprovalAdded: { fields: { worker: WorkerPublicKey, gatekeeper: WorkerPublicKey, approvals: t.u32 } },
  WorkerApproved: { fields: { worker: WorkerPublicKey, cluster: H256, measurement: H256, expiresAt: t.u64 } },
  WorkerRejected: { fields: { worker: WorkerPublicKey, reason: t.bytes } },
  WorkerRevoked: { fields: { worker: WorkerPublicKey, reason: t.bytes } },
  MasterKeyRotated: { fields: { epoch: t.u64, publicKey: t.bytes, gatekeeper: WorkerPublicKey } },
  ContractKeyPublished: {
    fields: { contractId: H256, epoch: t.u64, publicKey: X25519PublicKey, gatekeeper: WorkerPublicKey },
  },
});

export const registryErrors = defineErrors(PHALA_REGISTRY, CRATE, {
  GatekeeperExists: 'This key is already a gatekeeper.',
  GatekeeperNotFound: 'No gatekeeper has this key.',
  MeasurementExists: 'The measurement is already allowed.',
  MeasurementNotFound: 'The measurement is not in the allowlist.',
  InvalidThreshold: 'The threshold must be between 1 and the number of gatekeepers.',
  InvalidPublicKey: 'Not a compressed secp256k1 public key.',
  NotWorkerAccount: "A worker registers itself: the origin must be the ecdsa account of the worker's key.",
  InvalidAttestation: 'The attestation is empty or too large.',
  WorkerNotFound: 'No worker has this key.',
  WorkerNotPending: 'The worker was rejected or revoked; it must register again.',
  BadGatekeeperSignature: 'The signature does not recover to a gatekeeper.',
  MeasurementNotAllowed: 'The measurement is not in the allowlist.',
  ExpiryInPast: 'The approval would already be expired.',
  ReasonTooLong: 'The reason is too long.',
  KeyTooLong: 'The master public key is too long.',
  StaleEpoch: 'The epoch is not after the current one.',
  NoMasterKey: 'No master key has been published yet.',
  EpochNotRotated: 'The epoch is after the current master key epoch.',
  ContractNotFound: 'No contract has this id.',
  ContractKeyConflict: 'A different key is already published for this contract and epoch.',
  StaleAttestation:
    "The attestation names a block for its quote's freshness that is not one of the QUOTE_FRESHNESS_BLOCKS blocks before this one.",
});

const MAX_ATTESTATION = 64 * 1024;
const MAX_REASON = 256;
const MAX_MASTER_KEY = 65;

function isCompressedPoint(bytes: Uint8Array): boolean {
  if (bytes.length !== 33) return false;
  try {
    secp256k1.Point.fromBytes(bytes);
    return true;
  } catch {
    return false;
  }
}

function ensureRoot(ctx: CallContext): void {
  if (ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
}

/** Gatekeeper-signed calls may be submitted by anyone (signed) or by root. */
function ensureSubmitter(ctx: CallContext): void {
  if (ctx.origin.kind !== 'signed' && ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
}

function gatekeeperOf(env: Env, payload: Uint8Array, signature: Uint8Array): Uint8Array {
  const signer = recoverPayloadSigner(payload, signature);
  if (!signer || !registryStorage.Gatekeepers.contains(env, signer))
    throw registryErrors.fail('BadGatekeeperSignature');
  return signer;
}

/** Seconds since the epoch at this block (Timestamp.Now is in ms). */
export function chainSeconds(env: Env): bigint {
  return now(env) / 1000n;
}

export type WorkerCheck =
  | { ok: true; worker: WorkerInfoValue }
  | {
      ok: false;
      error:
        | 'WorkerNotFound'
        | 'WorkerNotApproved'
        | 'WorkerExpired'
        | 'MeasurementNotAllowed'
        | 'WrongCluster';
    };

/** What other pallets ask the registry (FRAME would expose this as a trait). */
export const Registry = {
  worker(env: Env, key: Uint8Array): WorkerInfoValue | null {
    return registryStorage.Workers.get(env, key);
  },
  isGatekeeper(env: Env, key: Uint8Array): boolean {
    return registryStorage.Gatekeepers.contains(env, key);
  },
  /** An approved, unexpired worker whose measurement is still allowed (and of `cluster`, if given). */
  checkWorker(env: Env, key: Uint8Array, cluster?: Uint8Array): WorkerCheck {
    const worker = registryStorage.Workers.get(env, key);
    if (!worker) return { ok: false, error: 'WorkerNotFound' };
    if (worker.status.tag !== 'Approved') return { ok: false, error: 'WorkerNotApproved' };
    const { measurement, expiresAt } = worker.status.value;
    if (expiresAt <= chainSeconds(env)) return { ok: false, error: 'WorkerExpired' };
    if (!registryStorage.AllowedMeasurements.contains(env, measurement))
      return { ok: false, error: 'MeasurementNotAllowed' };
    if (cluster && Buffer.compare(worker.cluster, cluster) !== 0) return { ok: false, error: 'WrongCluster' };
    return { ok: true, worker };
  },
};

export type RegistryConfig = {
  /** Whether a contract exists (for publishing contract keys); wired to PhalaContracts. */
  contractExists(env: Env, contractId: Uint8Array): boolean;
};

export function phalaRegistryPallet(config: RegistryConfig): Pallet {
  const S = registryStorage;
  return definePallet({
    name: PHALA_REGISTRY,
    crate: CRATE,
    docs: ['Gatekeepers, measurements, workers, master and contract keys.'],
    storage: S,
    events: registryEvents,
    errors: registryErrors,
    calls: {
      addGatekeeper: call({
        index: 0,
        args: { gatekeeper: WorkerPublicKey, x25519: X25519PublicKey, account: AccountId },
        weight: weight(20_000_000),
        docs: ['Adds a gatekeeper (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          registryErrors.ensure(isCompressedPoint(a.gatekeeper), 'InvalidPublicKey');
          registryErrors.ensure(!S.Gatekeepers.contains(ctx, a.gatekeeper), 'GatekeeperExists');
          S.Gatekeepers.set(ctx, a.gatekeeper, {
            account: a.account,
            x25519: a.x25519,
            addedAt: ctx.block.number,
          });
          S.GatekeeperCount.mutate(ctx, (n) => n + 1);
          registryEvents.emit(ctx, 'GatekeeperAdded', a);
        },
      }),
      removeGatekeeper: call({
        index: 1,
        args: { gatekeeper: WorkerPublicKey },
        weight: weight(20_000_000),
        docs: ['Removes a gatekeeper (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          registryErrors.ensure(S.Gatekeepers.contains(ctx, a.gatekeeper), 'GatekeeperNotFound');
          S.Gatekeepers.remove(ctx, a.gatekeeper);
          const count = S.GatekeeperCount.mutate(ctx, (n) => n - 1);
          if (S.ApprovalThreshold.get(ctx) > Math.max(count, 1))
            S.ApprovalThreshold.set(ctx, Math.max(count, 1));
          registryEvents.emit(ctx, 'GatekeeperRemoved', a);
        },
      }),
      addMeasurement: call({
        index: 2,
        args: { measurement: H256 },
        weight: weight(10_000_000),
        docs: ['Allows a pRuntime measurement (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          registryErrors.ensure(!S.AllowedMeasurements.contains(ctx, a.measurement), 'MeasurementExists');
          S.AllowedMeasurements.set(ctx, a.measurement, ctx.block.number);
          registryEvents.emit(ctx, 'MeasurementAdded', a);
        },
      }),
      removeMeasurement: call({
        index: 3,
        args: { measurement: H256 },
        weight: weight(10_000_000),
        docs: ['Removes a measurement from the allowlist (root); its workers stop being accepted at once.'],
        handler(ctx, a) {
          ensureRoot(ctx);
          registryErrors.ensure(S.AllowedMeasurements.contains(ctx, a.measurement), 'MeasurementNotFound');
          S.AllowedMeasurements.remove(ctx, a.measurement);
          registryEvents.emit(ctx, 'MeasurementRemoved', a);
        },
      }),
      setApprovalThreshold: call({
        index: 4,
        args: { threshold: t.u32 },
        weight: weight(10_000_000),
        docs: ['Sets how many gatekeeper approvals a worker needs (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          registryErrors.ensure(
            a.threshold >= 1 && a.threshold <= Math.max(1, S.GatekeeperCount.get(ctx)),
            'InvalidThreshold',
          );
          S.ApprovalThreshold.set(ctx, a.threshold);
          registryEvents.emit(ctx, 'ApprovalThresholdSet', a);
        },
      }),
      registerWorker: call({
        index: 5,
        args: { secp256k1: WorkerPublicKey, x25519: X25519PublicKey, cluster: H256, attestation: t.bytes },
        weight: weight(50_000_000, 70_000),
        docs: [
          'Registers (or re-registers, with a fresh attestation) a worker. The origin must be the',
          "ecdsa account of the worker's secp256k1 key, so no one can claim another worker's key.",
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
          registryErrors.ensure(isCompressedPoint(a.secp256k1), 'InvalidPublicKey');
          const account = ctx.origin.account;
          registryErrors.ensure(Buffer.compare(blake2_256(a.secp256k1), account) === 0, 'NotWorkerAccount');
          registryErrors.ensure(
            a.attestation.length > 0 && a.attestation.length <= MAX_ATTESTATION,
            'InvalidAttestation',
          );
          // Quote freshness (docs/attestation.md#quote-freshness): a named block must be one of
          // the last QUOTE_FRESHNESS_BLOCKS of this chain. Whether the quote carries its hash is
          // for the gatekeepers, which read the quote; an attestation naming none is theirs too.
          const named = freshnessBlockOf(a.attestation);
          if (named !== undefined) {
            const age = ctx.block.number - named;
            registryErrors.ensure(
              age > 0 && age <= QUOTE_FRESHNESS_BLOCKS && System.blockHash(ctx, named) !== null,
              'StaleAttestation',
            );
          }
          // A new registration replaces the old one; its approvals no longer count.
          S.WorkerApprovals.clear(ctx, [a.secp256k1]);
          S.Workers.set(ctx, a.secp256k1, {
            operator: account,
            x25519: a.x25519,
            cluster: a.cluster,
            attestation: a.attestation,
            registeredAt: ctx.block.number,
            status: { tag: 'Pending' },
          });
          registryEvents.emit(ctx, 'WorkerRegistered', {
            worker: a.secp256k1,
            operator: account,
            cluster: a.cluster,
            x25519: a.x25519,
            attestation: a.attestation,
          });
        },
      }),
      approveWorker: call({
        index: 6,
        args: { worker: WorkerPublicKey, measurement: H256, expiresAt: t.u64, signature: EcdsaSignature },
        weight: weight(60_000_000),
        docs: [
          "Records a gatekeeper's approval of a worker registration (signature over",
          '`workerApprovalPayload`). With `ApprovalThreshold` approvals the worker is Approved until',
          'the earliest of their expiries. Approving an approved worker again renews it.',
        ],
        handler(ctx, a) {
          ensureSubmitter(ctx);
          const info = S.Workers.get(ctx, a.worker);
          if (!info) throw registryErrors.fail('WorkerNotFound');
          registryErrors.ensure(
            info.status.tag === 'Pending' || info.status.tag === 'Approved',
            'WorkerNotPending',
          );
          const gatekeeper = gatekeeperOf(
            ctx,
            workerApprovalPayload({
              genesisHash: ctx.block.genesisHash,
              worker: a.worker,
              x25519: info.x25519,
              cluster: info.cluster,
              measurement: a.measurement,
              expiresAt: a.expiresAt,
              registeredAt: info.registeredAt,
            }),
            a.signature,
          );
          registryErrors.ensure(S.AllowedMeasurements.contains(ctx, a.measurement), 'MeasurementNotAllowed');
          registryErrors.ensure(a.expiresAt > chainSeconds(ctx), 'ExpiryInPast');
          S.WorkerApprovals.set(ctx, a.worker, gatekeeper, {
            measurement: a.measurement,
            expiresAt: a.expiresAt,
            registeredAt: info.registeredAt,
          });
          const agreeing = S.WorkerApprovals.entries(ctx, [a.worker]).filter(
            ([, approval]) =>
              approval.registeredAt === info.registeredAt &&
              Buffer.compare(approval.measurement, a.measurement) === 0,
          );
          registryEvents.emit(ctx, 'WorkerApprovalAdded', {
            worker: a.worker,
            gatekeeper,
            approvals: agreeing.length,
          });
          if (agreeing.length >= S.ApprovalThreshold.get(ctx)) {
            // The earliest expiry of the agreeing approvals (bigints: no Math.min).
            let expiresAt = a.expiresAt;
            for (const [, x] of agreeing) if (x.expiresAt < expiresAt) expiresAt = x.expiresAt;
            S.Workers.set(ctx, a.worker, {
              ...info,
              status: {
                tag: 'Approved',
                value: { measurement: a.measurement, expiresAt, approvedAt: ctx.block.number },
              },
            });
            registryEvents.emit(ctx, 'WorkerApproved', {
              worker: a.worker,
              cluster: info.cluster,
              measurement: a.measurement,
              expiresAt,
            });
          }
        },
      }),
      rejectWorker: call({
        index: 7,
        args: { worker: WorkerPublicKey, reason: t.bytes, signature: EcdsaSignature },
        weight: weight(40_000_000),
        docs: [
          "Rejects a worker registration with a reason (a gatekeeper's signature over `workerRejectionPayload`).",
        ],
        handler(ctx, a) {
          ensureSubmitter(ctx);
          registryErrors.ensure(a.reason.length <= MAX_REASON, 'ReasonTooLong');
          const info = S.Workers.get(ctx, a.worker);
          if (!info) throw registryErrors.fail('WorkerNotFound');
          gatekeeperOf(
            ctx,
            workerRejectionPayload({
              genesisHash: ctx.block.genesisHash,
              worker: a.worker,
              registeredAt: info.registeredAt,
              reason: a.reason,
            }),
            a.signature,
          );
          registryErrors.ensure(info.status.tag === 'Pending', 'WorkerNotPending');
          S.Workers.set(ctx, a.worker, { ...info, status: { tag: 'Rejected', value: { reason: a.reason } } });
          registryEvents.emit(ctx, 'WorkerRejected', { worker: a.worker, reason: a.reason });
        },
      }),
      revokeWorker: call({
        index: 8,
        args: { worker: WorkerPublicKey, reason: t.bytes, signature: EcdsaSignature },
        weight: weight(40_000_000),
        docs: ["Revokes a worker with a reason (a gatekeeper's signature over `workerRevocationPayload`)."],
        handler(ctx, a) {
          ensureSubmitter(ctx);
          registryErrors.ensure(a.reason.length <= MAX_REASON, 'ReasonTooLong');
          const info = S.Workers.get(ctx, a.worker);
          if (!info) throw registryErrors.fail('WorkerNotFound');
          gatekeeperOf(
            ctx,
            workerRevocationPayload({
              genesisHash: ctx.block.genesisHash,
              worker: a.worker,
              registeredAt: info.registeredAt,
              reason: a.reason,
            }),
            a.signature,
          );
          S.Workers.set(ctx, a.worker, { ...info, status: { tag: 'Revoked', value: { reason: a.reason } } });
          S.WorkerApprovals.clear(ctx, [a.worker]);
          registryEvents.emit(ctx, 'WorkerRevoked', { worker: a.worker, reason: a.reason });
        },
      }),
      forceRevokeWorker: call({
        index: 9,
        args: { worker: WorkerPublicKey, reason: t.bytes },
        weight: weight(30_000_000),
        docs: ['Revokes a worker (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          registryErrors.ensure(a.reason.length <= MAX_REASON, 'ReasonTooLong');
          const info = S.Workers.get(ctx, a.worker);
          if (!info) throw registryErrors.fail('WorkerNotFound');
          S.Workers.set(ctx, a.worker, { ...info, status: { tag: 'Revoked', value: { reason: a.reason } } });
          S.WorkerApprovals.clear(ctx, [a.worker]);
          registryEvents.emit(ctx, 'WorkerRevoked', { worker: a.worker, reason: a.reason });
        },
      }),
      rotateMasterKey: call({
        index: 10,
        args: { publicKey: t.bytes, epoch: t.u64, signature: EcdsaSignature },
        weight: weight(30_000_000),
        docs: [
          "Publishes the master public key of a new epoch (a gatekeeper's signature over `masterKeyPayload`).",
        ],
        handler(ctx, a) {
          ensureSubmitter(ctx);
          registryErrors.ensure(a.publicKey.length > 0 && a.publicKey.length <= MAX_MASTER_KEY, 'KeyTooLong');
          const gatekeeper = gatekeeperOf(
            ctx,
            masterKeyPayload({ genesisHash: ctx.block.genesisHash, publicKey: a.publicKey, epoch: a.epoch }),
            a.signature,
          );
          const current = S.MasterKey.get(ctx);
          registryErrors.ensure(!current || a.epoch > current.epoch, 'StaleEpoch');
          S.MasterKey.set(ctx, {
            publicKey: a.publicKey,
            epoch: a.epoch,
            rotatedAt: ctx.block.number,
            rotatedBy: gatekeeper,
          });
          S.MasterKeyHistory.set(ctx, a.epoch, a.publicKey);
          registryEvents.emit(ctx, 'MasterKeyRotated', {
            epoch: a.epoch,
            publicKey: a.publicKey,
            gatekeeper,
          });
        },
      }),
      publishContractKey: call({
        index: 11,
        args: { contractId: H256, publicKey: X25519PublicKey, epoch: t.u64, signature: EcdsaSignature },
        weight: weight(30_000_000),
        docs: [
          "Publishes a contract's X25519 public key for an epoch (a gatekeeper's signature over `contractKeyPayload`).",
        ],
        handler(ctx, a) {
          ensureSubmitter(ctx);
          const gatekeeper = gatekeeperOf(
            ctx,
            contractKeyPayload({
              genesisHash: ctx.block.genesisHash,
              contractId: a.contractId,
              publicKey: a.publicKey,
              epoch: a.epoch,
            }),
            a.signature,
          );
          const master = S.MasterKey.get(ctx);
          if (!master) throw registryErrors.fail('NoMasterKey');
          registryErrors.ensure(a.epoch <= master.epoch, 'EpochNotRotated');
          registryErrors.ensure(config.contractExists(ctx, a.contractId), 'ContractNotFound');
          const existing = S.ContractKeyHistory.get(ctx, a.contractId, a.epoch);
          registryErrors.ensure(
            !existing || Buffer.compare(existing, a.publicKey) === 0,
            'ContractKeyConflict',
          );
          S.ContractKeyHistory.set(ctx, a.contractId, a.epoch, a.publicKey);
          const current = S.ContractKeys.get(ctx, a.contractId);
          if (!current || a.epoch >= current.epoch) {
            S.ContractKeys.set(ctx, a.contractId, {
              publicKey: a.publicKey,
              epoch: a.epoch,
              publishedBy: gatekeeper,
              publishedAt: ctx.block.number,
            });
          }
          registryEvents.emit(ctx, 'ContractKeyPublished', {
            contractId: a.contractId,
            epoch: a.epoch,
            publicKey: a.publicKey,
            gatekeeper,
          });
        },
      }),
    },
    constants: {
      MaxAttestationSize: { type: t.u32, value: MAX_ATTESTATION },
      MaxReasonLength: { type: t.u32, value: MAX_REASON },
    },
  });
}

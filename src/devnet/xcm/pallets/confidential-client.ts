import { compactAddLength, stringToU8a, u8aToHex } from '@polkadot/util';
import { concatBytes, type Hex } from '../../../base/bytes.js';
import { blake2_256 } from '../../../crypto/hash.js';
import { recoverSubstrateFulfillmentSigner } from '../../../crypto/proofs.js';
import {
  recoverPayloadSigner,
  workerApprovalPayload,
  workerRevocationPayload,
} from '../../../phala/payloads.js';
import { buildRequestProgram, fungibleAsset } from '../../../xcm/builders.js';
import { encodeLocation } from '../../../xcm/encode.js';
import { accountId32, here, type LocationJson, siblingAccount, sibling } from '../../../xcm/location.js';
import { now } from '../../substrate/pallets/timestamp.js';
import type { CallContext, Env } from '../../substrate/runtime/context.js';
import { DispatchFailure } from '../../substrate/runtime/errors.js';
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
} from '../../substrate/runtime/pallet.js';
import { AccountId, Balance, BlockNumber, H256 } from '../../substrate/runtime/types.js';
import { type Infer, t } from '../../substrate/scale/ty.js';
import type { XcmChain } from '../chain.js';
import { isSameLocation } from '../locations.js';
import { parachainInfoStorage } from './parachain.js';
import { XcmSendError, sendXcm } from '../send.js';

/**
 * ConfidentialClient, on the sibling parachain: lets its users call confidential contracts on
 * the Phala-style chain over XCM and checks every answer itself.
 *
 * - `request` sends PROTOCOL.md §9's request program (built with src/xcm's buildRequestProgram):
 *   `[DescendOrigin(AccountId32(user)), WithdrawAsset, BuyExecution, Transact{Xcm,
 *   phalaContracts.request(..)}, RefundSurplus, DepositAsset, SetTopic(query)]`. On the Phala
 *   chain the request's origin is the user's location `../Parachain(us)/AccountId32(user)`, and
 *   its fees come from the account that location controls there.
 * - `callback` is what the Phala chain's response Transact calls. It is accepted only from the
 *   Phala chain's XCM origin and only with a valid proof: the request id is recomputed from the
 *   stored request and the nonce the Phala chain gave it (so the answer is for this request), and
 *   the worker's signature (PROTOCOL.md §4, bound to the Phala chain's genesis hash) must recover
 *   to a worker approved for the request's cluster and not expired.
 * - Which workers are approved it learns from the gatekeepers, not from the Phala chain or a
 *   relayer: root sets the gatekeeper keys and a threshold; anyone may then submit a worker
 *   approval carrying the gatekeepers' signatures over the same genesis-bound payload
 *   (`workerApprovalPayload`) they signed for the Phala chain's registry, so the relayer can copy
 *   approvals here unchanged and cannot forge one. Revocations work the same way
 *   (`workerRevocationPayload`, signed by the gatekeepers on every `WorkerRevoked` of the Phala
 *   chain); root can also revoke. A revoked registration stays revoked: its old approval cannot be
 *   submitted again (`RevokedUpTo`), only a later registration's.
 */

export const CONFIDENTIAL_CLIENT = 'ConfidentialClient';
const CRATE = 'pallet_confidential_client';

export const CONFIDENTIAL_CLIENT_CALLS = { request: 7, callback: 8 } as const;

const WorkerKey = t.fixedBytes(33);
const Signature = t.fixedBytes(65);

export const PhalaConfig = t.struct(`${CRATE}::PhalaConfig`, {
  paraId: t.u32,
  genesisHash: H256,
  /** Pallet and call index of `phalaContracts.request` on the Phala chain. */
  requestCall: t.fixedBytes(2),
});
export const ApprovedWorker = t.struct(`${CRATE}::ApprovedWorker`, {
  x25519: t.fixedBytes(32),
  measurement: H256,
  expiresAt: t.u64,
  registeredAt: BlockNumber,
  approvedAt: BlockNumber,
});
export const RequestStatus = t.enum(`${CRATE}::RequestStatus`, { Pending: {}, Fulfilled: {} });
export const ClientRequest = t.struct(`${CRATE}::ClientRequest`, {
  requester: AccountId,
  contractId: H256,
  cluster: H256,
  inputHash: H256,
  responseKey: t.fixedBytes(32),
  deadline: BlockNumber,
  sentAt: BlockNumber,
  status: RequestStatus,
});
export const ClientResult = t.struct(`${CRATE}::ClientResult`, {
  requestId: H256,
  publicOutput: t.bytes,
  sealedOutput: t.bytes,
  stateRoot: H256,
  worker: WorkerKey,
  receivedAt: BlockNumber,
});
export const FulfillmentProof = t.struct(`${CRATE}::FulfillmentProof`, {
  nonce: t.u64,
  stateRoot: H256,
  signature: Signature,
  /** (expected version, blake2_256(state)) when the result committed state: its signature is the v2 form. */
  stateCommit: t.option(t.tuple(t.u64, H256)),
});
export type PhalaConfigValue = Infer<typeof PhalaConfig>;

export const confidentialClientStorage = {
  Phala: storageValue({
    value: PhalaConfig,
    docs: [' Where the Phala-style chain is and which genesis its proofs bind.'],
  }),
  Gatekeepers: storageMap({
    hasher: 'Blake2_128Concat',
    key: WorkerKey,
    value: BlockNumber,
    docs: [' Gatekeeper secp256k1 keys whose signatures approve workers (with the block each was added in).'],
  }),
  GatekeeperCount: storageValue({ value: t.u32, default: 0 }),
  ApprovalThreshold: storageValue({
    value: t.u32,
    default: 1,
    docs: [' Gatekeeper signatures an approval needs.'],
  }),
  Workers: storageDoubleMap({
    hashers: ['Identity', 'Blake2_128Concat'],
    keys: [H256, WorkerKey],
    value: ApprovedWorker,
    docs: [' Approved workers by cluster.'],
  }),
  RevokedUpTo: storageMap({
    hasher: 'Blake2_128Concat',
    key: WorkerKey,
    value: BlockNumber,
    docs: [' The latest revoked registration (its Phala block) per worker: approvals up to it are refused.'],
  }),
  Requests: storageMap({
    hasher: 'Identity',
    key: H256,
    value: ClientRequest,
    docs: [' Requests by query id (their XCM message id).'],
  }),
  Results: storageMap({
    hasher: 'Identity',
    key: H256,
    value: ClientResult,
    docs: [' Checked results by query id.'],
  }),
  NextNonce: storageValue({ value: t.u64, default: 0n }),
};

export const confidentialClientEvents = defineEvents(CONFIDENTIAL_CLIENT, CRATE, {
  PhalaConfigured: { fields: { paraId: t.u32, genesisHash: H256 } },
  GatekeeperAdded: { fields: { gatekeeper: WorkerKey } },
  GatekeeperRemoved: { fields: { gatekeeper: WorkerKey } },
  ApprovalThresholdSet: { fields: { threshold: t.u32 } },
  WorkerApproved: { fields: { worker: WorkerKey, cluster: H256, measurement: H256, expiresAt: t.u64 } },
  WorkerRevoked: { fields: { worker: WorkerKey, cluster: H256, reason: t.bytes } },
  RequestSent: {
    fields: { query: H256, requester: AccountId, contractId: H256, cluster: H256, deadline: BlockNumber },
    docs: ['A request left for the Phala chain; `query` is its XCM message id (the topic).'],
  },
  ResultReceived: {
    fields: {
      query: H256,
      requestId: H256,
      worker: WorkerKey,
      publicOutput: t.bytes,
      sealedOutput: t.bytes,
      stateRoot: H256,
    },
    docs: ["A result arrived from the Phala chain and its worker's proof checked out."],
  },
});

export const confidentialClientErrors = defineErrors(CONFIDENTIAL_CLIENT, CRATE, {
  NotConfigured: 'The Phala chain is not configured yet.',
  InvalidKey: 'Not a 33-byte compressed secp256k1 key.',
  GatekeeperExists: 'This key is a gatekeeper already.',
  GatekeeperNotFound: 'No gatekeeper has this key.',
  InvalidThreshold: 'The threshold must be between 1 and the number of gatekeepers.',
  BadGatekeeperSignature: 'A signature does not recover to a gatekeeper.',
  DuplicateSignature: 'Two signatures are by the same gatekeeper.',
  NotEnoughSignatures: 'Fewer gatekeeper signatures than the threshold.',
  ApprovalExpired: 'The approval is already expired.',
  ApprovalRevoked: 'This registration of the worker was revoked; only a later one can be approved.',
  WorkerNotFound: 'No such approved worker.',
  InputTooLarge: 'The sealed input is too large.',
  FeeTooLow: 'The fee must be above zero.',
  SendFailed: 'The XCM message could not be sent.',
  NotFromPhala: 'Only the Phala chain (its XCM origin) may deliver results.',
  UnknownRequest: 'No request has this query id.',
  AlreadyFulfilled: 'This request has its result already.',
  RequestIdMismatch: 'The request id is not the one the Phala chain gives this request.',
  InvalidWorkerSignature: 'The proof signature is malformed.',
  WorkerNotApproved: "The signer is not an approved worker of the request's cluster.",
  WorkerExpired: "The signer's approval has expired.",
});

const MAX_INPUT = 64 * 1024;
const ZERO32 = new Uint8Array(32);

function ensureRoot(ctx: CallContext): void {
  if (ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
}

function configOf(env: Env): PhalaConfigValue {
  const config = confidentialClientStorage.Phala.get(env);
  if (!config) throw confidentialClientErrors.fail('NotConfigured');
  return config;
}

/** Distinct gatekeepers that signed `payload`; fails unless they reach the threshold. */
function gatekeeperApproval(env: Env, payload: Uint8Array, signatures: Uint8Array[]): void {
  const S = confidentialClientStorage;
  const seen = new Set<string>();
  for (const signature of signatures) {
    const signer = recoverPayloadSigner(payload, signature);
    if (!signer || !S.Gatekeepers.contains(env, signer))
      throw confidentialClientErrors.fail('BadGatekeeperSignature');
    const key = u8aToHex(signer);
    if (seen.has(key)) throw confidentialClientErrors.fail('DuplicateSignature');
    seen.add(key);
  }
  if (seen.size < Math.max(1, S.ApprovalThreshold.get(env)))
    throw confidentialClientErrors.fail('NotEnoughSignatures');
}

function isCompressedKey(key: Uint8Array): boolean {
  return key.length === 33 && (key[0] === 2 || key[0] === 3);
}

/** The query id of a request: the topic (message id) of its XCM message. */
export function queryIdOf(paraId: number, requester: Uint8Array, nonce: bigint): Uint8Array {
  const n = new Uint8Array(12);
  const view = new DataView(n.buffer);
  view.setUint32(0, paraId, true);
  view.setBigUint64(4, nonce, true);
  return blake2_256(concatBytes(compactAddLength(stringToU8a('phala-bridge/xcm-request/v1')), n, requester));
}

/**
 * The request id the Phala chain gives a request from `origin` (PROTOCOL.md §1):
 * blake2_256(SCALE(RequestOrigin::Xcm(origin as a V4 Location), nonce, contractId, inputHash)).
 */
export function xcmRequestIdOf(
  origin: LocationJson,
  nonce: bigint,
  contractId: Uint8Array,
  inputHash: Uint8Array,
): Uint8Array {
  const v4 = encodeLocation({ v4: origin }).bytes.subarray(1);
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, nonce, true);
  return blake2_256(concatBytes(Uint8Array.of(1), v4, n, contractId, inputHash));
}

/** `phalaContracts.request(contract_id, sealed_input, response_key, deadline)` encoded for the Phala chain. */
function encodeRequestCall(
  prefix: Uint8Array,
  a: { contractId: Uint8Array; sealedInput: Uint8Array; responseKey: Uint8Array; deadline: number },
): Uint8Array {
  const deadline = new Uint8Array(4);
  new DataView(deadline.buffer).setUint32(0, a.deadline, true);
  return concatBytes(prefix, a.contractId, compactAddLength(a.sealedInput), a.responseKey, deadline);
}

export type ConfidentialClientConfig = {
  /** Set at genesis (the devnet knows the Phala chain's genesis hash before starting this chain). */
  phala?: PhalaConfigValue;
  gatekeepers?: Uint8Array[];
  threshold?: number;
};

export function confidentialClientPallet(chain: XcmChain, config: ConfidentialClientConfig = {}): Pallet {
  const S = confidentialClientStorage;
  const events = confidentialClientEvents;
  const errors = confidentialClientErrors;
  return definePallet({
    name: CONFIDENTIAL_CLIENT,
    crate: CRATE,
    docs: [
      'Requests to confidential contracts on the Phala-style chain over XCM, and their checked results.',
    ],
    storage: S,
    events,
    errors,
    calls: {
      configure: call({
        index: 0,
        args: { paraId: t.u32, genesisHash: H256, requestCall: t.fixedBytes(2) },
        weight: weight(10_000_000),
        docs: ['Sets where the Phala chain is, its genesis hash and the index of its request call (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          S.Phala.set(ctx, a);
          events.emit(ctx, 'PhalaConfigured', { paraId: a.paraId, genesisHash: a.genesisHash });
        },
      }),
      addGatekeeper: call({
        index: 1,
        args: { gatekeeper: WorkerKey },
        weight: weight(10_000_000),
        docs: ['Trusts a gatekeeper key for worker approvals (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          errors.ensure(isCompressedKey(a.gatekeeper), 'InvalidKey');
          errors.ensure(!S.Gatekeepers.contains(ctx, a.gatekeeper), 'GatekeeperExists');
          S.Gatekeepers.set(ctx, a.gatekeeper, ctx.block.number);
          S.GatekeeperCount.mutate(ctx, (n) => n + 1);
          events.emit(ctx, 'GatekeeperAdded', { gatekeeper: a.gatekeeper });
        },
      }),
      removeGatekeeper: call({
        index: 2,
        args: { gatekeeper: WorkerKey },
        weight: weight(10_000_000),
        docs: ['Stops trusting a gatekeeper key (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          errors.ensure(S.Gatekeepers.contains(ctx, a.gatekeeper), 'GatekeeperNotFound');
          S.Gatekeepers.remove(ctx, a.gatekeeper);
          const count = S.GatekeeperCount.mutate(ctx, (n) => Math.max(0, n - 1));
          if (S.ApprovalThreshold.get(ctx) > count) S.ApprovalThreshold.set(ctx, Math.max(1, count));
          events.emit(ctx, 'GatekeeperRemoved', { gatekeeper: a.gatekeeper });
        },
      }),
      setApprovalThreshold: call({
        index: 3,
        args: { threshold: t.u32 },
        weight: weight(10_000_000),
        docs: ['How many gatekeeper signatures an approval or revocation needs (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          errors.ensure(a.threshold >= 1 && a.threshold <= S.GatekeeperCount.get(ctx), 'InvalidThreshold');
          S.ApprovalThreshold.set(ctx, a.threshold);
          events.emit(ctx, 'ApprovalThresholdSet', { threshold: a.threshold });
        },
      }),
      approveWorker: call({
        index: 4,
        args: {
          worker: WorkerKey,
          x25519: t.fixedBytes(32),
          cluster: H256,
          measurement: H256,
          expiresAt: t.u64,
          registeredAt: BlockNumber,
          signatures: t.vec(Signature),
        },
        weight: (a) => weight(20_000_000n + BigInt(a.signatures.length) * 30_000_000n),
        docs: [
          "Approves a worker for a cluster with the gatekeepers' signatures over the Phala chain's",
          '`workerApprovalPayload` (the same signatures its registry accepted). Anyone may submit.',
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed' && ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          const phala = configOf(ctx);
          errors.ensure(isCompressedKey(a.worker), 'InvalidKey');
          gatekeeperApproval(
            ctx,
            workerApprovalPayload({
              genesisHash: phala.genesisHash,
              worker: a.worker,
              x25519: a.x25519,
              cluster: a.cluster,
              measurement: a.measurement,
              expiresAt: a.expiresAt,
              registeredAt: a.registeredAt,
            }),
            a.signatures,
          );
          errors.ensure(a.expiresAt > now(ctx) / 1000n, 'ApprovalExpired');
          const revokedUpTo = S.RevokedUpTo.get(ctx, a.worker);
          errors.ensure(revokedUpTo === null || a.registeredAt > revokedUpTo, 'ApprovalRevoked');
          S.Workers.set(ctx, a.cluster, a.worker, {
            x25519: a.x25519,
            measurement: a.measurement,
            expiresAt: a.expiresAt,
            registeredAt: a.registeredAt,
            approvedAt: ctx.block.number,
          });
          events.emit(ctx, 'WorkerApproved', {
            worker: a.worker,
            cluster: a.cluster,
            measurement: a.measurement,
            expiresAt: a.expiresAt,
          });
        },
      }),
      revokeWorker: call({
        index: 5,
        args: { worker: WorkerKey, cluster: H256, reason: t.bytes, signatures: t.vec(Signature) },
        weight: (a) => weight(20_000_000n + BigInt(a.signatures.length) * 30_000_000n),
        docs: [
          "Revokes a worker with the gatekeepers' signatures over `workerRevocationPayload`. Anyone may submit.",
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed' && ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          const phala = configOf(ctx);
          const worker = S.Workers.get(ctx, a.cluster, a.worker);
          if (!worker) throw errors.fail('WorkerNotFound');
          gatekeeperApproval(
            ctx,
            workerRevocationPayload({
              genesisHash: phala.genesisHash,
              worker: a.worker,
              registeredAt: worker.registeredAt,
              reason: a.reason,
            }),
            a.signatures,
          );
          S.Workers.remove(ctx, a.cluster, a.worker);
          S.RevokedUpTo.set(ctx, a.worker, worker.registeredAt);
          events.emit(ctx, 'WorkerRevoked', { worker: a.worker, cluster: a.cluster, reason: a.reason });
        },
      }),
      forceRevokeWorker: call({
        index: 6,
        args: { worker: WorkerKey, cluster: H256, reason: t.bytes },
        weight: weight(10_000_000),
        docs: ['Revokes a worker (root).'],
        handler(ctx, a) {
          ensureRoot(ctx);
          const worker = S.Workers.get(ctx, a.cluster, a.worker);
          if (!worker) throw errors.fail('WorkerNotFound');
          S.Workers.remove(ctx, a.cluster, a.worker);
          S.RevokedUpTo.set(ctx, a.worker, worker.registeredAt);
          events.emit(ctx, 'WorkerRevoked', { worker: a.worker, cluster: a.cluster, reason: a.reason });
        },
      }),
      request: call({
        index: CONFIDENTIAL_CLIENT_CALLS.request,
        args: {
          contractId: H256,
          cluster: H256,
          sealedInput: t.bytes,
          responseKey: t.fixedBytes(32),
          deadline: BlockNumber,
          fee: Balance,
        },
        weight: (a) => weight(150_000_000n + BigInt(a.sealedInput.length) * 1_000n, 20_000n),
        docs: [
          'Sends a request to a contract on the Phala chain by XCM Transact. `cluster` is the',
          "contract's cluster (whose workers may answer), `deadline` a Phala block number, `fee` the",
          'most (in Phala tokens) the execution there may cost, taken from the account the sender',
          "controls on the Phala chain. The query id (the message's topic) is in RequestSent.",
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
          const requester = ctx.origin.account;
          const phala = configOf(ctx);
          errors.ensure(a.sealedInput.length <= MAX_INPUT, 'InputTooLarge');
          errors.ensure(a.fee > 0n, 'FeeTooLow');
          const paraId = parachainInfoStorage.ParachainId.get(ctx);
          const nonce = S.NextNonce.get(ctx);
          S.NextNonce.set(ctx, nonce + 1n);
          const query = queryIdOf(paraId, requester, nonce);
          const user = u8aToHex(requester) as Hex;
          const message = buildRequestProgram({
            version: 5,
            fees: fungibleAsset(here(), a.fee),
            call: encodeRequestCall(phala.requestCall, a),
            topic: query,
            originKind: 'Xcm',
            descendOrigin: accountId32(user),
            // What the fee did not use goes back to the account it came from.
            refundTo: siblingAccount(paraId, user),
          });
          try {
            sendXcm(ctx, chain, { interior: [], dest: sibling(phala.paraId), message });
          } catch (error) {
            if (error instanceof XcmSendError) throw errors.fail('SendFailed');
            throw error;
          }
          S.Requests.set(ctx, query, {
            requester,
            contractId: a.contractId,
            cluster: a.cluster,
            inputHash: blake2_256(a.sealedInput),
            responseKey: a.responseKey,
            deadline: a.deadline,
            sentAt: ctx.block.number,
            status: { tag: 'Pending' },
          });
          events.emit(ctx, 'RequestSent', {
            query,
            requester,
            contractId: a.contractId,
            cluster: a.cluster,
            deadline: a.deadline,
          });
        },
      }),
      callback: call({
        index: CONFIDENTIAL_CLIENT_CALLS.callback,
        args: {
          query: H256,
          requestId: H256,
          publicOutput: t.bytes,
          sealedOutput: t.bytes,
          proof: FulfillmentProof,
        },
        weight: (a) =>
          weight(
            120_000_000n + BigInt(a.publicOutput.length + a.sealedOutput.length) * 1_000n,
            10_000n + BigInt(a.publicOutput.length + a.sealedOutput.length),
          ),
        docs: [
          "The Phala chain's answer (sent by its response XCM Transact, origin kind Xcm). Checks the",
          'request id against the stored request and the worker proof against the approved workers.',
        ],
        handler(ctx, a) {
          const phala = configOf(ctx);
          if (ctx.origin.kind !== 'xcm' || !isSameLocation(ctx.origin.location, sibling(phala.paraId)))
            throw errors.fail('NotFromPhala');
          const request = S.Requests.get(ctx, a.query);
          if (!request) throw errors.fail('UnknownRequest');
          errors.ensure(!S.Results.contains(ctx, a.query), 'AlreadyFulfilled');
          const paraId = parachainInfoStorage.ParachainId.get(ctx);
          const expected = xcmRequestIdOf(
            siblingAccount(paraId, u8aToHex(request.requester) as Hex),
            a.proof.nonce,
            request.contractId,
            request.inputHash,
          );
          errors.ensure(Buffer.compare(expected, a.requestId) === 0, 'RequestIdMismatch');
          const signer = recoverSubstrateFulfillmentSigner(
            {
              genesisHash: phala.genesisHash,
              requestId: a.requestId,
              publicOutput: a.publicOutput,
              sealedOutput: a.sealedOutput,
              stateRoot: a.proof.stateRoot,
              stateCommit: a.proof.stateCommit
                ? { expectedVersion: a.proof.stateCommit[0], stateHash: a.proof.stateCommit[1] }
                : null,
            },
            a.proof.signature,
          );
          if (!signer) throw errors.fail('InvalidWorkerSignature');
          const worker = S.Workers.get(ctx, request.cluster, signer);
          if (!worker) throw errors.fail('WorkerNotApproved');
          errors.ensure(worker.expiresAt > now(ctx) / 1000n, 'WorkerExpired');
          S.Results.set(ctx, a.query, {
            requestId: a.requestId,
            publicOutput: a.publicOutput,
            sealedOutput: a.sealedOutput,
            stateRoot: a.proof.stateRoot,
            worker: signer,
            receivedAt: ctx.block.number,
          });
          S.Requests.set(ctx, a.query, { ...request, status: { tag: 'Fulfilled' } });
          events.emit(ctx, 'ResultReceived', {
            query: a.query,
            requestId: a.requestId,
            worker: signer,
            publicOutput: a.publicOutput,
            sealedOutput: a.sealedOutput,
            stateRoot: a.proof.stateRoot,
          });
        },
      }),
    },
    hooks: {
      genesis(env) {
        if (config.phala) S.Phala.set(env, config.phala);
        for (const key of config.gatekeepers ?? []) S.Gatekeepers.set(env, key, 0);
        S.GatekeeperCount.set(env, config.gatekeepers?.length ?? 0);
        if (config.threshold) S.ApprovalThreshold.set(env, config.threshold);
      },
    },
  });
}

export { ZERO32 };

import { recoverSubstrateFulfillmentSigner } from '../../../../crypto/proofs.js';
import { blake2_256 } from '../../../../crypto/hash.js';
import { codeKindOf } from '../../../../protocol/contract-code.js';
import { contractIdOf, requestIdOf } from '../../../../phala/ids.js';
import { recoverPayloadSigner, stateCommitPayload } from '../../../../phala/payloads.js';
import type { CallContext, Env } from '../../runtime/context.js';
import { DispatchFailure } from '../../runtime/errors.js';
import type { DispatchOrigin } from '../../runtime/origin.js';
import {
  type Pallet,
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageMap,
  storageValue,
  weight,
} from '../../runtime/pallet.js';
import { AccountId, BlockNumber, H256 } from '../../runtime/types.js';
import { type AnyTy, type Infer, t } from '../../scale/ty.js';
import { Registry } from './registry.js';
import { EcdsaSignature, WorkerPublicKey, X25519PublicKey } from './types.js';

/**
 * PhalaContracts: contract code (public, by blake2 hash), instances (contract id, cluster),
 * encrypted state with optimistic versions, and the request inbox. A request records its origin
 * as the enum `RequestOrigin` — `Signed(AccountId32)` here, more variants (an XCM `Location`) added
 * by whoever composes the chain, each with a hook that sends the response back to that origin.
 */

export const PHALA_CONTRACTS = 'PhalaContracts';
const CRATE = 'pallet_phala_contracts';

export const ContractInfo = t.struct(`${CRATE}::ContractInfo`, {
  deployer: AccountId,
  codeHash: H256,
  cluster: H256,
  salt: t.bytes,
  instantiatedAt: BlockNumber,
});
/** What the code is (docs/wasm-host-interface.md): WebAssembly when it starts with `\0asm`. */
export const CodeKind = t.enum(`${CRATE}::CodeKind`, { Js: { index: 0 }, Wasm: { index: 1 } });
export const CodeInfo = t.struct(`${CRATE}::CodeInfo`, {
  uploader: AccountId,
  codeSize: t.u32,
  uploadedAt: BlockNumber,
  kind: CodeKind,
});
export const ContractState = t.struct(`${CRATE}::ContractState`, {
  version: t.u64,
  state: t.bytes,
  stateRoot: H256,
  committedBy: WorkerPublicKey,
  committedAt: BlockNumber,
});
export const Fulfillment = t.struct(`${CRATE}::Fulfillment`, {
  publicOutput: t.bytes,
  sealedOutput: t.bytes,
  stateRoot: H256,
  worker: WorkerPublicKey,
  fulfilledAt: BlockNumber,
});
export type FulfillmentValue = Infer<typeof Fulfillment>;
/**
 * The new state a result brings with it, in `fulfill`: the version it extends and the sealed
 * state. Covered by the worker's fulfil signature (PROTOCOL §4, v2), so it lands with that result
 * or not at all.
 */
export const NewState = t.struct(`${CRATE}::NewState`, {
  expectedVersion: t.u64,
  state: t.bytes,
});
export type NewStateValue = Infer<typeof NewState>;

/** A request origin variant beyond `Signed`: how it is encoded, recognised and answered. */
export type RequestOriginExtension = {
  /** The variant name in `RequestOrigin`, e.g. `Xcm`. */
  name: string;
  /** Its index (Signed is 0). */
  index: number;
  /** The variant's payload type, e.g. `staging_xcm::v4::location::Location`. */
  type: AnyTy;
  /** This variant's payload for a dispatch origin, or undefined when the origin is not of this kind. */
  fromDispatch(origin: DispatchOrigin, env: Env): unknown | undefined;
  /** Whether `origin` is the requester of a request with this payload (for cancel). */
  isRequester?(origin: DispatchOrigin, payload: unknown, env: Env): boolean;
  /** Runs when a request from this origin is recorded (e.g. remember the XCM topic). */
  onRequested?(env: Env, request: { requestId: Uint8Array; request: RequestValue }): void;
  /** Runs when a request from this origin is fulfilled: send the response back. */
  onFulfilled?(
    env: Env,
    result: {
      requestId: Uint8Array;
      request: RequestValue;
      fulfillment: FulfillmentValue;
      /** The worker's signature (PROTOCOL.md §4), so the origin can check the proof itself. */
      signature: Uint8Array;
      /**
       * The state the result committed with it, when it did: the signature is then the v2 form
       * over (expectedVersion, blake2_256(state)) too, which the origin needs to check it.
       */
      stateCommit: { expectedVersion: bigint; stateHash: Uint8Array } | null;
    },
  ): void;
};

export type RequestOriginValue = { tag: string; value?: unknown };
export type RequestValue = {
  origin: RequestOriginValue;
  contractId: Uint8Array;
  sealedInput: Uint8Array;
  responseKey: Uint8Array;
  deadline: number;
  nonce: bigint;
  createdAt: number;
};

export const contractsErrors = defineErrors(PHALA_CONTRACTS, CRATE, {
  CodeTooLarge: 'The code is larger than MaxCodeSize.',
  CodeExists: 'This code is already uploaded.',
  CodeNotFound: 'No code has this hash.',
  ContractExists: 'A contract with this id already exists.',
  ContractNotFound: 'No contract has this id.',
  SaltTooLong: 'The salt is longer than MaxSaltLength.',
  InputTooLarge: 'The sealed input is larger than MaxInputSize.',
  DeadlinePassed: 'The deadline is not after the current block.',
  DeadlineTooFar: 'The deadline is further than MaxRequestTtl blocks away.',
  UnsupportedOrigin: 'Requests cannot come from this origin.',
  RequestNotFound: 'No open request has this id.',
  AlreadyFulfilled: 'The request was fulfilled already.',
  RequestExpired: 'The request deadline has passed.',
  OutputTooLarge: 'An output is larger than MaxOutputSize.',
  InvalidWorkerSignature: 'The signature is malformed.',
  WorkerNotFound: 'The signer is not a registered worker.',
  WorkerNotApproved: 'The signer is not an approved worker.',
  WorkerExpired: "The signer's approval has expired.",
  MeasurementNotAllowed: "The worker's measurement is no longer allowed.",
  WrongCluster: "The worker is not in the contract's cluster.",
  StateRootMismatch: "The result was computed on another state than the contract's committed one.",
  StaleState: 'The expected state version is not the current one.',
  StateTooLarge: 'The state is larger than MaxStateSize.',
  NotRequester: 'Only the requester may cancel.',
  RequestNeedsFulfillment:
    'A state commit names a request that is pending on this chain: its state must come with its fulfilment.',
  NoRequestIds: 'A state commit must name the requests whose results made it.',
  TooManyRequestIds: 'A state commit names more than MaxCommitRequests requests.',
  AlreadyCommitted: 'State was committed for this request already (its effect must not apply twice).',
  DeadlineNotReached: 'The request can be cancelled only after its deadline.',
});

export const LIMITS = {
  maxCodeSize: 512 * 1024,
  maxInputSize: 64 * 1024,
  maxOutputSize: 64 * 1024,
  maxStateSize: 1024 * 1024,
  maxSaltLength: 64,
  maxRequestTtl: 100_000,
  maxCommitRequests: 64,
};

export type ContractsConfig = {
  /** Origins beyond `Signed(AccountId32)` (the XCM layer adds `Xcm(Location)`). */
  origins?: RequestOriginExtension[];
};

/** Storage items are created per pallet instance: the Request type depends on the origin variants. */
function contractsTypes(origins: RequestOriginExtension[]) {
  const variants: Record<string, { index: number; fields: AnyTy }> = {
    Signed: { index: 0, fields: AccountId },
  };
  for (const o of origins) {
    if (o.name === 'Signed' || o.index === 0)
      throw new Error(`RequestOrigin variant ${o.name}/${o.index} clashes with Signed/0`);
    variants[o.name] = { index: o.index, fields: o.type };
  }
  const RequestOrigin = t.enum(
    `${CRATE}::RequestOrigin`,
    variants,
  ) as unknown as import('../../scale/ty.js').Ty<RequestOriginValue>;
  const Request = t.struct(`${CRATE}::Request`, {
    origin: RequestOrigin,
    contractId: H256,
    sealedInput: t.bytes,
    responseKey: X25519PublicKey,
    deadline: BlockNumber,
    nonce: t.u64,
    createdAt: BlockNumber,
  });
  return { RequestOrigin, Request };
}

export const contractsStorage = {
  Code: storageMap({
    hasher: 'Identity',
    key: H256,
    value: t.bytes,
    docs: [' Contract code by blake2_256 hash.'],
  }),
  CodeInfoOf: storageMap({ hasher: 'Identity', key: H256, value: CodeInfo }),
  Contracts: storageMap({
    hasher: 'Identity',
    key: H256,
    value: ContractInfo,
    docs: [' Contract instances by contract id.'],
  }),
  ContractStates: storageMap({
    hasher: 'Identity',
    key: H256,
    value: ContractState,
    docs: [' Encrypted contract state (sealed to the contract key) with its version.'],
  }),
  Results: storageMap({ hasher: 'Identity', key: H256, value: Fulfillment, docs: [' Fulfilled requests.'] }),
  NextRequestNonce: storageValue({ value: t.u64, default: 0n }),
  CommittedRequests: storageMap({
    hasher: 'Identity',
    key: H256,
    value: t.tuple(H256, t.u64),
    docs: [
      ' Requests of other chains (EVM) that state was committed for: (contract id, version).',
      ' A request takes effect on a contract once: a second commit naming it is refused.',
    ],
  }),
};

export function phalaContractsPallet(config: ContractsConfig = {}): Pallet {
  const origins = config.origins ?? [];
  const { RequestOrigin, Request } = contractsTypes(origins);
  const S = contractsStorage;
  const Requests = storageMap({
    hasher: 'Identity',
    key: H256,
    value: Request,
    docs: [' Open requests by request id.'],
  });
  const events = defineEvents(PHALA_CONTRACTS, CRATE, {
    CodeUploaded: { fields: { codeHash: H256, uploader: AccountId, codeSize: t.u32, kind: CodeKind } },
    Instantiated: {
      fields: { contractId: H256, deployer: AccountId, codeHash: H256, cluster: H256, salt: t.bytes },
    },
    RequestSubmitted: {
      fields: {
        requestId: H256,
        origin: RequestOrigin,
        contractId: H256,
        sealedInput: t.bytes,
        responseKey: X25519PublicKey,
        deadline: BlockNumber,
        nonce: t.u64,
      },
    },
    RequestFulfilled: {
      fields: {
        requestId: H256,
        contractId: H256,
        worker: WorkerPublicKey,
        publicOutput: t.bytes,
        sealedOutput: t.bytes,
        stateRoot: H256,
      },
    },
    StateCommitted: {
      fields: {
        contractId: H256,
        version: t.u64,
        stateRoot: H256,
        worker: WorkerPublicKey,
        /** The requests whose results made this state. */
        requestIds: t.vec(H256),
      },
    },
    RequestCancelled: { fields: { requestId: H256, contractId: H256 } },
  });

  const originOf = (ctx: CallContext): RequestOriginValue => {
    if (ctx.origin.kind === 'signed') return { tag: 'Signed', value: ctx.origin.account };
    for (const o of origins) {
      const payload = o.fromDispatch(ctx.origin, ctx);
      if (payload !== undefined) return { tag: o.name, value: payload };
    }
    throw contractsErrors.fail('UnsupportedOrigin');
  };
  const isRequester = (ctx: CallContext, origin: RequestOriginValue): boolean => {
    if (origin.tag === 'Signed') {
      return (
        ctx.origin.kind === 'signed' && Buffer.compare(ctx.origin.account, origin.value as Uint8Array) === 0
      );
    }
    const ext = origins.find((o) => o.name === origin.tag);
    return ext?.isRequester?.(ctx.origin, origin.value, ctx) ?? false;
  };
  const checkWorker = (ctx: CallContext, key: Uint8Array, cluster: Uint8Array) => {
    const check = Registry.checkWorker(ctx, key, cluster);
    if (!check.ok) throw contractsErrors.fail(check.error);
    return check.worker;
  };
  /** Sets version expected + 1 if the contract is still at `expected` (optimistic concurrency). */
  const applyState = (
    ctx: CallContext,
    p: {
      contractId: Uint8Array;
      expectedVersion: bigint;
      state: Uint8Array;
      stateRoot: Uint8Array;
      worker: Uint8Array;
      requestIds: Uint8Array[];
    },
  ) => {
    contractsErrors.ensure(p.state.length <= LIMITS.maxStateSize, 'StateTooLarge');
    const current = S.ContractStates.get(ctx, p.contractId);
    contractsErrors.ensure((current?.version ?? 0n) === p.expectedVersion, 'StaleState');
    const version = p.expectedVersion + 1n;
    S.ContractStates.set(ctx, p.contractId, {
      version,
      state: p.state,
      stateRoot: p.stateRoot,
      committedBy: p.worker,
      committedAt: ctx.block.number,
    });
    events.emit(ctx, 'StateCommitted', {
      contractId: p.contractId,
      version,
      stateRoot: p.stateRoot,
      worker: p.worker,
      requestIds: p.requestIds,
    });
  };

  return definePallet({
    name: PHALA_CONTRACTS,
    crate: CRATE,
    docs: ['Confidential contracts: code, instances, encrypted state, requests and results.'],
    storage: { ...S, Requests },
    events,
    errors: contractsErrors,
    calls: {
      uploadCode: call({
        index: 0,
        args: { code: t.bytes },
        weight: (a) => weight(30_000_000n + BigInt(a.code.length) * 1_000n, 10_000n + BigInt(a.code.length)),
        docs: [
          'Uploads contract code; its hash is blake2_256(code). Code starting with `\\0asm` is recorded as a WebAssembly module, anything else as JavaScript.',
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
          contractsErrors.ensure(a.code.length > 0 && a.code.length <= LIMITS.maxCodeSize, 'CodeTooLarge');
          const codeHash = blake2_256(a.code);
          contractsErrors.ensure(!S.Code.contains(ctx, codeHash), 'CodeExists');
          S.Code.set(ctx, codeHash, a.code);
          const kind = { tag: codeKindOf(a.code) === 'wasm' ? 'Wasm' : 'Js' } as const;
          S.CodeInfoOf.set(ctx, codeHash, {
            uploader: ctx.origin.account,
            codeSize: a.code.length,
            uploadedAt: ctx.block.number,
            kind,
          });
          events.emit(ctx, 'CodeUploaded', {
            codeHash,
            uploader: ctx.origin.account,
            codeSize: a.code.length,
            kind,
          });
        },
      }),
      instantiate: call({
        index: 1,
        args: { codeHash: H256, cluster: H256, salt: t.bytes },
        weight: weight(40_000_000),
        docs: [
          'Creates a contract: id = blake2_256(SCALE(deployer, code_hash, salt)), run by workers of `cluster`.',
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
          contractsErrors.ensure(a.salt.length <= LIMITS.maxSaltLength, 'SaltTooLong');
          contractsErrors.ensure(S.Code.contains(ctx, a.codeHash), 'CodeNotFound');
          const deployer = ctx.origin.account;
          const contractId = contractIdOf(deployer, a.codeHash, a.salt);
          contractsErrors.ensure(!S.Contracts.contains(ctx, contractId), 'ContractExists');
          S.Contracts.set(ctx, contractId, {
            deployer,
            codeHash: a.codeHash,
            cluster: a.cluster,
            salt: a.salt,
            instantiatedAt: ctx.block.number,
          });
          events.emit(ctx, 'Instantiated', {
            contractId,
            deployer,
            codeHash: a.codeHash,
            cluster: a.cluster,
            salt: a.salt,
          });
        },
      }),
      request: call({
        index: 2,
        args: { contractId: H256, sealedInput: t.bytes, responseKey: X25519PublicKey, deadline: BlockNumber },
        weight: (a) =>
          weight(50_000_000n + BigInt(a.sealedInput.length) * 1_000n, 5_000n + BigInt(a.sealedInput.length)),
        docs: [
          'Sends a request to a contract. id = blake2_256(SCALE(origin, nonce, contract_id, blake2_256(sealed_input))).',
          '`deadline` is the last block at which it may be fulfilled.',
        ],
        handler(ctx, a) {
          const origin = originOf(ctx);
          contractsErrors.ensure(S.Contracts.contains(ctx, a.contractId), 'ContractNotFound');
          contractsErrors.ensure(a.sealedInput.length <= LIMITS.maxInputSize, 'InputTooLarge');
          contractsErrors.ensure(a.deadline > ctx.block.number, 'DeadlinePassed');
          contractsErrors.ensure(a.deadline - ctx.block.number <= LIMITS.maxRequestTtl, 'DeadlineTooFar');
          const nonce = S.NextRequestNonce.get(ctx);
          S.NextRequestNonce.set(ctx, nonce + 1n);
          const requestId = requestIdOf(
            { kind: 'encoded', bytes: ctx.codec.encode(RequestOrigin, origin) },
            nonce,
            a.contractId,
            a.sealedInput,
          );
          const request: RequestValue = {
            origin,
            contractId: a.contractId,
            sealedInput: a.sealedInput,
            responseKey: a.responseKey,
            deadline: a.deadline,
            nonce,
            createdAt: ctx.block.number,
          };
          Requests.set(ctx, requestId, request);
          events.emit(ctx, 'RequestSubmitted', {
            requestId,
            origin,
            contractId: a.contractId,
            sealedInput: a.sealedInput,
            responseKey: a.responseKey,
            deadline: a.deadline,
            nonce,
          });
          origins.find((o) => o.name === origin.tag)?.onRequested?.(ctx, { requestId, request });
        },
      }),
      fulfill: call({
        index: 3,
        args: {
          requestId: H256,
          publicOutput: t.bytes,
          sealedOutput: t.bytes,
          stateRoot: H256,
          stateCommit: t.option(NewState),
          signature: EcdsaSignature,
        },
        weight: (a) => {
          const size = BigInt(
            a.publicOutput.length + a.sealedOutput.length + (a.stateCommit?.state.length ?? 0),
          );
          return weight(80_000_000n + size * 1_000n, 10_000n + size);
        },
        docs: [
          "Records a result signed by an approved, unexpired worker of the contract's cluster: the",
          'signature is over blake2_256(SCALE("phala-bridge/fulfill/v1", genesis_hash, request_id,',
          'public_output, sealed_output, state_root)). Anyone may submit it.',
          'A result that changed the state brings it here (`state_commit`), signed with it under',
          '"phala-bridge/fulfill/v2" (the same fields, then expected_version and blake2_256(state)):',
          'the state becomes version expected_version + 1 in the same dispatch, or nothing happens',
          '(StaleState when the contract moved on).',
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed' && ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          const request = Requests.get(ctx, a.requestId);
          if (!request)
            throw contractsErrors.fail(
              S.Results.contains(ctx, a.requestId) ? 'AlreadyFulfilled' : 'RequestNotFound',
            );
          contractsErrors.ensure(ctx.block.number <= request.deadline, 'RequestExpired');
          contractsErrors.ensure(
            a.publicOutput.length <= LIMITS.maxOutputSize && a.sealedOutput.length <= LIMITS.maxOutputSize,
            'OutputTooLarge',
          );
          const stateCommit = a.stateCommit
            ? { expectedVersion: a.stateCommit.expectedVersion, stateHash: blake2_256(a.stateCommit.state) }
            : null;
          // With a state commit the signature must be the v2 form over it: a v1 signature (or one
          // over another state) recovers some other key, which is not an approved worker.
          const signer = recoverSubstrateFulfillmentSigner(
            {
              genesisHash: ctx.block.genesisHash,
              requestId: a.requestId,
              publicOutput: a.publicOutput,
              sealedOutput: a.sealedOutput,
              stateRoot: a.stateRoot,
              stateCommit,
            },
            a.signature,
          );
          if (!signer) throw contractsErrors.fail('InvalidWorkerSignature');
          const contract = S.Contracts.get(ctx, request.contractId);
          if (!contract) throw contractsErrors.fail('ContractNotFound');
          checkWorker(ctx, signer, contract.cluster);
          if (a.stateCommit) {
            applyState(ctx, {
              contractId: request.contractId,
              expectedVersion: a.stateCommit.expectedVersion,
              state: a.stateCommit.state,
              stateRoot: a.stateRoot,
              worker: signer,
              requestIds: [a.requestId],
            });
          } else {
            // A result that changed nothing was computed on the committed state, whose root it names.
            const state = S.ContractStates.get(ctx, request.contractId);
            contractsErrors.ensure(
              !state || Buffer.compare(state.stateRoot, a.stateRoot) === 0,
              'StateRootMismatch',
            );
          }
          const fulfillment: FulfillmentValue = {
            publicOutput: a.publicOutput,
            sealedOutput: a.sealedOutput,
            stateRoot: a.stateRoot,
            worker: signer,
            fulfilledAt: ctx.block.number,
          };
          Requests.remove(ctx, a.requestId);
          S.Results.set(ctx, a.requestId, fulfillment);
          events.emit(ctx, 'RequestFulfilled', {
            requestId: a.requestId,
            contractId: request.contractId,
            worker: signer,
            publicOutput: a.publicOutput,
            sealedOutput: a.sealedOutput,
            stateRoot: a.stateRoot,
          });
          origins
            .find((o) => o.name === request.origin.tag)
            ?.onFulfilled?.(ctx, {
              requestId: a.requestId,
              request,
              fulfillment,
              signature: a.signature,
              stateCommit,
            });
        },
      }),
      commitState: call({
        index: 4,
        args: {
          contractId: H256,
          expectedVersion: t.u64,
          state: t.bytes,
          stateRoot: H256,
          requestIds: t.vec(H256),
          signature: EcdsaSignature,
        },
        weight: (a) =>
          weight(
            60_000_000n + BigInt(a.state.length) * 1_000n + BigInt(a.requestIds.length) * 5_000_000n,
            10_000n + BigInt(a.state.length + 32 * a.requestIds.length),
          ),
        docs: [
          "Commits a contract's new encrypted state as version expected_version + 1 for requests this",
          'chain does not hold (EVM origins), naming them, signed by an approved worker of its cluster',
          '(`stateCommitPayload`, v2). A stale expected version is rejected (StaleState): the worker',
          're-runs on the current state. A request pending here brings its state with its fulfilment',
          '(RequestNeedsFulfillment); one fulfilled here already is AlreadyFulfilled; one that state',
          'was committed for already is AlreadyCommitted (a request takes effect once).',
        ],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'signed' && ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          contractsErrors.ensure(a.state.length <= LIMITS.maxStateSize, 'StateTooLarge');
          contractsErrors.ensure(a.requestIds.length > 0, 'NoRequestIds');
          contractsErrors.ensure(a.requestIds.length <= LIMITS.maxCommitRequests, 'TooManyRequestIds');
          const named = new Set<string>();
          for (const id of a.requestIds) {
            contractsErrors.ensure(!Requests.contains(ctx, id), 'RequestNeedsFulfillment');
            contractsErrors.ensure(!S.Results.contains(ctx, id), 'AlreadyFulfilled');
            const key = Buffer.from(id).toString('hex');
            contractsErrors.ensure(
              !named.has(key) && !S.CommittedRequests.contains(ctx, id),
              'AlreadyCommitted',
            );
            named.add(key);
          }
          const contract = S.Contracts.get(ctx, a.contractId);
          if (!contract) throw contractsErrors.fail('ContractNotFound');
          const signer = recoverPayloadSigner(
            stateCommitPayload({
              genesisHash: ctx.block.genesisHash,
              contractId: a.contractId,
              expectedVersion: a.expectedVersion,
              state: a.state,
              stateRoot: a.stateRoot,
              requestIds: a.requestIds,
            }),
            a.signature,
          );
          if (!signer) throw contractsErrors.fail('InvalidWorkerSignature');
          checkWorker(ctx, signer, contract.cluster);
          applyState(ctx, {
            contractId: a.contractId,
            expectedVersion: a.expectedVersion,
            state: a.state,
            stateRoot: a.stateRoot,
            worker: signer,
            requestIds: a.requestIds,
          });
          for (const id of a.requestIds)
            S.CommittedRequests.set(ctx, id, [a.contractId, a.expectedVersion + 1n]);
        },
      }),
      cancel: call({
        index: 5,
        args: { requestId: H256 },
        weight: weight(30_000_000),
        docs: ['Cancels an unfulfilled request after its deadline (by its requester).'],
        handler(ctx, a) {
          const request = Requests.get(ctx, a.requestId);
          if (!request)
            throw contractsErrors.fail(
              S.Results.contains(ctx, a.requestId) ? 'AlreadyFulfilled' : 'RequestNotFound',
            );
          contractsErrors.ensure(isRequester(ctx, request.origin), 'NotRequester');
          contractsErrors.ensure(ctx.block.number > request.deadline, 'DeadlineNotReached');
          Requests.remove(ctx, a.requestId);
          events.emit(ctx, 'RequestCancelled', { requestId: a.requestId, contractId: request.contractId });
        },
      }),
    },
    constants: {
      MaxCodeSize: { type: t.u32, value: LIMITS.maxCodeSize },
      MaxInputSize: { type: t.u32, value: LIMITS.maxInputSize },
      MaxOutputSize: { type: t.u32, value: LIMITS.maxOutputSize },
      MaxStateSize: { type: t.u32, value: LIMITS.maxStateSize },
      MaxSaltLength: { type: t.u32, value: LIMITS.maxSaltLength },
      MaxRequestTtl: { type: BlockNumber, value: LIMITS.maxRequestTtl },
      MaxCommitRequests: { type: t.u32, value: LIMITS.maxCommitRequests },
    },
  });
}

/** Whether a contract exists (for the registry's contract keys). */
export function contractExists(env: Env, contractId: Uint8Array): boolean {
  return contractsStorage.Contracts.contains(env, contractId);
}

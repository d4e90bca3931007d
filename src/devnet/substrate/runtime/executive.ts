import { compactToU8a, u8aConcat } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { Balances } from '../pallets/balances.js';
import { System, SystemLimits } from '../pallets/system.js';
import { TransactionPayment, transactionPaymentEvents } from '../pallets/transaction-payment.js';
import { type Infer, t } from '../scale/ty.js';
import type { StateChanges, StorageReader } from '../storage/state-db.js';
import { StorageOverlay } from '../storage/overlay.js';
import { orderedTrieRoot } from '../storage/trie.js';
import type { BlockInfo, DispatchOutcome, Env, RuntimeEventValue } from './context.js';
import { ExtrinsicFormatError, TransactionValidityError } from './errors.js';
import {
  type DecodedExtrinsic,
  decodeExtrinsic,
  encodeUnsigned,
  eraBirth,
  eraDeath,
  signingPayload,
  verifyMultiSignature,
} from './extrinsic.js';
import type { RuntimeApi } from './pallet.js';
import type { EventRecordValue } from './refs.js';
import type { Runtime } from './runtime.js';
import {
  AccountId,
  Balance,
  DispatchClass,
  type DigestItemValue,
  type DispatchInfoValue,
  H256,
  Header,
  type HeaderValue,
  type PhaseValue,
  Weight,
  type WeightValue,
} from './types.js';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * FRAME's executive: builds blocks (initialize, inherents, extrinsics, finalize with the state and
 * extrinsics roots) and validates transactions for the pool, with the checks of the signed
 * extensions in order: lookup, mortality (AncientBirthBlock), signature (BadProof), non-zero sender,
 * nonce (Stale/Future), weight and length, fee payment.
 */

export class ExecutionEnv implements Env {
  readonly records: EventRecordValue[] = [];
  /** Each record's SCALE, made when it is deposited (a malformed event fails its own dispatch). */
  readonly encodedRecords: Uint8Array[] = [];
  phase: PhaseValue = { tag: 'Initialization' };
  readonly #marks: number[] = [];

  constructor(
    readonly runtime: Runtime,
    readonly storage: StorageOverlay,
    readonly block: BlockInfo,
    readonly inherentData: ReadonlyMap<string, unknown> = new Map(),
  ) {
    // Events are storage in FRAME, so a rolled-back dispatch takes its events with it.
    storage.participate({
      begin: () => this.#marks.push(this.records.length),
      commit: () => void this.#marks.pop(),
      rollback: () => {
        const mark = this.#marks.pop() ?? this.records.length;
        this.records.length = mark;
        this.encodedRecords.length = mark;
      },
    });
  }

  get codec() {
    return this.runtime.codec;
  }

  depositEvent(event: RuntimeEventValue, topics: Uint8Array[] = []): void {
    const record = { phase: this.phase, event, topics };
    this.encodedRecords.push(this.runtime.codec.encode(this.runtime.refs.eventRecord, record));
    this.records.push(record);
  }
}

export type ValidTransaction = {
  priority: bigint;
  requires: Uint8Array[];
  provides: Uint8Array[];
  longevity: bigint;
  propagate: boolean;
};

type CheckedSigned = { who: Uint8Array; nonce: number; fee: bigint; tip: bigint; info: DispatchInfoValue };

const U64_MAX = 2n ** 64n - 1n;

/**
 * Signatures verified once (by the pool) are not verified again when the block is built: the
 * signed payload is fixed by the extrinsic bytes (hash) and the birth block hash, the only
 * chain-dependent part; spec version, tx version and genesis do not change in a dev chain.
 */
const verified = new Map<string, true>();
function verifiedSignature(hash: Uint8Array, birthHash: Uint8Array, verify: () => boolean): boolean {
  const key = `${Buffer.from(hash).toString('hex')}:${Buffer.from(birthHash).toString('hex')}`;
  if (verified.has(key)) return true;
  if (!verify()) return false;
  if (verified.size >= 100_000) verified.clear();
  verified.set(key, true);
  return true;
}

function nonceTag(who: Uint8Array, nonce: number): Uint8Array {
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, nonce, true);
  return u8aConcat(who, n);
}

function withBase(info: DispatchInfoValue): WeightValue {
  return {
    refTime: info.weight.refTime + SystemLimits.baseExtrinsic.refTime,
    proofSize: info.weight.proofSize + SystemLimits.baseExtrinsic.proofSize,
  };
}

/**
 * The checks every signed extrinsic passes, in the order Substrate runs them. `current` is the
 * number of the block the transaction would go in. With `mode: 'validate'` a nonce ahead of the
 * account's is allowed (the pool keeps it as future); with `'apply'` it is `Future`.
 */
function checkSigned(
  env: Env,
  runtime: Runtime,
  ext: DecodedExtrinsic,
  current: number,
  mode: 'validate' | 'apply',
): CheckedSigned {
  const s = ext.signature!;
  if (s.address.tag !== 'Id' && s.address.tag !== 'Address32')
    throw TransactionValidityError.unknown('CannotLookup');
  const who = s.address.value as Uint8Array;
  const birth = eraBirth(s.era, current);
  const birthHash = birth > current ? null : System.blockHash(env, birth);
  if (!birthHash) throw TransactionValidityError.invalid('AncientBirthBlock');
  const payload = signingPayload(ext, {
    specVersion: runtime.version.specVersion,
    transactionVersion: runtime.version.transactionVersion,
    genesisHash: env.block.genesisHash,
    birthHash,
  });
  if (!verifiedSignature(ext.hash, birthHash, () => verifyMultiSignature(payload, s.signature, who))) {
    throw TransactionValidityError.invalid('BadProof');
  }
  if (who.every((b) => b === 0)) throw TransactionValidityError.invalid('BadSigner');
  const account = System.account(env, who);
  if (s.nonce < account.nonce) throw TransactionValidityError.invalid('Stale');
  if (mode === 'apply' && s.nonce > account.nonce) throw TransactionValidityError.invalid('Future');
  const info = runtime.callInfo(ext.call);
  const total = withBase(info);
  const limits = SystemLimits.maxBlock;
  if (total.refTime > limits.refTime || total.proofSize > limits.proofSize) {
    throw TransactionValidityError.invalid('ExhaustsResources');
  }
  if (ext.bytes.length > SystemLimits.maxBlockLength)
    throw TransactionValidityError.invalid('ExhaustsResources');
  const fee = TransactionPayment.fee(env, ext.bytes.length, info, s.tip);
  if (fee > 0n && Balances.free(env, who) < fee + Balances.existentialDeposit(env)) {
    throw TransactionValidityError.invalid('Payment');
  }
  return { who, nonce: s.nonce, fee, tip: s.tip, info };
}

export type ExecutionParams = {
  number: number;
  parentHash: Uint8Array;
  genesisHash: Uint8Array;
  inherentData: ReadonlyMap<string, unknown>;
  digest: DigestItemValue[];
  blockHashCount: number;
};

export type AppliedExtrinsic = { index: number; hash: Uint8Array; outcome: DispatchOutcome; fee: bigint };

export type BuiltBlock = {
  header: HeaderValue;
  hash: Uint8Array;
  /** Each extrinsic's full encoding (with its length prefix). */
  extrinsics: Uint8Array[];
  changes: StateChanges;
  events: EventRecordValue[];
};

/** One block under construction. */
export class BlockExecutor {
  readonly env: ExecutionEnv;
  readonly extrinsics: Uint8Array[] = [];
  #length = 0;
  /** Ref time used by Normal-class extrinsics (CheckWeight keeps it under 75% of the block). */
  #normalRefTime = 0n;
  #finalized = false;

  constructor(
    readonly runtime: Runtime,
    base: StorageReader,
    readonly params: ExecutionParams,
  ) {
    this.env = new ExecutionEnv(
      runtime,
      new StorageOverlay(base),
      { number: params.number, parentHash: params.parentHash, genesisHash: params.genesisHash },
      params.inherentData,
    );
  }

  /** `initialize_block` and the inherents: on_initialize hooks, then each pallet's inherent call. */
  initialize(): void {
    const { env, runtime, params } = this;
    System.initialize(env, params.number, params.parentHash, params.digest);
    for (const { pallet } of runtime.pallets) pallet.hooks.onInitialize?.(env);
    for (const { pallet } of runtime.pallets) {
      const inherent = pallet.hooks.inherent?.(env);
      if (!inherent) continue;
      const call = runtime.call(pallet.name, inherent.call, inherent.args);
      const bytes = encodeUnsigned(runtime.encodeCall(call));
      const index = this.extrinsics.length;
      env.phase = { tag: 'ApplyExtrinsic', value: index };
      const outcome = runtime.dispatch(env, { kind: 'none' }, call);
      if (!outcome.ok)
        throw new Error(`inherent ${pallet.name}.${inherent.call} failed: ${JSON.stringify(outcome.error)}`);
      this.#noteApplied(bytes, outcome);
    }
  }

  /**
   * `apply_extrinsic`: checks, charges the fee, dispatches. Throws TransactionValidityError (or
   * ExtrinsicFormatError) when the extrinsic cannot go in this block; the block is unchanged then.
   */
  apply(bytes: Uint8Array): AppliedExtrinsic {
    const { env, runtime, params } = this;
    const ext = decodeExtrinsic(runtime, bytes);
    if (!ext.signature) {
      const info = runtime.callInfo(ext.call);
      throw TransactionValidityError.invalid(info.class.tag === 'Mandatory' ? 'BadMandatory' : 'Call');
    }
    if (this.#length + bytes.length > SystemLimits.maxBlockLength)
      throw TransactionValidityError.invalid('ExhaustsResources');
    const checked = checkSigned(env, runtime, ext, params.number, 'apply');
    const refTime = withBase(checked.info).refTime;
    if (checked.info.class.tag === 'Normal') {
      if (this.#normalRefTime + refTime > (SystemLimits.maxBlock.refTime * 3n) / 4n) {
        throw TransactionValidityError.invalid('ExhaustsResources');
      }
      this.#normalRefTime += refTime;
    }
    const index = this.extrinsics.length;
    env.phase = { tag: 'ApplyExtrinsic', value: index };
    if (checked.fee > 0n) Balances.withdrawFee(env, checked.who, checked.fee);
    System.incNonce(env, checked.who);
    const outcome = runtime.dispatch(env, { kind: 'signed', account: checked.who }, ext.call);
    if (checked.info.paysFee.tag === 'Yes') {
      transactionPaymentEvents.emit(env, 'TransactionFeePaid', {
        who: checked.who,
        actualFee: checked.fee,
        tip: checked.tip,
      });
    }
    this.#noteApplied(bytes, outcome);
    return { index, hash: ext.hash, outcome, fee: checked.fee };
  }

  #noteApplied(bytes: Uint8Array, outcome: DispatchOutcome): void {
    const { env } = this;
    const info = { ...outcome.info, weight: withBase(outcome.info) };
    if (outcome.ok) {
      env.depositEvent({ tag: 'System', value: { tag: 'ExtrinsicSuccess', value: { dispatchInfo: info } } });
    } else {
      env.depositEvent({
        tag: 'System',
        value: { tag: 'ExtrinsicFailed', value: { dispatchError: outcome.error, dispatchInfo: info } },
      });
    }
    System.addBlockWeight(env, info.class.tag as 'Normal', info.weight);
    this.extrinsics.push(bytes);
    this.#length += bytes.length;
    System.noteExtrinsicCount(env, this.extrinsics.length, this.#length);
  }

  /** `finalize_block`: on_finalize hooks, events, and the header with both roots. */
  finalize(stateRootOf: (changes: StateChanges) => Uint8Array): BuiltBlock {
    if (this.#finalized) throw new Error('block already finalized');
    this.#finalized = true;
    const { env, runtime, params } = this;
    env.phase = { tag: 'Finalization' };
    for (const { pallet } of runtime.pallets) pallet.hooks.onFinalize?.(env);
    const events = env.records;
    // Vec<EventRecord>: compact length, then the records already encoded.
    const encodedEvents = u8aConcat(compactToU8a(events.length), ...env.encodedRecords);
    System.finalize(env, params.number, params.blockHashCount, encodedEvents, events.length);
    const changes = env.storage.changes();
    const header: HeaderValue = {
      parentHash: params.parentHash,
      number: params.number,
      stateRoot: stateRootOf(changes),
      extrinsicsRoot: orderedTrieRoot(this.extrinsics, runtime.version.stateVersion),
      digest: { logs: params.digest },
    };
    return { header, hash: hashHeader(runtime, header), extrinsics: this.extrinsics, changes, events };
  }
}

export function hashHeader(runtime: Runtime, header: HeaderValue): Uint8Array {
  return blake2AsU8a(runtime.codec.encode(Header, header), 256);
}

/** Genesis: every pallet's genesis hook over empty storage. */
export function buildGenesis(runtime: Runtime, empty: StorageReader): StateChanges {
  const env = new ExecutionEnv(runtime, new StorageOverlay(empty), {
    number: 0,
    parentHash: new Uint8Array(32),
    genesisHash: new Uint8Array(32),
  });
  for (const { pallet } of runtime.pallets) pallet.hooks.genesis?.(env);
  return env.storage.changes();
}

export type ChainTip = { number: number; hash: Uint8Array; genesisHash: Uint8Array };

/**
 * `TaggedTransactionQueue::validate_transaction` at `tip`: the transaction as if it went in block
 * tip+1. Throws TransactionValidityError / ExtrinsicFormatError.
 */
export function validateTransaction(
  runtime: Runtime,
  state: StorageReader,
  tip: ChainTip,
  bytes: Uint8Array,
): { ext: DecodedExtrinsic; validity: ValidTransaction; who: Uint8Array | null; nonce: number } {
  const ext = decodeExtrinsic(runtime, bytes);
  const env = new ExecutionEnv(runtime, new StorageOverlay(state), {
    number: tip.number + 1,
    parentHash: tip.hash,
    genesisHash: tip.genesisHash,
  });
  // What System::initialize would set for the next block, so mortality checks see tip's hash.
  System.initialize(env, tip.number + 1, tip.hash, []);
  if (!ext.signature) {
    const info = runtime.callInfo(ext.call);
    if (info.class.tag === 'Mandatory') throw TransactionValidityError.invalid('MandatoryValidation');
    throw TransactionValidityError.unknown('NoUnsignedValidator');
  }
  const checked = checkSigned(env, runtime, ext, tip.number + 1, 'validate');
  const account = System.account(env, checked.who);
  const s = ext.signature;
  const current = tip.number + 1;
  return {
    ext,
    who: checked.who,
    nonce: checked.nonce,
    validity: {
      priority: checked.tip,
      requires: checked.nonce > account.nonce ? [nonceTag(checked.who, checked.nonce - 1)] : [],
      provides: [nonceTag(checked.who, checked.nonce)],
      longevity: s.era.kind === 'immortal' ? U64_MAX : BigInt(eraDeath(s.era, current) - current),
      propagate: true,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Runtime APIs of the executive and transaction payment.

const TransactionSource = t.enum('sp_runtime::transaction_validity::TransactionSource', {
  InBlock: {},
  Local: {},
  External: {},
});
const InvalidTransaction = t.enum('sp_runtime::transaction_validity::InvalidTransaction', {
  Call: {},
  Payment: {},
  Future: {},
  Stale: {},
  BadProof: {},
  AncientBirthBlock: {},
  ExhaustsResources: {},
  Custom: { fields: t.u8 },
  BadMandatory: {},
  MandatoryValidation: {},
  BadSigner: {},
  IndeterminateImplicit: {},
  UnknownOrigin: {},
});
const UnknownTransaction = t.enum('sp_runtime::transaction_validity::UnknownTransaction', {
  CannotLookup: {},
  NoUnsignedValidator: {},
  Custom: { fields: t.u8 },
});
const TransactionValidityErrorTy = t.enum('sp_runtime::transaction_validity::TransactionValidityError', {
  Invalid: { fields: InvalidTransaction },
  Unknown: { fields: UnknownTransaction },
});
const ValidTransactionTy = t.struct('sp_runtime::transaction_validity::ValidTransaction', {
  priority: t.u64,
  requires: t.vec(t.bytes),
  provides: t.vec(t.bytes),
  longevity: t.u64,
  propagate: t.bool,
});
export const RuntimeDispatchInfo = t.struct(
  'pallet_transaction_payment::types::RuntimeDispatchInfo',
  { weight: Weight, class: DispatchClass, partialFee: Balance },
  {
    params: [
      { name: 'Balance', type: Balance },
      { name: 'Weight', type: Weight },
    ],
  },
);
const InclusionFee = t.struct(
  'pallet_transaction_payment::types::InclusionFee',
  { baseFee: Balance, lenFee: Balance, adjustedWeightFee: Balance },
  { params: [{ name: 'Balance', type: Balance }] },
);
export const FeeDetailsTy = t.struct(
  'pallet_transaction_payment::types::FeeDetails',
  { inclusionFee: t.option(InclusionFee), tip: Balance },
  { params: [{ name: 'Balance', type: Balance }] },
);

type TransactionValidityValue = Infer<
  ReturnType<typeof t.result<Infer<typeof ValidTransactionTy>, Infer<typeof TransactionValidityErrorTy>>>
>;

/** The executive's runtime APIs, as a real runtime implements them. */
export function executiveApis(runtime: Runtime): RuntimeApi[] {
  const opaque = runtime.uncheckedExtrinsicTy;
  const tipOf = (env: Env): ChainTip => ({
    number: env.block.number,
    hash: env.block.hash ?? env.block.parentHash,
    genesisHash: env.block.genesisHash,
  });
  const decodeOpaque = (body: Uint8Array) =>
    decodeExtrinsic(runtime, u8aConcat(compactToU8a(body.length), body));
  const dispatchInfo = (env: Env, body: Uint8Array, length: number) => {
    const ext = decodeOpaque(body);
    const info = runtime.callInfo(ext.call);
    const details = ext.signature
      ? TransactionPayment.feeDetails(env, length, info, ext.signature.tip)
      : { baseFee: 0n, lenFee: 0n, adjustedWeightFee: 0n, tip: 0n };
    return { info, details, signed: Boolean(ext.signature) };
  };
  return [
    {
      name: 'TaggedTransactionQueue',
      version: 3,
      docs: ['The `TaggedTransactionQueue` api trait for interfering with the transaction queue.'],
      methods: {
        validate_transaction: {
          inputs: [
            { name: 'source', type: TransactionSource },
            { name: 'tx', type: opaque },
            { name: 'block_hash', type: H256 },
          ],
          output: t.result(ValidTransactionTy, TransactionValidityErrorTy),
          docs: ['Validate the transaction.'],
          handler(env, [, tx]): TransactionValidityValue {
            const body = tx as Uint8Array;
            try {
              const { validity } = validateTransaction(
                runtime,
                env.storage,
                tipOf(env),
                u8aConcat(compactToU8a(body.length), body),
              );
              return { tag: 'Ok', value: validity };
            } catch (error) {
              if (error instanceof TransactionValidityError) {
                const v = error.validity;
                return {
                  tag: 'Err',
                  value:
                    v.kind === 'invalid'
                      ? { tag: 'Invalid', value: { tag: v.reason } }
                      : { tag: 'Unknown', value: { tag: v.reason } },
                } as TransactionValidityValue;
              }
              if (error instanceof ExtrinsicFormatError) throw error;
              throw error;
            }
          },
        },
      },
    },
    {
      name: 'AccountNonceApi',
      version: 1,
      docs: ['The API to query account nonce.'],
      methods: {
        account_nonce: {
          inputs: [{ name: 'account', type: AccountId }],
          output: t.u32,
          docs: ['Get current account nonce of given `AccountId`.'],
          handler: (env, [account]) => System.account(env, account as Uint8Array).nonce,
        },
      },
    },
    {
      name: 'TransactionPaymentApi',
      version: 4,
      methods: {
        query_info: {
          inputs: [
            { name: 'uxt', type: opaque },
            { name: 'len', type: t.u32 },
          ],
          output: RuntimeDispatchInfo,
          handler(env, [uxt, len]) {
            const { info, details, signed } = dispatchInfo(env, uxt as Uint8Array, len as number);
            const fee = signed ? details.baseFee + details.lenFee + details.adjustedWeightFee : 0n;
            return { weight: info.weight, class: info.class, partialFee: fee };
          },
        },
        query_fee_details: {
          inputs: [
            { name: 'uxt', type: opaque },
            { name: 'len', type: t.u32 },
          ],
          output: FeeDetailsTy,
          handler(env, [uxt, len]) {
            const { details, signed, info } = dispatchInfo(env, uxt as Uint8Array, len as number);
            const paying = signed && info.paysFee.tag === 'Yes';
            return {
              inclusionFee: paying
                ? {
                    baseFee: details.baseFee,
                    lenFee: details.lenFee,
                    adjustedWeightFee: details.adjustedWeightFee,
                  }
                : null,
              tip: details.tip,
            };
          },
        },
        query_weight_to_fee: {
          inputs: [{ name: 'weight', type: Weight }],
          output: Balance,
          handler: (env, [w]) => TransactionPayment.weightToFee(env, w as WeightValue),
        },
        query_length_to_fee: {
          inputs: [{ name: 'length', type: t.u32 }],
          output: Balance,
          handler: (env, [length]) => TransactionPayment.lengthToFee(env, length as number),
        },
      },
    },
  ];
}

/** Runs a runtime API method (`state_call`) against a state; returns the SCALE output. */
export function callRuntimeApi(
  runtime: Runtime,
  method: string,
  input: Uint8Array,
  state: StorageReader,
  block: BlockInfo,
): Uint8Array {
  const m = runtime.apiMethod(method);
  if (!m) throw new RuntimeApiError(`Exported method ${method} is not found`);
  const values: unknown[] = [];
  let offset = 0;
  for (const param of m.inputs) {
    try {
      const { value, length } = runtime.codec.decodePrefix(param.type, input.subarray(offset));
      values.push(value);
      offset += length;
    } catch (error) {
      throw new RuntimeApiError(
        `Could not decode \`${param.name}\` of ${method}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  if (offset !== input.length)
    throw new RuntimeApiError(`${method}: ${input.length - offset} bytes of input left over`);
  const env = new ExecutionEnv(runtime, new StorageOverlay(state), block);
  const output = m.handler(env, values);
  return runtime.codec.encode(m.output, output);
}

export class RuntimeApiError extends BaseError {
  /** A call the runtime does not have, or input it does not decode. */
  static override readonly retry: Retry = 'never';
  override name = 'RuntimeApiError';
}

export type { EventRecordValue };

import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Env, RuntimeHandle } from '../runtime/context.js';
import { DispatchFailure } from '../runtime/errors.js';
import {
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageMap,
  storageValue,
  weight,
} from '../runtime/pallet.js';
import type { Pallet } from '../runtime/pallet.js';
import type { EventRecordValue, RuntimeRefs } from '../runtime/refs.js';
import { runtimeVersionValue } from '../runtime/version.js';
import {
  AccountId,
  AccountInfo,
  type AccountInfoValue,
  BlockNumber,
  Digest,
  type DigestItemValue,
  DispatchError,
  DispatchInfo,
  H256,
  Phase,
  RuntimeVersionTy,
  Weight,
  type WeightValue,
} from '../runtime/types.js';
import { type Infer, t } from '../scale/ty.js';
import { storagePrefix } from '../storage/keys.js';

export const SYSTEM = 'System';
const CRATE = 'frame_system';

const PerDispatchClassWeight = t.struct(
  'frame_support::dispatch::PerDispatchClass',
  { normal: Weight, operational: Weight, mandatory: Weight },
  { params: [{ name: 'T', type: Weight }] },
);
const PerDispatchClassU32 = t.struct(
  'frame_support::dispatch::PerDispatchClass',
  { normal: t.u32, operational: t.u32, mandatory: t.u32 },
  { params: [{ name: 'T', type: t.u32 }] },
);
const WeightsPerClass = t.struct('frame_system::limits::WeightsPerClass', {
  baseExtrinsic: Weight,
  maxExtrinsic: t.option(Weight),
  maxTotal: t.option(Weight),
  reserved: t.option(Weight),
});
const BlockWeights = t.struct('frame_system::limits::BlockWeights', {
  baseBlock: Weight,
  maxBlock: Weight,
  perClass: t.struct(
    'frame_support::dispatch::PerDispatchClass',
    { normal: WeightsPerClass, operational: WeightsPerClass, mandatory: WeightsPerClass },
    { params: [{ name: 'T', type: WeightsPerClass }] },
  ),
});
const BlockLength = t.struct('frame_system::limits::BlockLength', { max: PerDispatchClassU32 });
const RuntimeDbWeight = t.struct('sp_weights::RuntimeDbWeight', { read: t.u64, write: t.u64 });
const LastRuntimeUpgradeInfo = t.struct('frame_system::LastRuntimeUpgradeInfo', {
  specVersion: t.compact(t.u32),
  specName: t.str,
});

export const ZERO_HASH = new Uint8Array(32);
/** FRAME's genesis placeholder for BlockHash[0] and ParentHash, replaced when block 1 starts. */
const HASH69 = new Uint8Array(32).fill(69);

export const SystemLimits = {
  /** Weight of the block itself and of each extrinsic before its call (real-chain magnitudes). */
  baseBlock: weight(5_000_000_000n, 0n),
  baseExtrinsic: weight(125_000_000n, 0n),
  maxBlock: weight(2_000_000_000_000n, 5_242_880n),
  maxBlockLength: 5 * 1024 * 1024,
};

export const systemStorage = {
  Account: storageMap({
    hasher: 'Blake2_128Concat',
    key: AccountId,
    value: AccountInfo,
    default: {
      nonce: 0,
      consumers: 0,
      providers: 0,
      sufficients: 0,
      data: { free: 0n, reserved: 0n, frozen: 0n, flags: 0n },
    },
    docs: [' The full account information for a particular account ID.'],
  }),
  ExtrinsicCount: storageValue({ value: t.u32, docs: [' Total extrinsics count for the current block.'] }),
  BlockWeight: storageValue({
    value: PerDispatchClassWeight,
    default: {
      normal: { refTime: 0n, proofSize: 0n },
      operational: { refTime: 0n, proofSize: 0n },
      mandatory: { refTime: 0n, proofSize: 0n },
    },
    docs: [' The current weight for the block.'],
  }),
  AllExtrinsicsLen: storageValue({
    value: t.u32,
    docs: [' Total length (in bytes) for all extrinsics put together, for the current block.'],
  }),
  BlockHash: storageMap({
    hasher: 'Twox64Concat',
    key: BlockNumber,
    value: H256,
    default: ZERO_HASH,
    docs: [' Map of block numbers to block hashes.'],
  }),
  ExtrinsicData: storageMap({
    hasher: 'Twox64Concat',
    key: t.u32,
    value: t.bytes,
    default: new Uint8Array(),
    docs: [" Extrinsics data for the current block (maps an extrinsic's index to its data)."],
  }),
  Number: storageValue({
    value: BlockNumber,
    default: 0,
    docs: [' The current block number being processed. Set by `execute_block`.'],
  }),
  ParentHash: storageValue({ value: H256, default: ZERO_HASH, docs: [' Hash of the previous block.'] }),
  Digest: storageValue({
    value: Digest,
    default: { logs: [] },
    docs: [' Digest of the current block, also part of the block header.'],
  }),
  EventCount: storageValue({
    value: t.u32,
    default: 0,
    docs: [' The number of events in the `Events<T>` list.'],
  }),
  EventTopics: storageMap({
    hasher: 'Blake2_128Concat',
    key: H256,
    value: t.vec(t.tuple(BlockNumber, t.u32)),
    default: [],
    docs: [
      ' Mapping between a topic (represented by T::Hash) and a vector of indexes of events in the `<Events<T>>` list.',
    ],
  }),
  LastRuntimeUpgrade: storageValue({
    value: LastRuntimeUpgradeInfo,
    docs: [' Stores the `spec_version` and `spec_name` of when the last runtime upgrade happened.'],
  }),
  UpgradedToU32RefCount: storageValue({
    value: t.bool,
    default: false,
    docs: [' True if we have upgraded so that `type RefCount` is `u32`. False (default) if not.'],
  }),
  UpgradedToTripleRefCount: storageValue({
    value: t.bool,
    default: false,
    docs: [' True if we have upgraded so that AccountInfo contains three types of `RefCount`.'],
  }),
  ExecutionPhase: storageValue({ value: Phase, docs: [' The execution phase of the block.'] }),
};

function eventsItem(refs: RuntimeRefs) {
  return storageValue({
    value: t.vec(refs.eventRecord),
    default: [] as EventRecordValue[],
    docs: [' Events deposited for the current block.'],
  });
}

export const systemEvents = defineEvents(SYSTEM, CRATE, {
  ExtrinsicSuccess: {
    fields: { dispatchInfo: DispatchInfo },
    docs: ['An extrinsic completed successfully.'],
  },
  ExtrinsicFailed: {
    fields: { dispatchError: DispatchError, dispatchInfo: DispatchInfo },
    docs: ['An extrinsic failed.'],
  },
  CodeUpdated: { docs: ['`:code` was updated.'] },
  NewAccount: { fields: { account: AccountId }, docs: ['A new account was created.'] },
  KilledAccount: { fields: { account: AccountId }, docs: ['An account was reaped.'] },
  Remarked: { fields: { sender: AccountId, hash: H256 }, docs: ['On on-chain remark happened.'] },
});

export const systemErrors = defineErrors(SYSTEM, CRATE, {
  InvalidSpecName:
    'The name of specification does not match between the current runtime and the new runtime.',
  SpecVersionNeedsToIncrease:
    'The specification version is not allowed to decrease between the current runtime and the new runtime.',
  FailedToExtractRuntimeVersion: 'Failed to extract the runtime version from the new runtime.',
  NonDefaultComposite: 'Suicide called when the account has non-default composite data.',
  NonZeroRefCount: 'There is a non-zero reference count preventing the account from being purged.',
  CallFiltered: 'The origin filter prevent the call to be dispatched.',
});

export type SystemConfig = {
  refs: RuntimeRefs;
  blockHashCount: number;
  ss58Prefix: number;
};

/** `System.Events`: written once per block by the executive with the runtime's own EventRecord type. */
export const EVENTS_KEY = u8aToHex(storagePrefix(SYSTEM, 'Events'));

function ensureRoot(origin: { kind: string }): void {
  if (origin.kind !== 'root') throw DispatchFailure.badOrigin();
}

export function systemPallet(config: SystemConfig): Pallet {
  return definePallet({
    name: SYSTEM,
    crate: CRATE,
    docs: [],
    // Events' type names this runtime's RuntimeEvent, so each runtime gets its own item.
    storage: { ...systemStorage, Events: eventsItem(config.refs) },
    events: systemEvents,
    errors: systemErrors,
    calls: {
      remark: call({
        index: 0,
        args: { remark: t.bytes },
        weight: weight(1_000_000, 0),
        docs: ['Make some on-chain remark.', '', 'Can be executed by every `origin`.'],
        handler() {},
      }),
      setStorage: call({
        index: 4,
        args: { items: t.vec(t.tuple(t.bytes, t.bytes)) },
        weight: weight(10_000_000, 0),
        docs: ['Set some items of storage.'],
        handler(ctx, { items }) {
          ensureRoot(ctx.origin);
          for (const [key, value] of items) ctx.storage.set(u8aToHex(key), value);
        },
      }),
      killStorage: call({
        index: 5,
        args: { keys: t.vec(t.bytes) },
        weight: weight(10_000_000, 0),
        docs: ['Kill some items from storage.'],
        handler(ctx, { keys }) {
          ensureRoot(ctx.origin);
          for (const key of keys) ctx.storage.set(u8aToHex(key), null);
        },
      }),
      killPrefix: call({
        index: 6,
        args: { prefix: t.bytes, subkeys: t.u32 },
        weight: weight(10_000_000, 0),
        docs: ['Kill all storage items with a key that starts with the given prefix.'],
        handler(ctx, { prefix, subkeys }) {
          ensureRoot(ctx.origin);
          for (const key of ctx.storage.keys(u8aToHex(prefix), Math.max(subkeys, 1)))
            ctx.storage.set(key, null);
        },
      }),
      remarkWithEvent: call({
        index: 7,
        args: { remark: t.bytes },
        weight: weight(2_000_000, 0),
        docs: ['Make some on-chain remark and emit event.'],
        handler(ctx, { remark }) {
          if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
          systemEvents.emit(ctx, 'Remarked', { sender: ctx.origin.account, hash: blake2AsU8a(remark, 256) });
        },
      }),
    },
    constants: {
      BlockWeights: {
        type: BlockWeights,
        value: blockWeightsValue(),
        docs: [' Block & extrinsics weights: base values and limits.'],
      },
      BlockLength: {
        type: BlockLength,
        value: {
          max: {
            normal: (SystemLimits.maxBlockLength * 3) / 4,
            operational: SystemLimits.maxBlockLength,
            mandatory: SystemLimits.maxBlockLength,
          },
        },
        docs: [' The maximum length of a block (in bytes).'],
      },
      BlockHashCount: {
        type: BlockNumber,
        value: config.blockHashCount,
        docs: [' Maximum number of block number to block hash mappings to keep (oldest pruned first).'],
      },
      DbWeight: {
        type: RuntimeDbWeight,
        value: { read: 25_000_000n, write: 100_000_000n },
        docs: [' The weight of runtime database operations the runtime can invoke.'],
      },
      Version: {
        type: RuntimeVersionTy,
        value: (runtime: RuntimeHandle) => runtimeVersionValue(runtime.version),
        docs: [" Get the chain's in-code version."],
      },
      SS58Prefix: {
        type: t.u16,
        value: config.ss58Prefix,
        docs: [' The designated SS58 prefix of this chain.'],
      },
    },
    hooks: {
      genesis(env) {
        systemStorage.BlockHash.set(env, 0, HASH69);
        systemStorage.ParentHash.set(env, HASH69);
        systemStorage.UpgradedToU32RefCount.set(env, true);
        systemStorage.UpgradedToTripleRefCount.set(env, true);
      },
    },
  });
}

function blockWeightsValue() {
  const perClass = (max: WeightValue | null, reserved: WeightValue | null) => ({
    baseExtrinsic: SystemLimits.baseExtrinsic,
    maxExtrinsic: max,
    maxTotal: max,
    reserved,
  });
  const normal = {
    refTime: (SystemLimits.maxBlock.refTime * 3n) / 4n,
    proofSize: (SystemLimits.maxBlock.proofSize * 3n) / 4n,
  };
  return {
    baseBlock: SystemLimits.baseBlock,
    maxBlock: SystemLimits.maxBlock,
    perClass: {
      normal: perClass(normal, { refTime: 0n, proofSize: 0n }),
      operational: perClass(SystemLimits.maxBlock, SystemLimits.maxBlock),
      mandatory: perClass(null, null),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Functions other pallets and the executive use (FRAME's `frame_system::Pallet<T>` API).

export const System = {
  account(env: Env, who: Uint8Array): AccountInfoValue {
    return systemStorage.Account.get(env, who);
  },
  setAccount(env: Env, who: Uint8Array, info: AccountInfoValue): void {
    systemStorage.Account.set(env, who, info);
  },
  /** Whether the account exists (has a provider or sufficient reference). */
  exists(env: Env, who: Uint8Array): boolean {
    const a = systemStorage.Account.get(env, who);
    return a.providers > 0 || a.sufficients > 0;
  },
  blockNumber(env: Env): number {
    return systemStorage.Number.get(env);
  },
  blockHash(env: Env, number: number): Uint8Array | null {
    return systemStorage.BlockHash.contains(env, number) ? systemStorage.BlockHash.get(env, number) : null;
  },
  /** `System::initialize`: the block number, parent hash and digest of the block being built. */
  initialize(env: Env, number: number, parentHash: Uint8Array, digest: DigestItemValue[]): void {
    systemStorage.ExecutionPhase.set(env, { tag: 'Initialization' });
    systemStorage.Number.set(env, number);
    systemStorage.Digest.set(env, { logs: digest });
    systemStorage.ParentHash.set(env, parentHash);
    systemStorage.BlockHash.set(env, number - 1, parentHash);
    env.storage.set(EVENTS_KEY, null);
    systemStorage.EventCount.kill(env);
    systemStorage.BlockWeight.kill(env);
  },
  /** `System::finalize`: prunes old block hashes; the executive computes the roots. */
  finalize(
    env: Env,
    number: number,
    blockHashCount: number,
    encodedEvents: Uint8Array,
    eventCount: number,
  ): void {
    systemStorage.ExecutionPhase.kill(env);
    systemStorage.ExtrinsicCount.kill(env);
    systemStorage.AllExtrinsicsLen.kill(env);
    const toRemove = number - blockHashCount - 1;
    if (toRemove > 0) systemStorage.BlockHash.remove(env, toRemove);
    env.storage.set(EVENTS_KEY, eventCount ? encodedEvents : null);
    systemStorage.EventCount.set(env, eventCount);
  },
  noteExtrinsicCount(env: Env, count: number, length: number): void {
    systemStorage.ExtrinsicCount.set(env, count);
    systemStorage.AllExtrinsicsLen.set(env, length);
  },
  setPhase(env: Env, phase: Infer<typeof Phase>): void {
    systemStorage.ExecutionPhase.set(env, phase);
  },
  addBlockWeight(env: Env, cls: 'Normal' | 'Operational' | 'Mandatory', w: WeightValue): void {
    systemStorage.BlockWeight.mutate(env, (current) => {
      const key = cls === 'Normal' ? 'normal' : cls === 'Operational' ? 'operational' : 'mandatory';
      const c = current[key];
      return { ...current, [key]: { refTime: c.refTime + w.refTime, proofSize: c.proofSize + w.proofSize } };
    });
  },
  incNonce(env: Env, who: Uint8Array): void {
    const a = systemStorage.Account.get(env, who);
    systemStorage.Account.set(env, who, { ...a, nonce: a.nonce + 1 });
  },
};

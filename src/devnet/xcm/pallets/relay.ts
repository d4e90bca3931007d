import { location } from '../../../xcm/location.js';
import type { Env } from '../../substrate/runtime/context.js';
import { DispatchFailure } from '../../substrate/runtime/errors.js';
import {
  type Pallet,
  call,
  defineEvents,
  definePallet,
  storageMap,
  storageValue,
  weight,
} from '../../substrate/runtime/pallet.js';
import { BlockNumber } from '../../substrate/runtime/types.js';
import { t } from '../../substrate/scale/ty.js';
import type { XcmChain } from '../chain.js';
import { processXcmMessage } from '../process.js';
import {
  HrmpChannelId,
  InboundDownwardMessage,
  type InboundDownwardMessageValue,
  InboundHrmpMessage,
  type InboundHrmpMessageValue,
  PARAS_INHERENT,
  ParaId,
  ParachainsInherentData,
  type ParachainsInherentDataValue,
} from '../types.js';

/**
 * The relay chain side: Paras (registered parachains and their heads), ParaInherent (the
 * inherent that includes parachain candidates: their upward messages are processed here, their
 * horizontal messages stored for the recipient, and the messages they have processed pruned),
 * ParaInclusion (its events), Dmp (downward queues) and Hrmp (channel contents and watermarks),
 * with the storage names and layouts of polkadot-runtime-parachains.
 */

export const parasStorage = {
  Parachains: storageValue({
    value: t.vec(ParaId),
    default: [] as number[],
    docs: [' All currently active parachains, sorted.'],
  }),
  Heads: storageMap({
    hasher: 'Twox64Concat',
    key: ParaId,
    value: t.bytes,
    docs: [' The head-data of every registered para (here: the hash of its last included block).'],
  }),
  MostRecentBlock: storageMap({
    hasher: 'Twox64Concat',
    key: ParaId,
    value: BlockNumber,
    default: 0,
    docs: [' Devnet: the number of the last parachain block included.'],
  }),
};

export const dmpStorage = {
  DownwardMessageQueues: storageMap({
    hasher: 'Twox64Concat',
    key: ParaId,
    value: t.vec(InboundDownwardMessage),
    default: [] as InboundDownwardMessageValue[],
    docs: [' The downward messages addressed for a certain para.'],
  }),
};

export const hrmpStorage = {
  HrmpChannelContents: storageMap({
    hasher: 'Twox64Concat',
    key: HrmpChannelId,
    value: t.vec(InboundHrmpMessage),
    default: [] as InboundHrmpMessageValue[],
    docs: [' Storage for the messages for each channel.'],
  }),
  HrmpWatermarks: storageMap({
    hasher: 'Twox64Concat',
    key: ParaId,
    value: BlockNumber,
    docs: [' The HRMP watermark associated with each para.'],
  }),
};

const inclusionEvents = defineEvents('ParaInclusion', 'polkadot_runtime_parachains::inclusion', {
  UpwardMessagesReceived: {
    index: 3,
    fields: { from: ParaId, count: t.u32 },
    docs: ['Some upward messages have been received and will be processed.'],
  },
});

/** Queues a downward message for a parachain (dmp::queue_downward_message). */
export function sendDownward(env: Env, recipient: number, message: Uint8Array): void {
  dmpStorage.DownwardMessageQueues.mutate(env, [recipient], (queue) => [
    ...queue,
    { sentAt: env.block.number, msg: message },
  ]);
}

export function parasPallet(paras: number[]): Pallet {
  return definePallet({
    name: 'Paras',
    crate: 'polkadot_runtime_parachains::paras',
    storage: parasStorage,
    hooks: {
      genesis(env) {
        parasStorage.Parachains.set(
          env,
          [...paras].sort((a, b) => a - b),
        );
      },
    },
  });
}

export function paraInclusionPallet(): Pallet {
  return definePallet({
    name: 'ParaInclusion',
    crate: 'polkadot_runtime_parachains::inclusion',
    events: inclusionEvents,
  });
}

export function dmpPallet(): Pallet {
  return definePallet({ name: 'Dmp', crate: 'polkadot_runtime_parachains::dmp', storage: dmpStorage });
}

export function hrmpPallet(): Pallet {
  return definePallet({ name: 'Hrmp', crate: 'polkadot_runtime_parachains::hrmp', storage: hrmpStorage });
}

export function paraInherentPallet(chain: () => XcmChain): Pallet {
  const Included = storageValue({
    value: t.unit,
    docs: [' Whether the paras inherent was included in this block.'],
  });
  return definePallet({
    name: 'ParaInherent',
    crate: 'polkadot_runtime_parachains::paras_inherent',
    storage: { Included },
    calls: {
      enter: call({
        index: 0,
        args: { data: ParachainsInherentData },
        weight: (a) => weight(10_000_000n + BigInt(a.data.backedCandidates.length) * 5_000_000n, 20_000n),
        class: 'Mandatory',
        paysFee: false,
        docs: ['Enter the paras inherent: include the backed candidates, route their messages.'],
        handler(ctx, { data }) {
          if (ctx.origin.kind !== 'none') throw DispatchFailure.badOrigin();
          include(ctx, chain(), data);
          Included.set(ctx, null);
        },
      }),
    },
    hooks: {
      onInitialize(env) {
        Included.kill(env);
      },
      inherent(env) {
        const data = env.inherentData.get(PARAS_INHERENT) as ParachainsInherentDataValue | undefined;
        return data ? { call: 'enter', args: { data } } : null;
      },
    },
  });
}

const MAX_HRMP_MESSAGE = 100 * 1024;

function include(
  ctx: Parameters<typeof processXcmMessage>[0],
  chain: XcmChain,
  data: ParachainsInherentDataValue,
): void {
  const registered = new Set(parasStorage.Parachains.get(ctx));
  for (const { candidate } of data.backedCandidates) {
    const { descriptor, commitments } = candidate;
    const para = descriptor.paraId;
    if (!registered.has(para)) continue;
    // Each parachain block is included once, in order.
    if (descriptor.paraBlockNumber <= parasStorage.MostRecentBlock.get(ctx, para)) continue;
    parasStorage.MostRecentBlock.set(ctx, para, descriptor.paraBlockNumber);
    parasStorage.Heads.set(ctx, para, descriptor.paraHead);

    // What the parachain has processed is pruned: downward and horizontal messages sent at or
    // before its watermark (the relay parent it last built on).
    const watermark = commitments.hrmpWatermark;
    dmpStorage.DownwardMessageQueues.mutate(ctx, [para], (queue) => {
      const kept = queue.filter((m) => m.sentAt > watermark);
      return kept.length ? kept : null;
    });
    for (const sender of registered) {
      if (sender === para) continue;
      hrmpStorage.HrmpChannelContents.mutate(ctx, [{ sender, recipient: para }], (contents) => {
        const kept = contents.filter((m) => m.sentAt > watermark);
        return kept.length ? kept : null;
      });
    }
    hrmpStorage.HrmpWatermarks.set(ctx, para, watermark);

    for (const message of commitments.horizontalMessages) {
      // Channels between registered parachains are open; others have none.
      if (!registered.has(message.recipient) || message.recipient === para) continue;
      if (message.data.length > MAX_HRMP_MESSAGE) continue;
      hrmpStorage.HrmpChannelContents.mutate(ctx, [{ sender: para, recipient: message.recipient }], (c) => [
        ...c,
        { sentAt: ctx.block.number, data: message.data },
      ]);
    }

    if (commitments.upwardMessages.length > 0) {
      inclusionEvents.emit(ctx, 'UpwardMessagesReceived', {
        from: para,
        count: commitments.upwardMessages.length,
      });
    }
    const origin = { tag: 'Ump' as const, value: { tag: 'Para' as const, value: para } };
    const from = location(0, [{ parachain: para }]);
    for (const message of commitments.upwardMessages)
      processXcmMessage(ctx, chain, { origin, from, message });
  }
}

export type { Env };

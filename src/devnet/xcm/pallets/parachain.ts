import { messageHash } from '../../../xcm/message-id.js';
import { decodeXcmpPage, encodeXcmpPage } from '../../../xcm/xcmp.js';
import { DispatchFailure } from '../../substrate/runtime/errors.js';
import type { Env } from '../../substrate/runtime/context.js';
import {
  type Pallet,
  call,
  defineEvents,
  definePallet,
  storageValue,
  weight,
} from '../../substrate/runtime/pallet.js';
import { BlockNumber, H256, Weight } from '../../substrate/runtime/types.js';
import { t } from '../../substrate/scale/ty.js';
import { fromHex } from '../../../base/bytes.js';
import type { XcmChain } from '../chain.js';
import { paraLocation } from '../locations.js';
import { processXcmMessage } from '../process.js';
import {
  OutboundHrmpMessage,
  type OutboundHrmpMessageValue,
  PARACHAIN_INHERENT,
  ParaId,
  ParachainInherentData,
  type ParachainInherentDataValue,
} from '../types.js';
import { location } from '../../../xcm/location.js';

/**
 * The parachain side of the relay devnet: ParachainSystem (the `set_validation_data` inherent
 * that brings downward and horizontal messages in, and the upward and outbound HRMP messages a
 * block leaves in storage for its candidate, as cumulus does), ParachainInfo (the para id) and
 * XcmpQueue (HRMP pages out, `XcmpMessageSent`; pages in, split and processed per message).
 */

export const PARACHAIN_SYSTEM = 'ParachainSystem';
export const XCMP_QUEUE = 'XcmpQueue';

export const parachainSystemStorage = {
  PendingUpwardMessages: storageValue({
    value: t.vec(t.bytes),
    default: [] as Uint8Array[],
    docs: [' Upward messages sent in this block so far.'],
  }),
  UpwardMessages: storageValue({
    value: t.vec(t.bytes),
    default: [] as Uint8Array[],
    docs: [' Upward messages this block sends (what its candidate carries to the relay chain).'],
  }),
  HrmpOutboundMessages: storageValue({
    value: t.vec(OutboundHrmpMessage),
    default: [] as OutboundHrmpMessageValue[],
    docs: [' HRMP messages this block sends (one XCMP page per recipient).'],
  }),
  LastRelayChainBlockNumber: storageValue({
    value: BlockNumber,
    default: 0,
    docs: [' The relay parent of the last block: every DMP/HRMP message sent at or before it is processed.'],
  }),
  ProcessedDownwardMessages: storageValue({
    value: t.u32,
    default: 0,
    docs: [' Downward messages processed in this block.'],
  }),
  HrmpWatermark: storageValue({ value: BlockNumber, default: 0, docs: [' HRMP watermark of this block.'] }),
};

const parachainSystemEvents = defineEvents(PARACHAIN_SYSTEM, 'cumulus_pallet_parachain_system', {
  DownwardMessagesReceived: {
    index: 3,
    fields: { count: t.u32 },
    docs: ['Some downward messages have been received and will be processed.'],
  },
  DownwardMessagesProcessed: {
    index: 4,
    fields: { weightUsed: Weight, dmqHead: H256 },
    docs: ['Downward messages were processed using the given weight.'],
  },
  UpwardMessageSent: {
    index: 5,
    fields: { messageHash: t.option(t.fixedBytes(32)) },
    docs: ['An upward message was sent to the relay chain.'],
  },
});

export const xcmpQueueStorage = {
  OutboundMessages: storageValue({
    value: t.vec(t.tuple(ParaId, t.bytes)),
    default: [] as [number, Uint8Array][],
    docs: [' Devnet: messages to siblings sent in this block, paged at the end of the block.'],
  }),
};

const xcmpQueueEvents = defineEvents(XCMP_QUEUE, 'cumulus_pallet_xcmp_queue', {
  XcmpMessageSent: {
    index: 0,
    fields: { messageHash: t.fixedBytes(32) },
    docs: ['An HRMP message was sent to a sibling parachain.'],
  },
});

export const parachainInfoStorage = {
  ParachainId: storageValue({ value: ParaId, default: 100 }),
};

/** Queues an upward message (ParachainSystem::send_upward_message). */
export function sendUpward(env: Env, message: Uint8Array): void {
  parachainSystemStorage.PendingUpwardMessages.mutate(env, (pending) => [...pending, message]);
  parachainSystemEvents.emit(env, 'UpwardMessageSent', {
    messageHash: fromHex(messageHash(message), 'hash', 32),
  });
}

/** Queues a message for a sibling (XcmpQueue's SendXcm). */
export function sendHorizontal(env: Env, recipient: number, message: Uint8Array): void {
  xcmpQueueStorage.OutboundMessages.mutate(env, (out) => [...out, [recipient, message]]);
  xcmpQueueEvents.emit(env, 'XcmpMessageSent', { messageHash: fromHex(messageHash(message), 'hash', 32) });
}

const U32_MAX = 0xffff_ffff;

export function parachainSystemPallet(chain: () => XcmChain): Pallet {
  const S = parachainSystemStorage;
  return definePallet({
    name: PARACHAIN_SYSTEM,
    crate: 'cumulus_pallet_parachain_system',
    docs: ['The parachain side of the relay chain: its messages in (inherent) and out (storage).'],
    storage: S,
    events: parachainSystemEvents,
    calls: {
      setValidationData: call({
        index: 0,
        args: { data: ParachainInherentData },
        weight: (a) =>
          weight(
            5_000_000n +
              BigInt(a.data.downwardMessages.length + a.data.horizontalMessages.length) * 1_000_000n,
            10_000n,
          ),
        class: 'Mandatory',
        paysFee: false,
        docs: [
          'Set the current validation data: the relay parent, and the downward and horizontal messages',
          'sent up to it, which are processed now. Messages at or before the last relay parent are',
          'already processed and skipped.',
        ],
        handler(ctx, { data }) {
          if (ctx.origin.kind !== 'none') throw DispatchFailure.badOrigin();
          const xcm = chain();
          const last = S.LastRelayChainBlockNumber.get(ctx);
          const relayParent = data.validationData.relayParentNumber;
          if (relayParent < last) return;
          const fresh = (sentAt: number) => sentAt > last && sentAt <= relayParent;
          const downward = data.downwardMessages.filter((m) => fresh(m.sentAt));
          if (downward.length > 0)
            parachainSystemEvents.emit(ctx, 'DownwardMessagesReceived', { count: downward.length });
          for (const m of downward) {
            processXcmMessage(ctx, xcm, { origin: { tag: 'Parent' }, from: location(1), message: m.msg });
          }
          for (const [sender, messages] of data.horizontalMessages) {
            for (const m of messages) {
              if (!fresh(m.sentAt)) continue;
              receivePage(ctx, xcm, sender, m.data);
            }
          }
          S.ProcessedDownwardMessages.set(ctx, Math.min(downward.length, U32_MAX));
          S.LastRelayChainBlockNumber.set(ctx, relayParent);
          S.HrmpWatermark.set(ctx, relayParent);
        },
      }),
    },
    hooks: {
      onInitialize(env) {
        S.UpwardMessages.kill(env);
        S.HrmpOutboundMessages.kill(env);
        S.ProcessedDownwardMessages.kill(env);
      },
      inherent(env) {
        const data = env.inherentData.get(PARACHAIN_INHERENT) as ParachainInherentDataValue | undefined;
        // A parachain started without a relay chain (a lone dev node) runs without the inherent.
        return data ? { call: 'set_validation_data', args: { data } } : null;
      },
      onFinalize(env) {
        const upward = S.PendingUpwardMessages.get(env);
        if (upward.length) S.UpwardMessages.set(env, upward);
        S.PendingUpwardMessages.kill(env);
        const outbound = xcmpQueueStorage.OutboundMessages.get(env);
        if (outbound.length) {
          const byRecipient = new Map<number, Uint8Array[]>();
          for (const [recipient, message] of outbound) {
            const list = byRecipient.get(recipient) ?? [];
            list.push(message);
            byRecipient.set(recipient, list);
          }
          // One XCMP page (format ConcatenatedVersionedXcm) per recipient, in para id order.
          S.HrmpOutboundMessages.set(
            env,
            [...byRecipient.entries()]
              .sort(([a], [b]) => a - b)
              .map(([recipient, messages]) => ({ recipient, data: encodeXcmpPage(messages) })),
          );
        }
        xcmpQueueStorage.OutboundMessages.kill(env);
      },
    },
  });
}

/** Splits an XCMP page and processes each message with origin Sibling(sender). */
function receivePage(
  ctx: Parameters<typeof processXcmMessage>[0],
  chain: XcmChain,
  sender: number,
  page: Uint8Array,
): void {
  const origin = { tag: 'Sibling' as const, value: sender };
  const from = paraLocation(sender, chain.config);
  let messages: ReturnType<typeof decodeXcmpPage>;
  try {
    messages = decodeXcmpPage(page);
  } catch {
    chain.mq.events.emit(ctx, 'ProcessingFailed', {
      id: fromHex(messageHash(page), 'id', 32),
      origin,
      error: { tag: 'BadFormat' },
    });
    return;
  }
  if (
    messages.format !== 'ConcatenatedVersionedXcm' &&
    messages.format !== 'ConcatenatedOpaqueVersionedXcm'
  ) {
    // Blobs and channel signals carry no XCM for the queue.
    return;
  }
  for (const message of messages.messages) processXcmMessage(ctx, chain, { origin, from, message });
}

export function parachainInfoPallet(paraId: number): Pallet {
  return definePallet({
    name: 'ParachainInfo',
    crate: 'staging_parachain_info',
    storage: parachainInfoStorage,
    hooks: {
      genesis(env) {
        parachainInfoStorage.ParachainId.set(env, paraId);
      },
    },
  });
}

export function xcmpQueuePallet(): Pallet {
  return definePallet({
    name: XCMP_QUEUE,
    crate: 'cumulus_pallet_xcmp_queue',
    docs: ['HRMP messages to and from sibling parachains.'],
    storage: xcmpQueueStorage,
    events: xcmpQueueEvents,
  });
}

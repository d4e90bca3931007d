import {
  type Pallet,
  type PalletEvents,
  type StorageMap,
  defineEvents,
  definePallet,
  storageMap,
} from '../../substrate/runtime/pallet.js';
import { H256, Weight } from '../../substrate/runtime/types.js';
import { type AnyTy, t } from '../../substrate/scale/ty.js';
import { ParaMessageOrigin, ProcessMessageError, RelayMessageOrigin } from '../types.js';

/**
 * pallet_message_queue: the events every chain reports its incoming XCM with (`Processed {id,
 * origin, weightUsed, success}`, `ProcessingFailed {id, origin, error}`, `OverweightEnqueued`),
 * and where overweight messages are kept. Messages are processed as they arrive, in the block
 * that receives them (what the pallet's on_idle servicing does on a quiet chain).
 */

const CRATE = 'pallet_message_queue';
export const MESSAGE_QUEUE = 'MessageQueue';

function build(origin: AnyTy) {
  const events = defineEvents(MESSAGE_QUEUE, CRATE, {
    ProcessingFailed: {
      index: 0,
      fields: { id: H256, origin, error: ProcessMessageError },
      docs: ['Message discarded due to an error in the `MessageProcessor` (usually a format error).'],
    },
    Processed: {
      index: 1,
      fields: { id: H256, origin, weightUsed: Weight, success: t.bool },
      docs: ['Message is processed.'],
    },
    OverweightEnqueued: {
      index: 2,
      fields: { id: t.fixedBytes(32), origin, pageIndex: t.u32, messageIndex: t.u32 },
      docs: ['Message placed in overweight queue.'],
    },
  });
  const storage = {
    Overweight: storageMap({
      hasher: 'Identity',
      key: H256,
      value: t.tuple(origin, t.bytes),
      docs: [' Devnet: overweight messages by id, with their origin, kept for inspection.'],
    }),
  };
  return { events, storage };
}

export type MessageQueueParts = {
  // biome-ignore lint/suspicious/noExplicitAny: the event record of pallet_message_queue
  events: PalletEvents<any>;
  storage: { Overweight: StorageMap<[Uint8Array], [unknown, Uint8Array], [unknown, Uint8Array] | null> };
  pallet(): Pallet;
};

const cache = new Map<string, MessageQueueParts>();

/** The message queue of a parachain (origins Here/Parent/Sibling) or of the relay chain (Ump). */
export function messageQueueParts(kind: 'para' | 'relay'): MessageQueueParts {
  let p = cache.get(kind);
  if (!p) {
    const built = build(kind === 'para' ? ParaMessageOrigin : RelayMessageOrigin);
    p = {
      events: built.events,
      storage: built.storage as unknown as MessageQueueParts['storage'],
      pallet: () =>
        definePallet({
          name: MESSAGE_QUEUE,
          crate: CRATE,
          docs: ['Incoming XCM: processed as it arrives; its outcome is an event.'],
          storage: built.storage,
          events: built.events,
        }),
    };
    cache.set(kind, p);
  }
  return p;
}

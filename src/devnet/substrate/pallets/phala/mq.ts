import { mqMessagePayload, recoverPayloadSigner } from '../../../../phala/payloads.js';
import { DispatchFailure } from '../../runtime/errors.js';
import {
  type Pallet,
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageMap,
  weight,
} from '../../runtime/pallet.js';
import { type Infer, t } from '../../scale/ty.js';
import { Registry } from './registry.js';
import { EcdsaSignature, WorkerPublicKey } from './types.js';

/**
 * PhalaMq: messages signed by workers and gatekeepers, each sender with its own sequence; the
 * chain accepts exactly the next one, so a replayed or reordered message is rejected.
 */

export const PHALA_MQ = 'PhalaMq';
const CRATE = 'pallet_phala_mq';

export const MessageOrigin = t.enum(`${CRATE}::MessageOrigin`, {
  Worker: { fields: WorkerPublicKey },
  Gatekeeper: { fields: WorkerPublicKey },
});
export type MessageOriginValue = Infer<typeof MessageOrigin>;

export const SignedMessage = t.struct(`${CRATE}::SignedMessage`, {
  sender: MessageOrigin,
  destination: t.bytes,
  sequence: t.u64,
  payload: t.bytes,
  signature: EcdsaSignature,
});

export const mqStorage = {
  OffchainIngress: storageMap({
    hasher: 'Blake2_128Concat',
    key: MessageOrigin,
    value: t.u64,
    default: 0n,
    docs: [' The next sequence number each sender must use.'],
  }),
};

export const mqEvents = defineEvents(PHALA_MQ, CRATE, {
  MessageReceived: {
    fields: { sender: MessageOrigin, destination: t.bytes, sequence: t.u64, payload: t.bytes },
  },
});

export const mqErrors = defineErrors(PHALA_MQ, CRATE, {
  BadSignature: 'The signature does not recover to the sender.',
  UnknownSender: 'The sender is not a registered worker or gatekeeper.',
  SenderNotApproved: 'The worker is not approved (or expired, or its measurement was removed).',
  SequenceReplayed: 'The sequence was used already.',
  SequenceGap: 'The sequence is ahead of the next expected one.',
  MessageTooLarge: 'The payload is larger than MaxMessageSize.',
  DestinationTooLong: 'The destination is longer than MaxDestinationLength.',
});

const MAX_MESSAGE = 64 * 1024;
const MAX_DESTINATION = 256;

export function phalaMqPallet(): Pallet {
  return definePallet({
    name: PHALA_MQ,
    crate: CRATE,
    docs: ['Signed messages from workers and gatekeepers.'],
    storage: mqStorage,
    events: mqEvents,
    errors: mqErrors,
    calls: {
      pushMessage: call({
        index: 0,
        args: { message: SignedMessage },
        weight: (a) =>
          weight(
            40_000_000n + BigInt(a.message.payload.length) * 1_000n,
            4_000n + BigInt(a.message.payload.length),
          ),
        docs: ["Accepts a signed message if its sequence is the sender's next one (`mqMessagePayload`)."],
        handler(ctx, { message }) {
          if (ctx.origin.kind !== 'signed' && ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          mqErrors.ensure(message.payload.length <= MAX_MESSAGE, 'MessageTooLarge');
          mqErrors.ensure(message.destination.length <= MAX_DESTINATION, 'DestinationTooLong');
          const key = message.sender.value;
          const signer = recoverPayloadSigner(
            mqMessagePayload({
              genesisHash: ctx.block.genesisHash,
              sender: { kind: message.sender.tag === 'Worker' ? 'worker' : 'gatekeeper', key },
              destination: message.destination,
              sequence: message.sequence,
              payload: message.payload,
            }),
            message.signature,
          );
          mqErrors.ensure(signer && Buffer.compare(signer, key) === 0, 'BadSignature');
          if (message.sender.tag === 'Gatekeeper') {
            mqErrors.ensure(Registry.isGatekeeper(ctx, key), 'UnknownSender');
          } else {
            const check = Registry.checkWorker(ctx, key);
            if (!check.ok)
              throw mqErrors.fail(check.error === 'WorkerNotFound' ? 'UnknownSender' : 'SenderNotApproved');
          }
          const expected = mqStorage.OffchainIngress.get(ctx, message.sender);
          mqErrors.ensure(message.sequence >= expected, 'SequenceReplayed');
          mqErrors.ensure(message.sequence === expected, 'SequenceGap');
          mqStorage.OffchainIngress.set(ctx, message.sender, expected + 1n);
          mqEvents.emit(ctx, 'MessageReceived', {
            sender: message.sender,
            destination: message.destination,
            sequence: message.sequence,
            payload: message.payload,
          });
        },
      }),
    },
    constants: {
      MaxMessageSize: { type: t.u32, value: MAX_MESSAGE },
      MaxDestinationLength: { type: t.u32, value: MAX_DESTINATION },
    },
  });
}

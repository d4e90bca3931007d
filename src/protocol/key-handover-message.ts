import { concatBytes, equalBytes, utf8 } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import type { KeyHandoverKind } from '../crypto/key-handover.js';
import { DESTINATIONS, DESTINATION_BYTES } from './mq-destinations.js';

/**
 * Contract (or cluster) keys handed to one worker, as a PhalaMq payload from a gatekeeper to
 * DESTINATIONS.keyHandover (docs/gatekeeper.md#key-handover-messages,
 * docs/pruntime-worker.md#keys). Gatekeepers encode it, workers decode it: one codec for both.
 *
 *   "PBKM" ‖ 0x01 ‖ worker secp256k1 (33) ‖ worker X25519 (32) ‖ u16be(count) ‖ count ×
 *     ( kind (1 contract, 2 cluster) ‖ id (32) ‖ u32be(epoch) ‖ public key (32)
 *       ‖ u16be(envelope length) ‖ envelope )
 *
 * Each envelope is src/crypto/key-handover.ts's: purpose handover, context
 * handoverContext(worker X25519, epoch), so it opens only in that worker's enclave and only for
 * that epoch. The public key is the one the gatekeepers published on chain
 * (PhalaRegistry.ContractKeyHistory); a worker passes it (or, better, the chain's) as
 * `expectedPublicKey` so a handover of any other key is refused.
 */
export const KEY_HANDOVER_DESTINATION = DESTINATIONS.keyHandover;
export const KEY_HANDOVER_DESTINATION_BYTES = DESTINATION_BYTES.keyHandover;
export const KEY_HANDOVER_MESSAGE_MAGIC = utf8('PBKM');
export const MAX_HANDOVERS_PER_MESSAGE = 128;
const HEADER = 4 + 1 + 33 + 32 + 2;
const ENTRY_FIXED = 1 + 32 + 4 + 32 + 2;

export type KeyHandoverEntry = {
  kind: KeyHandoverKind;
  id: Uint8Array;
  epoch: number;
  publicKey: Uint8Array;
  envelope: Uint8Array;
};

export type KeyHandoverMessage = {
  worker: Uint8Array;
  workerX25519: Uint8Array;
  handovers: KeyHandoverEntry[];
};

const kindByte: Record<KeyHandoverKind, number> = { contract: 1, cluster: 2 };

export function encodeKeyHandoverMessage(m: KeyHandoverMessage): Uint8Array {
  if (m.worker.length !== 33) throw new InvalidInputError('worker', '33 bytes');
  if (m.workerX25519.length !== 32) throw new InvalidInputError('workerX25519', '32 bytes');
  if (m.handovers.length === 0 || m.handovers.length > MAX_HANDOVERS_PER_MESSAGE)
    throw new InvalidInputError('handovers', `1..${MAX_HANDOVERS_PER_MESSAGE} entries`);
  const count = new Uint8Array(2);
  new DataView(count.buffer).setUint16(0, m.handovers.length, false);
  const parts: Uint8Array[] = [KEY_HANDOVER_MESSAGE_MAGIC, Uint8Array.of(1), m.worker, m.workerX25519, count];
  for (const h of m.handovers) {
    if (h.id.length !== 32) throw new InvalidInputError('id', '32 bytes');
    if (h.publicKey.length !== 32) throw new InvalidInputError('publicKey', '32 bytes');
    if (h.envelope.length === 0 || h.envelope.length > 0xffff)
      throw new InvalidInputError('envelope', '1..65535 bytes');
    const fixed = new Uint8Array(ENTRY_FIXED);
    const view = new DataView(fixed.buffer);
    fixed[0] = kindByte[h.kind];
    fixed.set(h.id, 1);
    view.setUint32(33, h.epoch, false);
    fixed.set(h.publicKey, 37);
    view.setUint16(69, h.envelope.length, false);
    parts.push(fixed, h.envelope);
  }
  return concatBytes(...parts);
}

/** Parses a key handover message; throws InvalidInputError naming what is wrong. */
export function decodeKeyHandoverMessage(bytes: Uint8Array): KeyHandoverMessage {
  const fail = (what: string): never => {
    throw new InvalidInputError('key handover message', `a v1 message (${what})`);
  };
  if (bytes.length < HEADER) fail('too short');
  if (!equalBytes(bytes.subarray(0, 4), KEY_HANDOVER_MESSAGE_MAGIC)) fail('bad magic');
  if (bytes[4] !== 1) fail('unsupported version');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(70, false);
  if (count === 0 || count > MAX_HANDOVERS_PER_MESSAGE) fail('entry count out of range');
  const handovers: KeyHandoverEntry[] = [];
  let offset = HEADER;
  for (let i = 0; i < count; i++) {
    if (offset + ENTRY_FIXED > bytes.length) fail(`entry ${i} truncated`);
    const kind = bytes[offset] === 1 ? 'contract' : bytes[offset] === 2 ? 'cluster' : fail(`entry ${i} kind`);
    const length = view.getUint16(offset + 69, false);
    const end = offset + ENTRY_FIXED + length;
    if (length === 0 || end > bytes.length) fail(`entry ${i} envelope length`);
    handovers.push({
      kind,
      id: bytes.slice(offset + 1, offset + 33),
      epoch: view.getUint32(offset + 33, false),
      publicKey: bytes.slice(offset + 37, offset + 69),
      envelope: bytes.slice(offset + ENTRY_FIXED, end),
    });
    offset = end;
  }
  if (offset !== bytes.length) fail('trailing bytes');
  return { worker: bytes.slice(5, 38), workerX25519: bytes.slice(38, 70), handovers };
}

/**
 * The handovers in a PhalaMq key handover payload addressed to this worker (by its secp256k1 and
 * X25519 keys), or [] for one addressed to another worker. What a worker service feeds to its
 * enclave's `receiveKeyHandover({ envelope, epoch, expectedPublicKey })`. Throws
 * InvalidInputError for a malformed payload.
 */
export function handoversFor(
  payload: Uint8Array,
  worker: Uint8Array,
  workerX25519: Uint8Array,
): KeyHandoverEntry[] {
  const message = decodeKeyHandoverMessage(payload);
  if (!equalBytes(message.worker, worker) || !equalBytes(message.workerX25519, workerX25519)) return [];
  return message.handovers;
}

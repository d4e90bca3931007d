import { type Hex, toHex } from '../base/bytes.js';
import { blake2_256 } from '../crypto/hash.js';
import { isJsonObject, type JsonValue } from './json.js';

/** blake2_256 of the VersionedXcm bytes: what XcmpMessageSent / UpwardMessageSent report. */
export function messageHash(bytes: Uint8Array): Hex {
  return toHex(blake2_256(bytes));
}

/**
 * The topic of a program whose last instruction is `SetTopic(topic)`; the executor's
 * `TrailingSetTopicAsId` barrier uses it as the message id.
 */
export function topicOf(instructions: readonly JsonValue[]): Hex | null {
  const last = instructions[instructions.length - 1];
  if (!isJsonObject(last)) return null;
  const topic = last.setTopic;
  return typeof topic === 'string' && /^0x[0-9a-f]{64}$/.test(topic) ? (topic as Hex) : null;
}

/**
 * The id chains report for a message (`polkadotXcm.Sent.messageId`,
 * `messageQueue.Processed.id`): its trailing SetTopic, else blake2_256 of its encoding.
 */
export function messageIdOf(instructions: readonly JsonValue[], bytes: Uint8Array): Hex {
  return topicOf(instructions) ?? messageHash(bytes);
}

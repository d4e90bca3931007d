import { concatBytes, equalBytes, u32be, utf8 } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';

/**
 * The master keys for one gatekeeper, as a PhalaMq payload to DESTINATIONS.masterKeyHandover:
 *
 *   "PBMH" ‖ 0x01 ‖ recipient secp256k1 (33) ‖ u32be(newest epoch) ‖ envelope (keys/master-key-handover.ts)
 */
const MAGIC = utf8('PBMH');
const HEADER = 4 + 1 + 33 + 4;

export type MasterKeyHandoverMessage = { recipient: Uint8Array; epoch: number; envelope: Uint8Array };

export function encodeMasterKeyHandoverMessage(m: MasterKeyHandoverMessage): Uint8Array {
  if (m.recipient.length !== 33) throw new InvalidInputError('recipient', '33 bytes');
  return concatBytes(MAGIC, Uint8Array.of(1), m.recipient, u32be(m.epoch), m.envelope);
}

export function decodeMasterKeyHandoverMessage(bytes: Uint8Array): MasterKeyHandoverMessage {
  const fail = (what: string): never => {
    throw new InvalidInputError('master key handover message', `a v1 message (${what})`);
  };
  if (bytes.length <= HEADER) fail('too short');
  if (!equalBytes(bytes.subarray(0, 4), MAGIC)) fail('bad magic');
  if (bytes[4] !== 1) fail('unsupported version');
  return {
    recipient: bytes.slice(5, 38),
    epoch: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(38, false),
    envelope: bytes.slice(HEADER),
  };
}

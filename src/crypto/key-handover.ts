import { concatBytes, u32be, utf8 } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { openEnvelope, sealEnvelope } from './envelope.js';
import { handoverContext } from './envelope-context.js';
import { keyPairFromSecret } from './keys.js';

/**
 * The plaintext of a key handover envelope (purpose `handover`), gatekeeper → worker:
 *
 *   "PBKH" ‖ 0x01 ‖ kind (1 = contract key, 2 = cluster key) ‖ id (32) ‖ u32be(epoch) ‖ X25519 secret (32)
 *
 * `id` is the contract id or the cluster id. The envelope's context is
 * handoverContext(recipient X25519 key, epoch), and the epoch inside must equal it, so a handover
 * opens only for the worker and the epoch it was made for.
 */
export const KEY_HANDOVER_MAGIC = utf8('PBKH');
export const KEY_HANDOVER_LENGTH = 4 + 1 + 1 + 32 + 4 + 32;

export type KeyHandoverKind = 'contract' | 'cluster';

export type KeyHandover = {
  kind: KeyHandoverKind;
  id: Uint8Array;
  epoch: number;
  secretKey: Uint8Array;
};

const kindByte: Record<KeyHandoverKind, number> = { contract: 1, cluster: 2 };

export function encodeKeyHandover(handover: KeyHandover): Uint8Array {
  if (handover.id.length !== 32) throw new InvalidInputError('id', '32 bytes');
  if (handover.secretKey.length !== 32) throw new InvalidInputError('secretKey', '32 bytes');
  return concatBytes(
    KEY_HANDOVER_MAGIC,
    Uint8Array.of(1, kindByte[handover.kind]),
    handover.id,
    u32be(handover.epoch),
    handover.secretKey,
  );
}

/** Parses a handover plaintext; throws InvalidInputError for anything else. */
export function decodeKeyHandover(bytes: Uint8Array): KeyHandover {
  const fail = (what: string): never => {
    throw new InvalidInputError('key handover', `a v1 key handover (${what})`);
  };
  if (bytes.length !== KEY_HANDOVER_LENGTH) fail('wrong length');
  for (let i = 0; i < 4; i++) if (bytes[i] !== KEY_HANDOVER_MAGIC[i]) fail('bad magic');
  if (bytes[4] !== 1) fail('unsupported version');
  const kind = bytes[5] === 1 ? 'contract' : bytes[5] === 2 ? 'cluster' : fail('unknown kind');
  const epoch = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(38, false);
  return { kind, id: bytes.slice(6, 38), epoch, secretKey: bytes.slice(42, 74) };
}

/** Seals a handover to a worker's X25519 key (what a gatekeeper sends). */
export function sealKeyHandover(recipientX25519: Uint8Array, handover: KeyHandover): Uint8Array {
  keyPairFromSecret('x25519', handover.secretKey);
  return sealEnvelope({
    recipientPublicKey: recipientX25519,
    purpose: 'handover',
    context: handoverContext(recipientX25519, handover.epoch),
    plaintext: encodeKeyHandover(handover),
  });
}

/** Opens a handover sealed to this X25519 key pair for `epoch`. */
export function openKeyHandover(
  recipientSecretKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  epoch: number,
  envelope: Uint8Array,
): KeyHandover {
  const plaintext = openEnvelope({
    recipientSecretKey,
    recipientPublicKey,
    purpose: 'handover',
    context: handoverContext(recipientPublicKey, epoch),
    envelope,
  });
  const handover = decodeKeyHandover(plaintext);
  plaintext.fill(0);
  if (handover.epoch !== epoch)
    throw new InvalidInputError('key handover', `epoch ${epoch} inside the envelope`);
  return handover;
}

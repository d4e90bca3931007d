import { concatBytes, utf8 } from '../../base/bytes.js';
import { openEnvelope, sealEnvelope } from '../../crypto/envelope.js';
import { handoverContext } from '../../crypto/envelope-context.js';
import { MasterKeyRing } from './master-key-ring.js';

/**
 * Gatekeeper → gatekeeper handover of the master keys (docs/gatekeeper.md#master-key-handover):
 * a sealed envelope v1, purpose `handover`, to the receiving gatekeeper's attested X25519 key,
 *
 *   context   = handoverContext(recipient X25519, newest epoch) ‖ "master-keys"
 *   plaintext = the master key ring encoding (master-key-ring.ts)
 *
 * The "master-keys" suffix keeps these envelopes apart from contract-key handovers to workers
 * (same purpose, context without suffix), so neither can be passed off as the other.
 */
const MASTER_KEYS_CONTEXT = utf8('master-keys');

export function masterKeyHandoverContext(recipientX25519: Uint8Array, epoch: number): Uint8Array {
  return concatBytes(handoverContext(recipientX25519, epoch), MASTER_KEYS_CONTEXT);
}

/** Seals every epoch of `ring` to the recipient; `epoch` (the newest) is bound in the context. */
export function sealMasterKeys(recipientX25519: Uint8Array, ring: MasterKeyRing, epoch: number): Uint8Array {
  const plaintext = ring.encode();
  try {
    return sealEnvelope({
      recipientPublicKey: recipientX25519,
      purpose: 'handover',
      context: masterKeyHandoverContext(recipientX25519, epoch),
      plaintext,
    });
  } finally {
    plaintext.fill(0);
  }
}

/** Opens a master-key handover; throws EnvelopeOpenError or InvalidInputError. */
export function openMasterKeys(
  recipientSecretKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  epoch: number,
  envelope: Uint8Array,
): MasterKeyRing {
  const plaintext = openEnvelope({
    recipientSecretKey,
    recipientPublicKey,
    purpose: 'handover',
    context: masterKeyHandoverContext(recipientPublicKey, epoch),
    envelope,
  });
  try {
    return MasterKeyRing.decode(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

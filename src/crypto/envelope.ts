import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, utf8 } from '../base/bytes.js';
import { BaseError, InvalidInputError, type Retry } from '../base/errors.js';
import { x25519Generate, x25519PublicKey, x25519SharedSecret } from './x25519.js';

/**
 * Sealed envelope v1 (docs/PROTOCOL.md §2):
 *   0x01 ‖ ephemeralPub (32) ‖ nonce (24) ‖ ciphertext ‖ tag (16)
 * X25519 to the recipient, HKDF-SHA256 to a per-envelope key, XChaCha20-Poly1305 with
 * AAD = purpose ‖ context, so an envelope opens only for the use it was sealed for.
 */
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_OVERHEAD = 1 + 32 + 24 + 16;

export const envelopePurposes = { request: 1, output: 2, handover: 3, state: 4 } as const;
export type EnvelopePurpose = keyof typeof envelopePurposes;

const INFO_PREFIX = utf8('phala-bridge/envelope/v1');

export type EnvelopeOpenErrorReason =
  | 'truncated'
  | 'unsupported-version'
  | 'invalid-ephemeral-key'
  | 'authentication-failed';

const reasonText: Record<EnvelopeOpenErrorReason, string> = {
  truncated: `envelope is shorter than the ${ENVELOPE_OVERHEAD}-byte minimum`,
  'unsupported-version': `envelope version is not ${ENVELOPE_VERSION}`,
  'invalid-ephemeral-key': 'ephemeral public key gives no shared secret',
  'authentication-failed': 'wrong key, purpose or context, or the envelope was altered',
};

/** The one error for every envelope that cannot be opened; never carries partial plaintext. */
export class EnvelopeOpenError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'EnvelopeOpenError';
  readonly reason: EnvelopeOpenErrorReason;
  constructor(reason: EnvelopeOpenErrorReason) {
    super('Cannot open envelope.', {
      details: reasonText[reason],
      docsPath: '/docs/PROTOCOL.md#2-sealed-envelope-v1',
    });
    this.reason = reason;
  }
}

export type SealEnvelopeParameters = {
  recipientPublicKey: Uint8Array;
  purpose: EnvelopePurpose;
  context: Uint8Array;
  plaintext: Uint8Array;
  /** Fixed only by test vectors; a fresh random key otherwise. */
  ephemeralSecretKey?: Uint8Array | undefined;
  /** Fixed only by test vectors; 24 random bytes otherwise. */
  nonce?: Uint8Array | undefined;
};

export type OpenEnvelopeParameters = {
  recipientSecretKey: Uint8Array;
  /** Saves one scalar multiplication when the caller already has it. */
  recipientPublicKey?: Uint8Array | undefined;
  purpose: EnvelopePurpose;
  context: Uint8Array;
  envelope: Uint8Array;
};

function purposeByte(purpose: EnvelopePurpose): number {
  const byte = envelopePurposes[purpose];
  if (byte === undefined) throw new InvalidInputError('purpose', 'request, output, handover or state');
  return byte;
}

function deriveKey(shared: Uint8Array, ephemeralPub: Uint8Array, recipientPub: Uint8Array, purpose: number) {
  return hkdf(
    sha256,
    shared,
    concatBytes(ephemeralPub, recipientPub),
    concatBytes(INFO_PREFIX, Uint8Array.of(purpose)),
    32,
  );
}

export function sealEnvelope(parameters: SealEnvelopeParameters): Uint8Array {
  const { recipientPublicKey, context, plaintext } = parameters;
  const purpose = purposeByte(parameters.purpose);
  if (recipientPublicKey.length !== 32) throw new InvalidInputError('recipientPublicKey', '32 bytes');
  const ephemeral = parameters.ephemeralSecretKey
    ? { secretKey: parameters.ephemeralSecretKey, publicKey: x25519PublicKey(parameters.ephemeralSecretKey) }
    : x25519Generate();
  const nonce = parameters.nonce ?? randomBytes(24);
  if (ephemeral.secretKey.length !== 32) throw new InvalidInputError('ephemeralSecretKey', '32 bytes');
  if (nonce.length !== 24) throw new InvalidInputError('nonce', '24 bytes');
  const ephemeralPub = ephemeral.publicKey;
  const shared = x25519SharedSecret(ephemeral.secretKey, recipientPublicKey, ephemeralPub);
  if (!shared) throw new InvalidInputError('recipientPublicKey', 'an X25519 public key of full order');
  const key = deriveKey(shared, ephemeralPub, recipientPublicKey, purpose);
  const out = new Uint8Array(ENVELOPE_OVERHEAD + plaintext.length);
  out[0] = ENVELOPE_VERSION;
  out.set(ephemeralPub, 1);
  out.set(nonce, 33);
  const aad = concatBytes(Uint8Array.of(purpose), context);
  xchacha20poly1305(key, nonce, aad).encrypt(plaintext, out.subarray(57));
  return out;
}

export function openEnvelope(parameters: OpenEnvelopeParameters): Uint8Array {
  const { recipientSecretKey, envelope, context } = parameters;
  const purpose = purposeByte(parameters.purpose);
  if (envelope.length < ENVELOPE_OVERHEAD) throw new EnvelopeOpenError('truncated');
  if (envelope[0] !== ENVELOPE_VERSION) throw new EnvelopeOpenError('unsupported-version');
  const ephemeralPub = envelope.subarray(1, 33);
  const nonce = envelope.subarray(33, 57);
  if (recipientSecretKey.length !== 32) throw new InvalidInputError('recipientSecretKey', '32 bytes');
  const recipientPub = parameters.recipientPublicKey ?? x25519PublicKey(recipientSecretKey);
  const shared = x25519SharedSecret(recipientSecretKey, ephemeralPub, recipientPub);
  if (!shared) throw new EnvelopeOpenError('invalid-ephemeral-key');
  const key = deriveKey(shared, ephemeralPub, recipientPub, purpose);
  const aad = concatBytes(Uint8Array.of(purpose), context);
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(envelope.subarray(57));
  } catch {
    throw new EnvelopeOpenError('authentication-failed');
  }
}

/** True when `bytes` has the shape of a v1 envelope (it may still fail to open). */
export function isEnvelope(bytes: Uint8Array): boolean {
  return bytes.length >= ENVELOPE_OVERHEAD && bytes[0] === ENVELOPE_VERSION;
}

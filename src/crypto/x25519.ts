import {
  type KeyObject,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
} from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';

/**
 * X25519 through Node's OpenSSL instead of @noble/curves: measured here at about 35 µs per
 * shared secret against about 1 ms for the pure-JS ladder, which is most of an envelope's cost.
 * @noble stays the reference (the envelope vectors are checked against both), and computes a
 * public key from a secret where OpenSSL would need it given.
 */

const b64u = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

// Keyed by the secret's own array object, so no secret-derived string is ever kept as a key.
const privateKeyCache = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(secretKey: Uint8Array, publicKey?: Uint8Array): KeyObject {
  let key = privateKeyCache.get(secretKey);
  if (!key) {
    const pub = publicKey ?? x25519.getPublicKey(secretKey);
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64u(secretKey), x: b64u(pub) },
      format: 'jwk',
    });
    privateKeyCache.set(secretKey, key);
  }
  return key;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(publicKey) }, format: 'jwk' });
}

/** A fresh key pair made by OpenSSL. */
export function x25519Generate(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  const secretKey = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
  privateKeyCache.set(secretKey, privateKey);
  return { secretKey, publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')) };
}

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/**
 * The shared secret, or null when there is none: a malformed or low-order public key (OpenSSL
 * refuses an all-zero result, as RFC 7748 §6.1 allows).
 */
export function x25519SharedSecret(
  secretKey: Uint8Array,
  publicKey: Uint8Array,
  ownPublicKey?: Uint8Array,
): Uint8Array | null {
  if (secretKey.length !== 32 || publicKey.length !== 32) return null;
  try {
    return new Uint8Array(
      diffieHellman({
        privateKey: privateKeyObject(secretKey, ownPublicKey),
        publicKey: publicKeyObject(publicKey),
      }),
    );
  } catch {
    return null;
  }
}

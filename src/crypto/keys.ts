import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type Hex, fromHex, toHex } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { keccak256 } from './hash.js';

export type KeyType = 'secp256k1' | 'x25519' | 'ed25519';

export type KeyPair = {
  readonly type: KeyType;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
};

const curves = {
  // Compressed (33-byte) secp256k1 public keys, as Substrate's ecdsa crypto stores them.
  secp256k1: {
    getPublicKey: (sk: Uint8Array) => secp256k1.getPublicKey(sk, true),
    valid: secp256k1.utils.isValidSecretKey,
  },
  x25519: { getPublicKey: x25519.getPublicKey, valid: (sk: Uint8Array) => sk.length === 32 },
  ed25519: { getPublicKey: ed25519.getPublicKey, valid: (sk: Uint8Array) => sk.length === 32 },
} as const;

const randomSecret = {
  secp256k1: () => secp256k1.utils.randomSecretKey(),
  x25519: () => x25519.utils.randomSecretKey(),
  ed25519: () => ed25519.utils.randomSecretKey(),
} as const;

export function generateKeyPair(type: KeyType): KeyPair {
  return keyPairFromSecret(type, randomSecret[type]());
}

export function keyPairFromSecret(type: KeyType, secretKey: Uint8Array): KeyPair {
  if (secretKey.length !== 32 || !curves[type].valid(secretKey)) {
    throw new InvalidInputError(`${type} secret key`, 'a valid 32-byte secret key');
  }
  return { type, secretKey: new Uint8Array(secretKey), publicKey: curves[type].getPublicKey(secretKey) };
}

export function keyPairFromHex(type: KeyType, secretHex: string): KeyPair {
  return keyPairFromSecret(type, fromHex(secretHex, `${type} secret key`, 32));
}

/** The 20-byte Ethereum address of a secp256k1 public key (compressed or not). */
export function ethereumAddress(publicKey: Uint8Array): Hex {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  const hash = keccak256(uncompressed.subarray(1));
  return checksumAddress(toHex(hash.subarray(12)));
}

/** EIP-55 mixed-case checksum of a 20-byte address. */
export function checksumAddress(address: string): Hex {
  const lower = fromHex(address, 'address', 20);
  const hex = toHex(lower).slice(2);
  const hash = toHex(keccak256(new TextEncoder().encode(hex))).slice(2);
  let out = '0x';
  for (let i = 0; i < hex.length; i++) {
    out += Number.parseInt(hash[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  }
  return out as Hex;
}

/** The public parts of a role's identity: what goes in attestation report data and on chain. */
export type PublicIdentity = { secp256k1: Hex; x25519: Hex; address: Hex };

/** A role's two identity keys (PROTOCOL §3): secp256k1 to sign, X25519 to receive sealed data. */
export type Identity = { signing: KeyPair; encryption: KeyPair };

export function generateIdentity(): Identity {
  return { signing: generateKeyPair('secp256k1'), encryption: generateKeyPair('x25519') };
}

export function publicIdentity(identity: Identity): PublicIdentity {
  return {
    secp256k1: toHex(identity.signing.publicKey),
    x25519: toHex(identity.encryption.publicKey),
    address: ethereumAddress(identity.signing.publicKey),
  };
}

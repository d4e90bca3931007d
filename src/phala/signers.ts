import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { InvalidInputError } from '../base/errors.js';
import { blake2_256 } from '../crypto/hash.js';

/**
 * Signers for extrinsics. A worker or gatekeeper signs with the ecdsa account of its secp256k1
 * identity key (account id = blake2_256(compressed public key)), so one key both authorizes its
 * transactions and signs its payloads.
 */

/** The ecdsa account of a secp256k1 secret key (its `publicKey` is the 33-byte compressed key). */
export async function ecdsaSigner(secretKey: Uint8Array, ss58Format = 42): Promise<KeyringPair> {
  if (secretKey.length !== 32) throw new InvalidInputError('secp256k1 secret key', '32 bytes');
  await cryptoWaitReady();
  return new Keyring({ type: 'ecdsa', ss58Format }).addFromSeed(secretKey);
}

/** A signer from a secret URI (`//Alice`, a mnemonic, `0x…` seed), sr25519 unless told. */
export async function signerFromUri(
  uri: string,
  type: 'sr25519' | 'ed25519' | 'ecdsa' = 'sr25519',
  ss58Format = 42,
): Promise<KeyringPair> {
  await cryptoWaitReady();
  return new Keyring({ type, ss58Format }).addFromUri(uri);
}

/** A well-known development account (`Alice`, `Bob`, ...). */
export function devSigner(
  name: 'Alice' | 'Bob' | 'Charlie' | 'Dave' | 'Eve' | 'Ferdie',
  ss58Format = 42,
): Promise<KeyringPair> {
  return signerFromUri(`//${name}`, 'sr25519', ss58Format);
}

/** The account id of an ecdsa key: blake2_256 of the compressed public key. */
export function ecdsaAccountId(compressedPublicKey: Uint8Array): Uint8Array {
  if (compressedPublicKey.length !== 33)
    throw new InvalidInputError('secp256k1 public key', '33 bytes (compressed)');
  return blake2_256(compressedPublicKey);
}

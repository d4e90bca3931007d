import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { cryptoWaitReady, secp256k1Recover } from '@polkadot/util-crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import {
  isEthereumSignatureBy,
  isSubstrateSignatureBy,
  recoverAddressEthereum,
  signDigestEthereum,
  signDigestSubstrate,
} from '../../src/crypto/signatures.js';
import { ethereumAddress } from '../../src/crypto/keys.js';

/**
 * The signature check the relayer runs on every result (verification with the key's table kept)
 * must say yes exactly when key recovery names the signer. Cross-checked against recovery in
 * polkadot-js's WASM build (the Rust libsecp256k1 port, not noble) on random and altered signatures.
 */
const N = secp256k1.Point.Fn.ORDER;
const bytes = (n: number) => new Uint8Array(randomBytes(n));

/** What an independent implementation says: does recovery give this key? */
function wasmSaysSignedBy(digest: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  const v = signature[64]!;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery > 1) return false;
  const s = BigInt(`0x${Buffer.from(signature.subarray(32, 64)).toString('hex')}`);
  if (s > N / 2n) return false; // both sides refuse malleable high-s copies
  try {
    const key = secp256k1Recover(digest, signature.subarray(0, 64), recovery, 'blake2', false); // compressed
    return Buffer.from(key).equals(Buffer.from(publicKey));
  } catch {
    return false;
  }
}

function withS(signature: Uint8Array, s: bigint, v: number): Uint8Array {
  const out = new Uint8Array(signature);
  out.set(Buffer.from(s.toString(16).padStart(64, '0'), 'hex'), 32);
  out[64] = v;
  return out;
}

beforeAll(async () => {
  // True once the WASM build is loaded: recovery below then runs there, not in noble.
  expect(await cryptoWaitReady()).toBe(true);
});

describe('signature checks with kept key tables', () => {
  const signers = Array.from({ length: 3 }, () => generateKeyPair('secp256k1'));

  it('agree with key recovery (WASM libsecp256k1) on valid and altered signatures', () => {
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const signer = signers[i % signers.length]!;
      const other = signers[(i + 1) % signers.length]!;
      const digest = bytes(32);
      const good = signDigestEthereum(digest, signer.secretKey);
      const s = BigInt(`0x${Buffer.from(good.subarray(32, 64)).toString('hex')}`);
      const flipped = new Uint8Array(good);
      flipped[64] = good[64] === 27 ? 28 : 27;
      const tweaked = new Uint8Array(digest);
      tweaked[i % 32]! ^= 1;
      const cases: [Uint8Array, Uint8Array, Uint8Array, boolean][] = [
        [digest, good, signer.publicKey, true],
        [digest, good, other.publicKey, false],
        [digest, flipped, signer.publicKey, false],
        [tweaked, good, signer.publicKey, false],
        // The same signature's high-s twin (with the other parity) recovers the key but is refused.
        [digest, withS(good, N - s, flipped[64]!), signer.publicKey, false],
        [digest, withS(good, 0n, good[64]!), signer.publicKey, false],
        [digest, withS(good, N, good[64]!), signer.publicKey, false],
      ];
      for (const [d, sig, key, expected] of cases) {
        expect(isEthereumSignatureBy(d, sig, key)).toBe(expected);
        expect(wasmSaysSignedBy(d, sig, key)).toBe(expected);
        checked++;
      }
      // Recovery through noble names the same signer exactly when the check says yes.
      expect(recoverAddressEthereum(digest, good)).toBe(ethereumAddress(signer.publicKey));
    }
    expect(checked).toBe(420);
  });

  it('takes compressed and uncompressed keys, v as 27/28 or 0/1, and refuses malformed input', () => {
    const signer = signers[0]!;
    const digest = bytes(32);
    const sig = signDigestEthereum(digest, signer.secretKey);
    const uncompressed = secp256k1.Point.fromBytes(signer.publicKey).toBytes(false);
    expect(isEthereumSignatureBy(digest, sig, uncompressed)).toBe(true);
    const raw = new Uint8Array(sig);
    raw[64] = sig[64]! - 27;
    expect(isEthereumSignatureBy(digest, raw, signer.publicKey)).toBe(true);
    expect(isEthereumSignatureBy(digest, sig.subarray(0, 64), signer.publicKey)).toBe(false);
    expect(isEthereumSignatureBy(digest.subarray(1), sig, signer.publicKey)).toBe(false);
    expect(isEthereumSignatureBy(digest, withS(sig, 1n, 29), signer.publicKey)).toBe(false);
    expect(isEthereumSignatureBy(digest, sig, bytes(33))).toBe(false);
    expect(isEthereumSignatureBy(digest, new Uint8Array(65), signer.publicKey)).toBe(false);
  });

  it('checks Substrate-style signatures (recovery id 0/1 last) the same way', () => {
    const signer = signers[1]!;
    const digest = bytes(32);
    const sig = signDigestSubstrate(digest, signer.secretKey);
    expect(isSubstrateSignatureBy(digest, sig, signer.publicKey)).toBe(true);
    expect(isSubstrateSignatureBy(digest, sig, signers[2]!.publicKey)).toBe(false);
    const flipped = new Uint8Array(sig);
    flipped[64] = sig[64]! ^ 1;
    expect(isSubstrateSignatureBy(digest, flipped, signer.publicKey)).toBe(false);
    flipped[64] = 27; // Ethereum's v is not a Substrate recovery id
    expect(isSubstrateSignatureBy(digest, flipped, signer.publicKey)).toBe(false);
  });
});

import * as wasmCrypto from '@polkadot/wasm-crypto';
import { compactFromU8aLim, compactToU8a, u8aConcat, u8aEq } from '@polkadot/util';
import { blake2AsU8a, ed25519Verify, secp256k1Verify, sr25519Verify } from '@polkadot/util-crypto';
import type { RuntimeCallValue } from './context.js';
import { ExtrinsicFormatError } from './errors.js';
import type { Runtime } from './runtime.js';
import { MultiAddress, type MultiAddressValue, MultiSignature } from './types.js';

/**
 * Unchecked extrinsics, format v4: `compact(len) ‖ version ‖ [signer ‖ signature ‖ extra] ‖ call`,
 * with the extra of the signed extensions in types.ts (era, compact nonce, compact tip). Read by
 * hand here because the node must check each part on its own and give Substrate's errors.
 */

export const EXTRINSIC_VERSION = 4;
const SIGNED_BIT = 0x80;

export type Era = { kind: 'immortal' } | { kind: 'mortal'; period: number; phase: number };
export type MultiSignatureValue = { tag: 'Ed25519' | 'Sr25519' | 'Ecdsa'; value: Uint8Array };

export type DecodedExtrinsic = {
  /** The full encoding, length prefix included (what blocks hold and the tx hash covers). */
  bytes: Uint8Array;
  hash: Uint8Array;
  call: RuntimeCallValue;
  callBytes: Uint8Array;
  signature: {
    address: MultiAddressValue;
    signature: MultiSignatureValue;
    era: Era;
    eraBytes: Uint8Array;
    nonce: number;
    tip: bigint;
  } | null;
};

export function decodeEra(bytes: Uint8Array): { era: Era; length: number } {
  if (bytes.length < 1) throw new ExtrinsicFormatError('format', 'missing era');
  if (bytes[0] === 0) return { era: { kind: 'immortal' }, length: 1 };
  if (bytes.length < 2) throw new ExtrinsicFormatError('format', 'truncated era');
  const encoded = bytes[0]! | (bytes[1]! << 8);
  const period = 2 << (encoded % (1 << 4));
  const quantizeFactor = Math.max(period >> 12, 1);
  const phase = (encoded >> 4) * quantizeFactor;
  if (period < 4 || phase >= period) throw new ExtrinsicFormatError('format', 'invalid era');
  return { era: { kind: 'mortal', period, phase }, length: 2 };
}

/** sp_runtime::generic::Era::birth: the block a mortal transaction is anchored to. */
export function eraBirth(era: Era, current: number): number {
  if (era.kind === 'immortal') return 0;
  return Math.floor((Math.max(current, era.phase) - era.phase) / era.period) * era.period + era.phase;
}

export function eraDeath(era: Era, current: number): number {
  if (era.kind === 'immortal') return Number.MAX_SAFE_INTEGER;
  return eraBirth(era, current) + era.period;
}

function compact(bytes: Uint8Array, offset: number, what: string): [bigint, number] {
  if (offset >= bytes.length) throw new ExtrinsicFormatError('format', `missing ${what}`);
  try {
    const [length, value] = compactFromU8aLim(bytes.subarray(offset));
    if (offset + length > bytes.length) throw new Error('truncated');
    return [BigInt(value.toString()), length];
  } catch {
    throw new ExtrinsicFormatError('format', `invalid ${what}`);
  }
}

export function decodeExtrinsic(runtime: Runtime, bytes: Uint8Array): DecodedExtrinsic {
  const [declared, prefix] = compact(bytes, 0, 'length');
  if (BigInt(bytes.length - prefix) !== declared) {
    throw new ExtrinsicFormatError(
      'format',
      `length prefix says ${declared} bytes, found ${bytes.length - prefix}`,
    );
  }
  const body = bytes.subarray(prefix);
  if (body.length === 0) throw new ExtrinsicFormatError('format', 'empty extrinsic');
  const version = body[0]! & ~SIGNED_BIT;
  if (version !== EXTRINSIC_VERSION)
    throw new ExtrinsicFormatError('format', `unsupported extrinsic version ${version}`);
  let offset = 1;
  let signature: DecodedExtrinsic['signature'] = null;
  if (body[0]! & SIGNED_BIT) {
    const codec = runtime.codec;
    let address: MultiAddressValue;
    let sig: MultiSignatureValue;
    try {
      const a = codec.decodePrefix(MultiAddress, body.subarray(offset));
      address = a.value;
      offset += a.length;
      const s = codec.decodePrefix(MultiSignature, body.subarray(offset));
      sig = s.value as MultiSignatureValue;
      offset += s.length;
    } catch {
      throw new ExtrinsicFormatError('format', 'invalid signer or signature');
    }
    const { era, length: eraLength } = decodeEra(body.subarray(offset));
    const eraBytes = body.slice(offset, offset + eraLength);
    offset += eraLength;
    const [nonce, nonceLength] = compact(body, offset, 'nonce');
    offset += nonceLength;
    if (nonce > 0xffffffffn) throw new ExtrinsicFormatError('format', 'nonce out of range');
    const [tip, tipLength] = compact(body, offset, 'tip');
    offset += tipLength;
    signature = { address, signature: sig, era, eraBytes, nonce: Number(nonce), tip };
  }
  const callBytes = body.slice(offset);
  let call: RuntimeCallValue;
  try {
    call = runtime.decodeCall(callBytes);
  } catch (error) {
    throw new ExtrinsicFormatError('call', error instanceof Error ? error.message : String(error));
  }
  return { bytes, hash: blake2AsU8a(bytes, 256), call, callBytes, signature };
}

/** An unsigned (inherent) extrinsic carrying `callBytes`. */
export function encodeUnsigned(callBytes: Uint8Array): Uint8Array {
  const body = u8aConcat(Uint8Array.of(EXTRINSIC_VERSION), callBytes);
  return u8aConcat(compactToU8a(body.length), body);
}

export type AdditionalSigned = {
  specVersion: number;
  transactionVersion: number;
  genesisHash: Uint8Array;
  birthHash: Uint8Array;
};

/** The bytes a signer signs: call ‖ extra ‖ additional signed, hashed when over 256 bytes. */
export function signingPayload(ext: DecodedExtrinsic, additional: AdditionalSigned): Uint8Array {
  const s = ext.signature!;
  const u32 = (n: number) => {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, n, true);
    return out;
  };
  const payload = u8aConcat(
    ext.callBytes,
    s.eraBytes,
    compactToU8a(s.nonce),
    compactToU8a(s.tip),
    u32(additional.specVersion),
    u32(additional.transactionVersion),
    additional.genesisHash,
    additional.birthHash,
  );
  return payload.length > 256 ? blake2AsU8a(payload, 256) : payload;
}

/**
 * Verifies a MultiSignature over `payload` by `account` (sr25519/ed25519 keys are the account;
 * ecdsa is blake2 of the compressed key). @polkadot/util-crypto 14 verifies sr25519 in pure JS
 * (~2 ms); the wasm build of schnorrkel/ed25519/secp256k1 it ships (initialised by
 * cryptoWaitReady) is ~20× faster, so it is used when ready.
 */
export function verifyMultiSignature(
  payload: Uint8Array,
  signature: MultiSignatureValue,
  account: Uint8Array,
): boolean {
  try {
    const wasm = wasmCrypto.isReady();
    switch (signature.tag) {
      case 'Sr25519':
        if (signature.value.length !== 64 || account.length !== 32) return false;
        return wasm
          ? wasmCrypto.sr25519Verify(signature.value, payload, account)
          : sr25519Verify(payload, signature.value, account);
      case 'Ed25519':
        if (signature.value.length !== 64 || account.length !== 32) return false;
        return wasm
          ? wasmCrypto.ed25519Verify(signature.value, payload, account)
          : ed25519Verify(payload, signature.value, account);
      case 'Ecdsa': {
        if (signature.value.length !== 65 || account.length !== 32) return false;
        if (!wasm) return secp256k1Verify(payload, signature.value, account, 'blake2');
        const recovery = signature.value[64]!;
        if (recovery > 3) return false;
        const digest = blake2AsU8a(payload, 256);
        const recovered = wasmCrypto.secp256k1Recover(digest, signature.value.subarray(0, 64), recovery);
        if (recovered.length === 0) return false;
        const compressed = recovered.length === 33 ? recovered : wasmCrypto.secp256k1Compress(recovered);
        return u8aEq(blake2AsU8a(compressed, 256), account);
      }
    }
  } catch {
    return false;
  }
}

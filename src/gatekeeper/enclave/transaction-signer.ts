import type { IKeyringPair } from '@polkadot/types/types';
import { encodeAddress } from '@polkadot/util-crypto';
import { concatBytes, utf8 } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import type { EnclaveIdentity } from '../../pruntime/enclave/identity.js';
import { GatekeeperRefusalError } from '../errors.js';

/**
 * The ecdsa chain account of an enclave identity as a polkadot-js signer (account id =
 * blake2_256(compressed secp256k1 key), signatures `0x02 ‖ r ‖ s ‖ v` over blake2_256 of the
 * signing payload, as sp_core's ecdsa pair), so the identity key never leaves the enclave to sign
 * transactions.
 *
 * The same key signs gatekeeper payloads (an approval is a signature over blake2_256(payload)),
 * so bytes shaped like one — a compact-length-prefixed "phala-bridge/…" tag — are refused: the
 * host cannot pass an approval payload off as a transaction to get it signed. A transaction's
 * signing payload starts with a pallet and call index, never with such a tag.
 */
const PAYLOAD_TAG_PREFIX = utf8('phala-bridge/');

export function identityTransactionSigner(identity: EnclaveIdentity, ss58Format = 42): IKeyringPair {
  const publicKey = identity.secp256k1PublicKey;
  const addressRaw = blake2_256(publicKey);
  return {
    address: encodeAddress(addressRaw, ss58Format),
    addressRaw,
    publicKey,
    sign(data: Uint8Array, options?: { withType?: boolean }): Uint8Array {
      if (looksLikePayload(data))
        throw new GatekeeperRefusalError(
          'not-a-transaction',
          'the bytes start with a gatekeeper payload tag',
        );
      const signature = identity.signSubstrateDigest(blake2_256(data));
      return options?.withType ? concatBytes(Uint8Array.of(2), signature) : signature;
    },
  };
}

/** A compact-length-prefixed "phala-bridge/..." tag at the start (1- or 2-byte compact length). */
export function looksLikePayload(data: Uint8Array): boolean {
  const at = (offset: number) =>
    data.length >= offset + PAYLOAD_TAG_PREFIX.length &&
    PAYLOAD_TAG_PREFIX.every((b, i) => data[offset + i] === b);
  return at(1) || at(2);
}

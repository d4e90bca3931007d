import type { IKeyringPair } from '@polkadot/types/types';
import { encodeAddress } from '@polkadot/util-crypto';
import { concatBytes, utf8 } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import { blake2_256 } from '../../crypto/hash.js';
import type { EnclaveIdentity } from './identity.js';

/**
 * The ecdsa chain account of the worker's identity key as a polkadot-js signer (account id =
 * blake2_256(compressed secp256k1 key); signature `0x02 ‖ r ‖ s ‖ recovery id` over
 * blake2_256(signing payload), as sp_core's ecdsa pair), so a worker registers and pays from
 * its own account without the key leaving the enclave.
 *
 * The same key signs results, state commits, queries and worker messages (in a gatekeeper:
 * approvals), each a signature over blake2_256 of a payload that starts with a
 * compact-length-prefixed "phala-bridge/…" tag. Bytes shaped like that are refused here, so the
 * untrusted host cannot pass such a payload off as a transaction to get it signed; a
 * transaction's signing payload starts with a pallet and call index, never with such a tag.
 */
const PAYLOAD_TAG_PREFIX = utf8('phala-bridge/');

export class TransactionSigningRefusedError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'TransactionSigningRefusedError';
  constructor() {
    super('The enclave refused to sign: the bytes are a phala-bridge payload, not a transaction.', {
      docsPath: '/docs/pruntime-worker.md#chain-account',
    });
  }
}

/**
 * `refused` makes the error a refusal throws (the gatekeeper enclave, which signs its chain
 * transactions with this too, reports it as one of its own refusals).
 */
export function identityTransactionSigner(
  identity: EnclaveIdentity,
  ss58Format = 42,
  refused: () => Error = () => new TransactionSigningRefusedError(),
): IKeyringPair {
  const publicKey = identity.secp256k1PublicKey;
  const addressRaw = blake2_256(publicKey);
  return {
    address: encodeAddress(addressRaw, ss58Format),
    addressRaw,
    publicKey,
    sign(data: Uint8Array, options?: { withType?: boolean }): Uint8Array {
      if (looksLikePayload(data)) throw refused();
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

import { compactAddLength } from '@polkadot/util';
import { concatBytes } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import { blake2_256 } from '../crypto/hash.js';

/** Identifiers on the Phala-style chain (docs/PROTOCOL.md §1), computed without a connection. */

/** code hash = blake2_256(code). */
export function codeHashOf(code: Uint8Array): Uint8Array {
  return blake2_256(code);
}

/** contract id = blake2_256(SCALE(deployer: AccountId32, codeHash: H256, salt: Vec<u8>)). */
export function contractIdOf(deployer: Uint8Array, codeHash: Uint8Array, salt: Uint8Array): Uint8Array {
  if (deployer.length !== 32) throw new InvalidInputError('deployer', '32 bytes');
  if (codeHash.length !== 32) throw new InvalidInputError('codeHash', '32 bytes');
  return blake2_256(concatBytes(deployer, codeHash, compactAddLength(salt)));
}

/**
 * A request's origin as the chain encodes it (`RequestOrigin`): `Signed(AccountId32)` is variant
 * 0; other origins (an XCM `Location`, variant 1) are given as their SCALE bytes.
 */
export type RequestOriginInput =
  | { kind: 'signed'; account: Uint8Array }
  | { kind: 'encoded'; bytes: Uint8Array };

export function encodeRequestOrigin(origin: RequestOriginInput): Uint8Array {
  if (origin.kind === 'encoded') return origin.bytes;
  if (origin.account.length !== 32) throw new InvalidInputError('origin account', '32 bytes');
  return concatBytes(Uint8Array.of(0), origin.account);
}

/** request id = blake2_256(SCALE(origin, nonce: u64, contractId, blake2_256(sealedInput))). */
export function requestIdOf(
  origin: RequestOriginInput,
  nonce: bigint,
  contractId: Uint8Array,
  sealedInput: Uint8Array,
): Uint8Array {
  if (contractId.length !== 32) throw new InvalidInputError('contractId', '32 bytes');
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, nonce, true);
  return blake2_256(concatBytes(encodeRequestOrigin(origin), n, contractId, blake2_256(sealedInput)));
}

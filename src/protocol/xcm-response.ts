import { compactAddLength, stringToU8a } from '@polkadot/util';
import { concatBytes } from '../base/bytes.js';
import { blake2_256 } from '../crypto/hash.js';

/**
 * The topic (and so the XCM message id) of the response the Phala-style chain sends to an XCM
 * origin (docs/PROTOCOL.md §9): blake2_256(SCALE("phala-bridge/xcm-response/v1") ‖ requestId).
 * Anyone can compute it from the request id, so the relayer follows a response without reading
 * the message itself.
 */
export function responseTopicOf(requestId: Uint8Array): Uint8Array {
  return blake2_256(concatBytes(compactAddLength(stringToU8a('phala-bridge/xcm-response/v1')), requestId));
}

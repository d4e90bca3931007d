import { concatBytes, fromHex, type Hex, toHex } from '../../base/bytes.js';
import { BaseError, errorMessage, type Retry } from '../../base/errors.js';
import { blake2_256 } from '../../crypto/hash.js';
import { convertXcm } from '../../xcm/convert.js';
import type { DecodedXcm } from '../../xcm/decode.js';
import { encodeXcm } from '../../xcm/encode.js';
import type { JsonValue } from '../../xcm/json.js';
import { type LocationJson, location } from '../../xcm/location.js';
import { messageHash, topicOf } from '../../xcm/message-id.js';
import type { Env } from '../substrate/runtime/context.js';
import type { XcmChain } from './chain.js';
import { locationOf, routeOf } from './locations.js';

/**
 * pallet_xcm's `send_xcm` behind a `WithUniqueTopic` router: the sender's interior location is
 * prepended as DescendOrigin, a SetTopic is appended when the message has none (so every message
 * has an id), the message goes to the transport for its destination, and `Sent` is emitted with
 * the message id. The bytes on the wire are VersionedXcm, in the version the message was built in.
 */

export type XcmSendErrorReason = 'Unroutable' | 'ExceedsMaxMessageSize' | 'NotApplicable';

export class XcmSendError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'XcmSendError';
  constructor(
    readonly reason: XcmSendErrorReason,
    details?: string,
  ) {
    super(`cannot send XCM: ${reason}`, details ? { details } : {});
  }
}

export type SendXcmParameters = {
  /** The sender inside this chain (junctions), e.g. `[AccountId32(user)]`; empty: the chain itself. */
  interior: JsonValue[];
  dest: LocationJson;
  message: DecodedXcm;
};

export type SentXcm = { id: Hex; hash: Hex; bytes: Uint8Array };

export function sendXcm(env: Env, chain: XcmChain, p: SendXcmParameters): SentXcm {
  const route = routeOf(p.dest, chain.config);
  if (!route) throw new XcmSendError('Unroutable', 'no transport to this destination');
  const version = p.message.version;
  if (version < 3) throw new XcmSendError('NotApplicable', 'XCM V2 is never sent');
  let instructions = p.message.instructions;
  if (p.interior.length > 0) {
    const interior = locationOf(0, p.interior).interior as unknown as JsonValue;
    instructions = [{ descendOrigin: interior }, ...instructions];
  }
  if (!topicOf(instructions)) {
    const nonce = chain.xcm.storage.SendNonce.get(env);
    chain.xcm.storage.SendNonce.set(env, nonce + 1n);
    const entropy = new Uint8Array(12);
    const view = new DataView(entropy.buffer);
    view.setUint32(0, env.block.number, true);
    view.setBigUint64(4, nonce, true);
    instructions = [...instructions, { setTopic: toHex(blake2_256(concatBytes(p.message.bytes, entropy))) }];
  }
  let message: DecodedXcm;
  try {
    message =
      instructions === p.message.instructions ? p.message : encodeXcm({ [`v${version}`]: instructions });
  } catch (error) {
    throw new XcmSendError('NotApplicable', errorMessage(error));
  }
  if (message.bytes.length > chain.config.maxMessageSize)
    throw new XcmSendError('ExceedsMaxMessageSize', `${message.bytes.length} bytes`);
  const { transport } = chain;
  if (route.kind === 'ump' && transport.ump) transport.ump(env, message.bytes);
  else if (route.kind === 'hrmp' && transport.hrmp) transport.hrmp(env, route.paraId, message.bytes);
  else if (route.kind === 'dmp' && transport.dmp) transport.dmp(env, route.paraId, message.bytes);
  else throw new XcmSendError('Unroutable', `no ${route.kind.toUpperCase()} transport on this chain`);
  const v5 = message.version === 5 ? message : convertXcm(message, 5);
  chain.xcm.events.emit(env, 'Sent', {
    origin: location(0, p.interior as never),
    destination: p.dest,
    message: v5.instructions,
    messageId: fromHex(message.id, 'messageId', 32),
  });
  return { id: message.id, hash: messageHash(message.bytes), bytes: message.bytes };
}

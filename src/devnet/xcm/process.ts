import { concatBytes, fromHex, type Hex } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { convertXcm } from '../../xcm/convert.js';
import { type DecodedXcm, decodeXcm } from '../../xcm/decode.js';
import { encodeAssets, encodeLocation } from '../../xcm/encode.js';
import type { LocationJson } from '../../xcm/location.js';
import { messageHash } from '../../xcm/message-id.js';
import type { CallContext } from '../substrate/runtime/context.js';
import type { XcmChain } from './chain.js';
import { type ExecutionOutcome, executeXcm, xcmErrorJson } from './executor.js';
import type { HoldingAsset } from './assets.js';
import type { MessageOriginValue, ProcessMessageErrorValue } from './types.js';

/**
 * `ProcessXcmMessage` behind the message queue: decode (BadFormat), convert to V5 (Unsupported),
 * execute, and report as a real chain does: `messageQueue.Processed {id, origin, weightUsed,
 * success}`, or `ProcessingFailed {id, origin, error}` for a message that could not run at all,
 * or `OverweightEnqueued`; `ProcessXcmError {origin, error, messageId}` for an XCM error; trapped
 * assets as `AssetsTrapped`. Nothing a message contains can make this throw.
 */

export type IncomingXcm = {
  /** The queue it arrived on: Parent, Sibling(id), Ump(Para(id)). */
  origin: MessageOriginValue;
  /** The same origin as an XCM location seen from this chain. */
  from: LocationJson;
  /** VersionedXcm bytes, or a message already decoded from an XCMP page. */
  message: Uint8Array | DecodedXcm;
};

export function processXcmMessage(
  ctx: CallContext,
  chain: XcmChain,
  incoming: IncomingXcm,
): ExecutionOutcome | null {
  const bytes = incoming.message instanceof Uint8Array ? incoming.message : incoming.message.bytes;
  const hash = messageHash(bytes);
  const failed = (id: Hex, error: ProcessMessageErrorValue) =>
    chain.mq.events.emit(ctx, 'ProcessingFailed', {
      id: fromHex(id, 'id', 32),
      origin: incoming.origin,
      error,
    });
  if (bytes.length > chain.config.maxMessageSize) {
    failed(hash, { tag: 'BadFormat' });
    return null;
  }
  let decoded: DecodedXcm;
  try {
    decoded = incoming.message instanceof Uint8Array ? decodeXcm(bytes) : incoming.message;
  } catch {
    failed(hash, { tag: 'BadFormat' });
    return null;
  }
  let v5: DecodedXcm;
  try {
    v5 = decoded.version === 5 ? decoded : convertXcm(decoded, 5);
  } catch {
    failed(hash, { tag: 'Unsupported' });
    return null;
  }
  try {
    return ctx.storage.transactional(() => {
      const outcome = executeXcm(ctx, chain.executor, {
        origin: incoming.from,
        instructions: v5.instructions,
        hash,
        version: decoded.version,
      });
      report(ctx, chain, incoming, bytes, outcome);
      return outcome;
    });
  } catch {
    // A bug, not the message: everything it did is rolled back and it is reported unprocessable.
    failed(hash, { tag: 'Unsupported' });
    return null;
  }
}

function report(
  ctx: CallContext,
  chain: XcmChain,
  incoming: IncomingXcm,
  bytes: Uint8Array,
  outcome: ExecutionOutcome,
): void {
  const { xcm, mq } = chain;
  const id = fromHex(outcome.id, 'id', 32);
  switch (outcome.kind) {
    case 'error':
      xcm.events.emit(ctx, 'ProcessXcmError', {
        origin: incoming.from,
        error: xcmErrorJson(outcome.error),
        messageId: id,
      });
      mq.events.emit(ctx, 'ProcessingFailed', {
        id,
        origin: incoming.origin,
        error: { tag: 'Unsupported' },
      });
      return;
    case 'overweight':
      mq.storage.Overweight.set(ctx, id, [incoming.origin, bytes]);
      mq.events.emit(ctx, 'OverweightEnqueued', {
        id,
        origin: incoming.origin,
        pageIndex: 0,
        messageIndex: 0,
      });
      return;
    case 'incomplete':
      trap(ctx, chain, incoming.from, outcome.trapped);
      if (outcome.transactFailure) {
        xcm.events.emit(ctx, 'TransactDispatchFailed', {
          messageId: id,
          index: outcome.transactFailure.index,
          error: outcome.transactFailure.error,
        });
      }
      xcm.events.emit(ctx, 'ProcessXcmError', {
        origin: incoming.from,
        error: xcmErrorJson(outcome.error),
        messageId: id,
      });
      mq.events.emit(ctx, 'Processed', {
        id,
        origin: incoming.origin,
        weightUsed: outcome.weightUsed,
        success: false,
      });
      return;
    case 'complete':
      trap(ctx, chain, incoming.from, outcome.trapped);
      mq.events.emit(ctx, 'Processed', {
        id,
        origin: incoming.origin,
        weightUsed: outcome.weightUsed,
        success: true,
      });
  }
}

/** What is left in holding is trapped (claimable by its origin with ClaimAsset on a real chain). */
function trap(ctx: CallContext, chain: XcmChain, origin: LocationJson, assets: HoldingAsset[]): void {
  if (assets.length === 0) return;
  const versioned = {
    v5: assets.map((a) => ({ id: a.id, fun: { fungible: a.amount.toString() } })),
  };
  let encodedAssets: Uint8Array;
  let encodedOrigin: Uint8Array;
  try {
    encodedAssets = encodeAssets(versioned).bytes;
    encodedOrigin = encodeLocation({ v5: origin }).bytes;
  } catch {
    return;
  }
  const hash = blake2_256(concatBytes(encodedOrigin, encodedAssets));
  chain.xcm.storage.AssetTraps.set(ctx, hash, chain.xcm.storage.AssetTraps.get(ctx, hash) + 1);
  chain.xcm.events.emit(ctx, 'AssetsTrapped', { hash, origin, assets: versioned });
}

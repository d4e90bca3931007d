import { responseTopicOf } from '../../../protocol/xcm-response.js';
import { compactAddLength } from '@polkadot/util';
import { concatBytes } from '../../../base/bytes.js';
import { BaseError, errorMessage, type Retry } from '../../../base/errors.js';
import { buildResponseProgram, fungibleAsset } from '../../../xcm/builders.js';
import { convertLocation } from '../../../xcm/convert.js';
import type { JsonValue } from '../../../xcm/json.js';
import { here, type LocationJson, sibling } from '../../../xcm/location.js';
import type { RequestOriginExtension } from '../../substrate/pallets/phala/contracts.js';
import type { Env } from '../../substrate/runtime/context.js';
import { DispatchFailure } from '../../substrate/runtime/errors.js';
import {
  type Pallet,
  call,
  defineEvents,
  definePallet,
  storageMap,
  weight,
} from '../../substrate/runtime/pallet.js';
import { H256 } from '../../substrate/runtime/types.js';
import { t } from '../../substrate/scale/ty.js';
import type { XcmChain } from '../chain.js';
import { currentXcmMessage } from '../current-message.js';
import { isSameLocation, parseLocation } from '../locations.js';
import { sendXcm } from '../send.js';
import { xcmTypes } from '../types.js';

/**
 * The Phala chain's side of XCM requests: `phalaContracts.request` accepts an XCM origin (the
 * Transact origin a sibling's message converts to with OriginKind::Xcm) and records it as
 * `RequestOrigin::Xcm(V4 Location)`; when such a request is fulfilled, PhalaXcmResponder sends
 * PROTOCOL.md §9's response program back to the origin's chain:
 * `[UnpaidExecution | WithdrawAsset + BuyExecution, Transact{Xcm, <callback>(query, requestId,
 * publicOutput, sealedOutput, proof{nonce, stateRoot, signature})}, SetTopic(responseTopic)]`.
 * Which call is the callback on each parachain is root's to set (`setCallback`).
 */

export const PHALA_XCM_RESPONDER = 'PhalaXcmResponder';
const CRATE = 'pallet_phala_xcm_responder';

/** The RequestOrigin variant for XCM origins (Signed is 0). */
export const XCM_REQUEST_ORIGIN_INDEX = 1;

export const CallbackInfo = t.struct(`${CRATE}::CallbackInfo`, {
  palletIndex: t.u8,
  callIndex: t.u8,
  /** None: the response runs as UnpaidExecution; Some(fee): paid from our sovereign account there. */
  fee: t.option(t.u128),
});
export type CallbackInfoValue = { palletIndex: number; callIndex: number; fee: bigint | null };

export const XcmRequestInfo = t.struct(`${CRATE}::XcmRequestInfo`, {
  /** The id of the XCM message the request came in (the requester's query id). */
  query: H256,
  paraId: t.u32,
});

export const responderStorage = {
  Callbacks: storageMap({
    hasher: 'Twox64Concat',
    key: t.u32,
    value: CallbackInfo,
    docs: [' The callback call (pallet and call index) on each parachain, and how responses pay.'],
  }),
  XcmRequests: storageMap({
    hasher: 'Identity',
    key: H256,
    value: XcmRequestInfo,
    docs: [' Open requests that came over XCM: the message they came in and their parachain.'],
  }),
  Responses: storageMap({
    hasher: 'Identity',
    key: H256,
    value: H256,
    docs: [' The id of the response message sent for a request.'],
  }),
};

export const responderEvents = defineEvents(PHALA_XCM_RESPONDER, CRATE, {
  CallbackSet: { fields: { paraId: t.u32, palletIndex: t.u8, callIndex: t.u8, fee: t.option(t.u128) } },
  ResponseSent: {
    fields: { requestId: H256, query: H256, messageId: H256, paraId: t.u32 },
    docs: ['The result of an XCM request left for its origin chain in message `messageId`.'],
  },
  ResponseFailed: {
    fields: { requestId: H256, reason: t.bytes },
    docs: ['The result of an XCM request could not be sent back (the result itself is recorded).'],
  },
});

/** The topic (message id) of the response to a request. */
export { responseTopicOf };

class ResponseError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'ResponseError';
}

function paraOfOrigin(location: JsonValue): number | null {
  const parsed = parseLocation(location);
  if (parsed?.parents !== 1) return null;
  const first = parsed.junctions[0];
  const id = first && typeof first === 'object' && !Array.isArray(first) ? first.parachain : undefined;
  return typeof id === 'number' ? id : null;
}

function v4Of(location: LocationJson): JsonValue | undefined {
  try {
    return convertLocation({ v5: location }, 4).location;
  } catch {
    return undefined;
  }
}

export type ResponderConfig = { callbacks?: [paraId: number, callback: CallbackInfoValue][] };

/** The `Xcm(Location)` variant of PhalaContracts' RequestOrigin, answered through PhalaXcmResponder. */
export function xcmRequestOrigin(chain: XcmChain): RequestOriginExtension {
  const S = responderStorage;
  return {
    name: 'Xcm',
    index: XCM_REQUEST_ORIGIN_INDEX,
    type: xcmTypes().LocationV4,
    fromDispatch(origin) {
      if (origin.kind !== 'xcm') return undefined;
      // PROTOCOL.md §1: the origin is recorded as an XCM V4 Location relative to this chain.
      return v4Of(origin.location as LocationJson);
    },
    isRequester(origin, payload) {
      return origin.kind === 'xcm' && isSameLocation(v4Of(origin.location as LocationJson), payload);
    },
    onRequested(env, { requestId, request }) {
      const message = currentXcmMessage(env);
      S.XcmRequests.set(env, requestId, {
        query: message ? Uint8Array.from(Buffer.from(message.id.slice(2), 'hex')) : new Uint8Array(32),
        paraId: paraOfOrigin(request.origin.value as JsonValue) ?? 0,
      });
    },
    onFulfilled(env, { requestId, request, fulfillment, signature, stateCommit }) {
      const info = S.XcmRequests.get(env, requestId);
      S.XcmRequests.remove(env, requestId);
      try {
        // The response is sent in its own layer: if sending fails, nothing of it stays, and the
        // fulfillment (already checked and recorded) is kept either way.
        env.storage.transactional(() => {
          const para = paraOfOrigin(request.origin.value as JsonValue);
          if (para === null) throw new ResponseError('the request origin is not on a parachain');
          const callback = S.Callbacks.get(env, para);
          if (!callback) throw new ResponseError(`no callback is set for parachain ${para}`);
          const query = info?.query ?? new Uint8Array(32);
          const nonce = new Uint8Array(8);
          new DataView(nonce.buffer).setBigUint64(0, request.nonce, true);
          const callBytes = concatBytes(
            Uint8Array.of(callback.palletIndex, callback.callIndex),
            query,
            requestId,
            compactAddLength(fulfillment.publicOutput),
            compactAddLength(fulfillment.sealedOutput),
            nonce,
            fulfillment.stateRoot,
            signature,
            // FulfillmentProof.state_commit: Option<(u64, H256)>, what a stateful result's v2 signature covers.
            stateCommitBytes(stateCommit),
          );
          const message = buildResponseProgram({
            version: 5,
            payment:
              callback.fee === null
                ? { kind: 'unpaid' }
                : { kind: 'paid', fees: fungibleAsset(here(), callback.fee) },
            call: callBytes,
            topic: responseTopicOf(requestId),
            originKind: 'Xcm',
          });
          const sent = sendXcm(env, chain, { interior: [], dest: sibling(para), message });
          const messageId = Uint8Array.from(Buffer.from(sent.id.slice(2), 'hex'));
          S.Responses.set(env, requestId, messageId);
          responderEvents.emit(env, 'ResponseSent', { requestId, query, messageId, paraId: para });
        });
      } catch (error) {
        responderEvents.emit(env, 'ResponseFailed', {
          requestId,
          reason: new TextEncoder().encode(errorMessage(error).slice(0, 200)),
        });
      }
    },
  };
}

function stateCommitBytes(commit: { expectedVersion: bigint; stateHash: Uint8Array } | null): Uint8Array {
  if (!commit) return Uint8Array.of(0);
  const version = new Uint8Array(8);
  new DataView(version.buffer).setBigUint64(0, commit.expectedVersion, true);
  return concatBytes(Uint8Array.of(1), version, commit.stateHash);
}

export function phalaXcmResponderPallet(config: ResponderConfig = {}): Pallet {
  const S = responderStorage;
  return definePallet({
    name: PHALA_XCM_RESPONDER,
    crate: CRATE,
    docs: ['Sends the results of requests that came over XCM back to their origin chain.'],
    storage: S,
    events: responderEvents,
    calls: {
      setCallback: call({
        index: 0,
        args: { paraId: t.u32, palletIndex: t.u8, callIndex: t.u8, fee: t.option(t.u128) },
        weight: weight(10_000_000),
        docs: ['Sets the callback call on a parachain and how responses pay there (root).'],
        handler(ctx, a) {
          if (ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          S.Callbacks.set(ctx, a.paraId, { palletIndex: a.palletIndex, callIndex: a.callIndex, fee: a.fee });
          responderEvents.emit(ctx, 'CallbackSet', a);
        },
      }),
    },
    hooks: {
      genesis(env: Env) {
        for (const [paraId, callback] of config.callbacks ?? []) S.Callbacks.set(env, paraId, callback);
      },
    },
  });
}

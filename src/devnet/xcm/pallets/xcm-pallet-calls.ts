import { u8aToHex } from '@polkadot/util';
import { convertLocation, convertXcm } from '../../../xcm/convert.js';
import type { DecodedXcm } from '../../../xcm/decode.js';
import { encodeXcm } from '../../../xcm/encode.js';
import type { JsonValue } from '../../../xcm/json.js';
import { type LocationJson, accountId32 } from '../../../xcm/location.js';
import { DispatchFailure } from '../../substrate/runtime/errors.js';
import { type Pallet, call, definePallet, weight } from '../../substrate/runtime/pallet.js';
import type { XcmChain } from '../chain.js';
import { XcmSendError, sendXcm } from '../send.js';
import { xcmTypes } from '../types.js';

/**
 * pallet_xcm with its `send` call (index 0, as on every real chain): a signed origin sends as
 * `AccountId32` inside this chain (the message gets DescendOrigin), root as the chain itself.
 */
export function xcmPallet(chain: XcmChain): Pallet {
  const { xcm } = chain;
  const x = xcmTypes();
  return definePallet({
    name: xcm.name,
    crate: 'pallet_xcm',
    docs: ['XCM: send messages; events for sent, failed and trapped messages.'],
    storage: xcm.storage as never,
    events: xcm.events,
    errors: xcm.errors,
    calls: {
      send: call({
        index: 0,
        args: { dest: x.VersionedLocation, message: x.VersionedXcm },
        typeNames: { dest: 'Box<VersionedLocation>', message: 'Box<VersionedXcm<()>>' },
        weight: weight(100_000_000, 10_000),
        docs: [
          'Send an XCM message to `dest`, as the origin (an account of this chain, or the chain for root).',
        ],
        handler(ctx, a) {
          let interior: JsonValue[];
          if (ctx.origin.kind === 'signed')
            interior = [accountId32(u8aToHex(ctx.origin.account) as `0x${string}`)];
          else if (ctx.origin.kind === 'root') interior = [];
          else throw DispatchFailure.badOrigin();
          let dest: LocationJson;
          let message: DecodedXcm;
          try {
            dest = convertLocation(a.dest, 5).location as LocationJson;
            // As pallet_xcm: the message is taken in its latest form (V2 is never sent).
            const given = encodeXcm(a.message);
            if (given.version < 3) throw xcm.errors.fail('BadVersion');
            message = given.version === 5 ? given : convertXcm(given, 5);
          } catch {
            throw xcm.errors.fail('BadVersion');
          }
          try {
            sendXcm(ctx, chain, { interior, dest, message });
          } catch (error) {
            if (error instanceof XcmSendError)
              throw xcm.errors.fail(error.reason === 'Unroutable' ? 'Unreachable' : 'SendFailure');
            throw error;
          }
        },
      }),
    },
  });
}

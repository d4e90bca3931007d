import { AccountId, Balance, DispatchError, H256 } from '../../substrate/runtime/types.js';
import {
  type PalletErrors,
  type PalletEvents,
  type StorageMap,
  type StorageValue,
  defineErrors,
  defineEvents,
  storageDoubleMap,
  storageMap,
  storageValue,
} from '../../substrate/runtime/pallet.js';
import { type Ty, t } from '../../substrate/scale/ty.js';
import { xcmTypes } from '../types.js';

/**
 * The storage, events and errors of pallet_xcm, as `PolkadotXcm` on a parachain and `XcmPallet`
 * on the relay chain (the calls are in xcm-pallet-calls.ts). Event indices are pallet_xcm's, so a
 * client built for a real chain reads them; `TransactDispatchFailed` is the devnet's own addition
 * (a real chain keeps the error of a Transact'd call only in the executor's transact status).
 */

const CRATE = 'pallet_xcm';
const XcmHash = t.fixedBytes(32);

function build(name: 'PolkadotXcm' | 'XcmPallet') {
  const x = xcmTypes();
  const events = defineEvents(name, CRATE, {
    Sent: {
      index: 1,
      fields: { origin: x.LocationV5, destination: x.LocationV5, message: x.XcmV5, messageId: XcmHash },
      docs: ['An XCM message was sent.'],
    },
    ProcessXcmError: {
      index: 3,
      fields: { origin: x.LocationV5, error: x.XcmErrorV5, messageId: XcmHash },
      docs: ['An XCM message failed to process.'],
    },
    AssetsTrapped: {
      index: 13,
      fields: { hash: H256, origin: x.LocationV5, assets: x.VersionedAssets },
      docs: ['Some assets have been placed in an asset trap.'],
    },
    TransactDispatchFailed: {
      index: 100,
      fields: { messageId: XcmHash, index: t.u32, error: DispatchError },
      docs: ['Devnet: the call of the Transact at `index` failed with `error`, which failed the message.'],
    },
  });
  const errors = defineErrors(name, CRATE, {
    Unreachable:
      'The desired destination was unreachable, generally because there is a no way of routing to it.',
    SendFailure: 'There was some other issue (i.e. not to do with routing) in sending the message.',
    Filtered: 'The message execution fails the filter.',
    UnweighableMessage: "The message's weight could not be determined.",
    DestinationNotInvertible: 'The destination `Location` provided cannot be inverted.',
    Empty: 'The assets to be sent are empty.',
    CannotReanchor: 'Could not re-anchor the assets to declare the fees for the destination chain.',
    TooManyAssets: 'Too many assets have been attempted for transfer.',
    InvalidOrigin: 'Origin is invalid for sending.',
    BadVersion: 'The version of the `Versioned` value used is not able to be interpreted.',
  });
  const storage = {
    AssetTraps: storageMap({
      hasher: 'Identity',
      key: H256,
      value: t.u32,
      default: 0,
      docs: [' The existing asset traps (hash of origin and assets → how many times trapped).'],
    }),
    DerivativeBalances: storageDoubleMap({
      hashers: ['Blake2_128Concat', 'Blake2_128Concat'],
      keys: [H256, AccountId],
      value: Balance,
      docs: [" Devnet: balances of other chains' assets received with ReserveAssetDeposited, by asset."],
    }),
    SendNonce: storageValue({
      value: t.u64,
      default: 0n,
      docs: [' Devnet: a counter mixed into the topic given to a message sent without one.'],
    }),
  };
  return { name, events, errors, storage };
}

export type XcmPalletParts = {
  name: 'PolkadotXcm' | 'XcmPallet';
  // biome-ignore lint/suspicious/noExplicitAny: the event record of pallet_xcm
  events: PalletEvents<any>;
  errors: PalletErrors<
    | 'Unreachable'
    | 'SendFailure'
    | 'Filtered'
    | 'UnweighableMessage'
    | 'DestinationNotInvertible'
    | 'Empty'
    | 'CannotReanchor'
    | 'TooManyAssets'
    | 'InvalidOrigin'
    | 'BadVersion'
  >;
  storage: {
    AssetTraps: StorageMap<[Uint8Array], number, number>;
    DerivativeBalances: StorageMap<[Uint8Array, Uint8Array], bigint, bigint | null>;
    SendNonce: StorageValue<bigint, bigint>;
  };
};

const parts = new Map<string, XcmPalletParts>();

/** One set per pallet name (storage items are bound to it); shared by every chain that uses it. */
export function xcmPalletParts(name: 'PolkadotXcm' | 'XcmPallet'): XcmPalletParts {
  let p = parts.get(name);
  if (!p) {
    p = build(name) as unknown as XcmPalletParts;
    parts.set(name, p);
  }
  return p;
}

export type { Ty };

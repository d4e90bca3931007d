import { runtimeTypesFor } from '../../xcm/runtime-types.js';
import { BlockNumber, H256, Weight } from '../substrate/runtime/types.js';
import { type ForeignPortableType, type ForeignTypeSource, type Ty, t } from '../substrate/scale/ty.js';

/**
 * Types the XCM layer of the devnet declares. The XCM types themselves (VersionedXcm,
 * VersionedLocation, VersionedAssets, v4/v5 Location, v5 Xcm, XcmError) are copied from the real
 * Polkadot runtime metadata src/xcm decodes with, so the devnet's metadata describes them exactly
 * as a real chain's does and polkadot-js encodes and decodes them the same way. Values of these
 * types are polkadot-js JSON (what src/xcm's codec produces and accepts).
 */

/** A value of a copied XCM type: polkadot-js JSON. */
export type XcmJson = unknown;

export type XcmTypes = {
  VersionedXcm: Ty<XcmJson>;
  VersionedLocation: Ty<XcmJson>;
  VersionedAssets: Ty<XcmJson>;
  LocationV4: Ty<XcmJson>;
  LocationV5: Ty<XcmJson>;
  XcmV5: Ty<XcmJson>;
  XcmErrorV5: Ty<XcmJson>;
};

let cached: XcmTypes | undefined;

/** Built on first use (the Polkadot metadata registry takes about a second to load). */
export function xcmTypes(): XcmTypes {
  if (cached) return cached;
  const rt = runtimeTypesFor(5);
  const lookup = rt.registry.metadata.lookup;
  const source: ForeignTypeSource = {
    name: 'polkadot-relay-v15',
    types: lookup.types.toJSON() as unknown as ForeignPortableType[],
  };
  const byPath = (path: string): number => {
    for (const entry of lookup.types) {
      if (entry.type.path.map(String).join('::') === path) return entry.id.toNumber();
    }
    throw new Error(`the Polkadot metadata has no type ${path}`);
  };
  const inner = (kind: 'xcm' | 'location', version: number): number => {
    const id = rt.inner[kind].get(version);
    if (id === undefined) throw new Error(`the Polkadot metadata has no ${kind} V${version}`);
    return id;
  };
  cached = {
    VersionedXcm: t.foreign(source, rt.versioned.xcm),
    VersionedLocation: t.foreign(source, rt.versioned.location),
    VersionedAssets: t.foreign(source, rt.versioned.assets),
    LocationV4: t.foreign(source, inner('location', 4)),
    LocationV5: t.foreign(source, inner('location', 5)),
    XcmV5: t.foreign(source, inner('xcm', 5)),
    XcmErrorV5: t.foreign(source, byPath('xcm::v5::traits::Error')),
  };
  return cached;
}

/** `polkadot_parachain_primitives::primitives::Id`. */
export const ParaId = t.newtype('polkadot_parachain_primitives::primitives::Id', t.u32, 'u32');

/** A parachain's message origins (`cumulus_primitives_core::AggregateMessageOrigin`). */
export const ParaMessageOrigin = t.enum('cumulus_primitives_core::AggregateMessageOrigin', {
  Here: {},
  Parent: {},
  Sibling: { fields: ParaId },
});
export type ParaMessageOriginValue = { tag: 'Here' } | { tag: 'Parent' } | { tag: 'Sibling'; value: number };

const UmpQueueId = t.enum('polkadot_runtime_parachains::inclusion::UmpQueueId', {
  Para: { fields: ParaId },
});
/** The relay chain's message origins (`polkadot_runtime_parachains::inclusion::AggregateMessageOrigin`). */
export const RelayMessageOrigin = t.enum('polkadot_runtime_parachains::inclusion::AggregateMessageOrigin', {
  Ump: { fields: UmpQueueId },
});
export type RelayMessageOriginValue = { tag: 'Ump'; value: { tag: 'Para'; value: number } };

export type MessageOriginValue = ParaMessageOriginValue | RelayMessageOriginValue;

/** `frame_support::traits::messages::ProcessMessageError`. */
export const ProcessMessageError = t.enum('frame_support::traits::messages::ProcessMessageError', {
  BadFormat: {},
  Corrupt: {},
  Unsupported: {},
  Overweight: { fields: Weight },
  Yield: {},
  StackLimitReached: {},
});
export type ProcessMessageErrorValue =
  | { tag: 'BadFormat' | 'Corrupt' | 'Unsupported' | 'Yield' | 'StackLimitReached' }
  | { tag: 'Overweight'; value: { refTime: bigint; proofSize: bigint } };

/** A downward message as the relay keeps it (`polkadot_core_primitives::InboundDownwardMessage`). */
export const InboundDownwardMessage = t.struct(
  'polkadot_core_primitives::InboundDownwardMessage',
  { sentAt: BlockNumber, msg: t.bytes },
  { params: [{ name: 'BlockNumber', type: BlockNumber }] },
);
export type InboundDownwardMessageValue = { sentAt: number; msg: Uint8Array };

/** A horizontal message as the relay keeps it (`polkadot_core_primitives::InboundHrmpMessage`). */
export const InboundHrmpMessage = t.struct(
  'polkadot_core_primitives::InboundHrmpMessage',
  { sentAt: BlockNumber, data: t.bytes },
  { params: [{ name: 'BlockNumber', type: BlockNumber }] },
);
export type InboundHrmpMessageValue = { sentAt: number; data: Uint8Array };

/** A horizontal message a parachain block sends (`polkadot_core_primitives::OutboundHrmpMessage`). */
export const OutboundHrmpMessage = t.struct(
  'polkadot_core_primitives::OutboundHrmpMessage',
  { recipient: ParaId, data: t.bytes },
  { params: [{ name: 'Id', type: ParaId }] },
);
export type OutboundHrmpMessageValue = { recipient: number; data: Uint8Array };

/** `polkadot_parachain_primitives::primitives::HrmpChannelId`. */
export const HrmpChannelId = t.struct('polkadot_parachain_primitives::primitives::HrmpChannelId', {
  sender: ParaId,
  recipient: ParaId,
});

/**
 * What a parachain block is built on: the relay parent and the messages for this parachain that
 * the relay chain holds (cumulus' `ParachainInherentData`, without the storage proof: the devnet
 * router reads the relay chain's state directly).
 */
export const ParachainInherentData = t.struct(
  'cumulus_pallet_parachain_system::devnet::ParachainInherentData',
  {
    validationData: t.struct('cumulus_pallet_parachain_system::devnet::ValidationData', {
      relayParentNumber: BlockNumber,
      relayParentStorageRoot: H256,
    }),
    downwardMessages: t.vec(InboundDownwardMessage),
    /** `BTreeMap<ParaId, Vec<InboundHrmpMessage>>` (a sorted list of pairs in SCALE). */
    horizontalMessages: t.vec(t.tuple(ParaId, t.vec(InboundHrmpMessage))),
  },
);
export type ParachainInherentDataValue = {
  validationData: { relayParentNumber: number; relayParentStorageRoot: Uint8Array };
  downwardMessages: InboundDownwardMessageValue[];
  horizontalMessages: [number, InboundHrmpMessageValue[]][];
};

/** What a parachain block hands the relay chain (the commitments of a candidate). */
export const CandidateCommitments = t.struct('polkadot_primitives::devnet::CandidateCommitments', {
  upwardMessages: t.vec(t.bytes),
  horizontalMessages: t.vec(OutboundHrmpMessage),
  /** Downward messages the block processed. */
  processedDownwardMessages: t.u32,
  /** The relay block up to which the parachain has processed its DMP and HRMP messages. */
  hrmpWatermark: BlockNumber,
});
export const CandidateDescriptor = t.struct('polkadot_primitives::devnet::CandidateDescriptor', {
  paraId: ParaId,
  /** The parachain block (its number and hash) this candidate carries. */
  paraBlockNumber: BlockNumber,
  paraHead: H256,
});
export const BackedCandidate = t.struct('polkadot_primitives::devnet::BackedCandidate', {
  candidate: t.struct('polkadot_primitives::devnet::CommittedCandidateReceipt', {
    descriptor: CandidateDescriptor,
    commitments: CandidateCommitments,
  }),
});
export type BackedCandidateValue = {
  candidate: {
    descriptor: { paraId: number; paraBlockNumber: number; paraHead: Uint8Array };
    commitments: {
      upwardMessages: Uint8Array[];
      horizontalMessages: OutboundHrmpMessageValue[];
      processedDownwardMessages: number;
      hrmpWatermark: number;
    };
  };
};
/** The relay chain's `ParaInherent.enter` argument (the backed candidates part of it). */
export const ParachainsInherentData = t.struct('polkadot_primitives::devnet::InherentData', {
  backedCandidates: t.vec(BackedCandidate),
});
export type ParachainsInherentDataValue = { backedCandidates: BackedCandidateValue[] };

/** Inherent identifiers, as Substrate names them. */
export const PARACHAIN_INHERENT = 'sysi1337';
export const PARAS_INHERENT = 'parachn0';

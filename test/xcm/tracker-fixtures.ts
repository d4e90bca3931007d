import { u8aConcat } from '@polkadot/util';
import { type Hex, toHex, utf8 } from '../../src/base/bytes.js';
import { blake2_256 } from '../../src/crypto/hash.js';
import { runtimeTypesFor } from '../../src/xcm/runtime-types.js';
import type {
  EventRecordLike,
  SubstrateEvent,
  XcmTopology,
  XcmTrackerBlock,
  XcmTrackerEvent,
} from '../../src/xcm/index.js';
import { trackerEventsFromSubstrate } from '../../src/xcm/index.js';

export const topology: XcmTopology = { relay: {}, sibling: { paraId: 2000 }, phala: { paraId: 2035 } };
export const T0 = 1_700_000_000_000;

export function blockHash(chain: string, number: number): Hex {
  return toHex(blake2_256(utf8(`${chain}#${number}`)));
}

export function block(
  chain: string,
  number: number,
  events: XcmTrackerEvent[],
  at = T0 + number * 6000,
): XcmTrackerBlock {
  return { chain, number, hash: blockHash(chain, number), at, events };
}

/** A block made from runtime events, through the Substrate adapter. */
export function substrateBlock(
  chain: string,
  number: number,
  events: SubstrateEvent[],
  at?: number,
): XcmTrackerBlock {
  return block(chain, number, trackerEventsFromSubstrate(events, { chain, topology }), at);
}

/**
 * A real polkadot-js EventRecord of the Polkadot relay runtime (metadata V15 from
 * @polkadot/types-support), encoded and decoded with its registry, as @polkadot/api yields them.
 */
export function relayEventRecord(
  pallet: string,
  event: string,
  values: unknown[],
  extrinsic: number | null,
): EventRecordLike {
  const { registry } = runtimeTypesFor(5);
  const meta = registry.metadata.pallets.find((p) => p.name.toString() === pallet);
  if (!meta || meta.events.isNone) throw new Error(`no pallet ${pallet}`);
  const variants = registry.lookup.getSiType(meta.events.unwrap().type).def.asVariant.variants;
  const v = variants.find((x) => x.name.toString() === event);
  if (!v) throw new Error(`no event ${pallet}.${event}`);
  const fields = v.fields.map((f, i) =>
    registry.createType(registry.createLookupType(f.type.toNumber()), values[i]).toU8a(),
  );
  const ev = registry.createType(
    'Event',
    u8aConcat(Uint8Array.of(meta.index.toNumber(), v.index.toNumber()), ...fields),
  );
  const phase = extrinsic === null ? { Initialization: null } : { ApplyExtrinsic: extrinsic };
  return registry.createType('EventRecord', { phase, event: ev, topics: [] }) as unknown as EventRecordLike;
}

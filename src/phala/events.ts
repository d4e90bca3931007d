import type { ApiPromise } from '@polkadot/api';
import type { Vec } from '@polkadot/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../base/bytes.js';
import { type Plain, plainOf } from './plain.js';

/** Events decoded by the chain's own metadata, in a shape that does not depend on the runtime. */

export type EventPhase =
  | { kind: 'applyExtrinsic'; index: number }
  | { kind: 'finalization' }
  | { kind: 'initialization' };

export type DecodedEvent = {
  /** Position in the block's event list. */
  index: number;
  phase: EventPhase;
  /** Pallet name as in the metadata (`PhalaContracts`). */
  pallet: string;
  /** polkadot-js section (`phalaContracts`). */
  section: string;
  /** Event variant (`RequestSubmitted`). */
  name: string;
  /** Named fields as plain values (positional fields are `0`, `1`, ...). */
  fields: Record<string, Plain>;
  topics: Hex[];
  /** The event's SCALE bytes (pallet index, variant, fields): decodable again with the same metadata. */
  raw?: Hex;
};

export function phaseOf(record: EventRecord): EventPhase {
  const phase = record.phase;
  if (phase.isApplyExtrinsic) return { kind: 'applyExtrinsic', index: phase.asApplyExtrinsic.toNumber() };
  if (phase.isFinalization) return { kind: 'finalization' };
  return { kind: 'initialization' };
}

export function decodeEventRecords(
  api: ApiPromise,
  records: Vec<EventRecord> | EventRecord[],
): DecodedEvent[] {
  return [...records].map((record, index) => {
    const { event } = record;
    const names = event.data.names;
    const fields: Record<string, Plain> = {};
    event.data.forEach((value, i) => {
      fields[names?.[i] ?? String(i)] = plainOf(value);
    });
    return {
      index,
      phase: phaseOf(record),
      pallet: palletName(api, event.index[0]!),
      section: event.section,
      name: event.method,
      fields,
      topics: record.topics.map((t) => u8aToHex(t)),
      raw: u8aToHex(event.toU8a()),
    };
  });
}

function palletName(api: ApiPromise, index: number): string {
  const pallet = api.runtimeMetadata.asLatest.pallets.find((p) => p.index.toNumber() === index);
  return pallet ? pallet.name.toString() : `Pallet${index}`;
}

/** The events of a block. */
export async function eventsAt(api: ApiPromise, blockHash: Hex): Promise<DecodedEvent[]> {
  const at = await api.at(blockHash);
  const records = (await at.query.system.events()) as unknown as Vec<EventRecord>;
  return decodeEventRecords(api, records);
}

/** The events of one extrinsic (by its index in the block). */
export function eventsOfExtrinsic(events: DecodedEvent[], index: number): DecodedEvent[] {
  return events.filter((e) => e.phase.kind === 'applyExtrinsic' && e.phase.index === index);
}

export type DescribedDispatchError = { pallet: string; error: string; docs: string[] };

/** A DispatchError by name: `PhalaContracts.RequestExpired`, `Token.FundsUnavailable`, `BadOrigin`. */
export function describeDispatchError(api: ApiPromise, error: DispatchError): DescribedDispatchError {
  if (error.isModule) {
    try {
      const meta = api.registry.findMetaError(error.asModule);
      const pallet = palletName(api, error.asModule.index.toNumber());
      return { pallet, error: meta.name, docs: meta.docs.map(String) };
    } catch {
      return { pallet: `Pallet${error.asModule.index.toNumber()}`, error: 'Unknown', docs: [] };
    }
  }
  if (error.isToken) return { pallet: 'Token', error: error.asToken.type, docs: [] };
  if (error.isArithmetic) return { pallet: 'Arithmetic', error: error.asArithmetic.type, docs: [] };
  if (error.isTransactional) return { pallet: 'Transactional', error: error.asTransactional.type, docs: [] };
  return { pallet: 'DispatchError', error: error.type, docs: [] };
}

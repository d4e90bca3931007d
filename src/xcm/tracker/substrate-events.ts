import type { Hex } from '../../base/bytes.js';
import { enumOf, resolveLocation, type XcmTopology } from './topology.js';
import type { XcmTrackerEvent } from './types.js';

/**
 * A decoded runtime event, as a watcher gets it from @polkadot/api (`record.event.section`,
 * `.method`, the fields by name) or from any other client. Field names may be camelCase or
 * snake_case; enums in polkadot-js or polkadot-api JSON.
 */
export type SubstrateEvent = {
  section: string;
  method: string;
  data: Readonly<Record<string, unknown>>;
  /** The extrinsic that emitted it (from the event's phase); null for block hooks. */
  extrinsicIndex?: number | null | undefined;
};

/** The subset of a polkadot-js EventRecord this adapter reads (keeps @polkadot/api out of the types). */
export type EventRecordLike = {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: {
    section: string;
    method: string;
    data: ArrayLike<{ toJSON(): unknown }> & { names?: string[] | null };
  };
};

export function substrateEventFromRecord(record: EventRecordLike): SubstrateEvent {
  const { data } = record.event;
  const names = data.names ?? [];
  const fields: Record<string, unknown> = {};
  for (let i = 0; i < data.length; i++) fields[names[i] ?? String(i)] = data[i]!.toJSON();
  return {
    section: record.event.section,
    method: record.event.method,
    data: fields,
    extrinsicIndex: record.phase.isApplyExtrinsic ? record.phase.asApplyExtrinsic.toNumber() : null,
  };
}

export type FromSubstrateOptions = {
  /** This chain's name in the topology. */
  chain: string;
  topology?: XcmTopology | undefined;
};

/**
 * Turns one block's runtime events into tracker events:
 * - `polkadotXcm.Sent` / `xcmPallet.Sent {messageId, destination}` → sent (by id, with destination);
 * - `xcmpQueue.XcmpMessageSent {messageHash}` / `parachainSystem.UpwardMessageSent {messageHash}` → sent (by hash);
 * - `messageQueue.Processed {id, origin, weightUsed, success}` → processed;
 * - `messageQueue.ProcessingFailed {id, origin, error}` → processed with success false and the error;
 * - `messageQueue.OverweightEnqueued {id}` → overweight.
 * A Sent and a transport event from the same extrinsic are paired in order and linked, which is
 * how a hash reported by the transport is tied to a SetTopic id. The reason of a failure comes
 * from `polkadotXcm.ProcessXcmError {messageId, error}` (what the executor reports since
 * polkadot-sdk stable2503) and, on the devnet, `polkadotXcm.TransactDispatchFailed {messageId,
 * index, error}` (the error of the call a Transact ran), folded into the outcome of the same id.
 */
export function trackerEventsFromSubstrate(
  events: readonly SubstrateEvent[],
  options: FromSubstrateOptions,
): XcmTrackerEvent[] {
  const out: XcmTrackerEvent[] = [];
  const byExtrinsic = new Map<number, { ids: Hex[]; hashes: Hex[] }>();
  const reasons = failureReasons(events);
  const note = (e: SubstrateEvent, key: 'ids' | 'hashes', value: Hex) => {
    if (e.extrinsicIndex === null || e.extrinsicIndex === undefined) return;
    const entry = byExtrinsic.get(e.extrinsicIndex) ?? { ids: [], hashes: [] };
    entry[key].push(value);
    byExtrinsic.set(e.extrinsicIndex, entry);
  };
  events.forEach((e, index) => {
    const name = `${e.section.toLowerCase()}.${e.method}`;
    const source = `${e.section}.${e.method}`;
    switch (name) {
      case 'polkadotxcm.Sent':
      case 'xcmpallet.Sent': {
        const id = hex32(field(e, 'messageId'));
        if (!id) return;
        const destination = options.topology
          ? resolveLocation(options.topology, options.chain, field(e, 'destination'))
          : undefined;
        out.push({ kind: 'sent', index, source, id, ...(destination ? { destination } : {}) });
        note(e, 'ids', id);
        return;
      }
      case 'xcmpqueue.XcmpMessageSent':
      case 'parachainsystem.UpwardMessageSent': {
        const hash = hex32(field(e, 'messageHash'));
        if (!hash) return;
        out.push({ kind: 'sent', index, source, hash });
        note(e, 'hashes', hash);
        return;
      }
      case 'messagequeue.Processed': {
        const id = hex32(field(e, 'id'));
        if (!id) return;
        const weightUsed = weightOf(field(e, 'weightUsed'));
        const success = field(e, 'success') === true;
        out.push({
          kind: 'processed',
          index,
          source,
          id,
          success,
          from: enumText(field(e, 'origin')),
          // Processed carries no reason; ProcessXcmError (same id, same block) does, when emitted
          ...(success
            ? {}
            : { error: reasons.get(id) ?? 'execution failed (Processed with success = false)' }),
          ...(weightUsed ? { weightUsed } : {}),
        });
        return;
      }
      case 'messagequeue.ProcessingFailed': {
        const id = hex32(field(e, 'id'));
        if (!id) return;
        out.push({
          kind: 'processed',
          index,
          source,
          id,
          success: false,
          error: withReason(enumText(field(e, 'error')) ?? 'processing failed', reasons.get(id)),
          from: enumText(field(e, 'origin')),
        });
        return;
      }
      case 'messagequeue.OverweightEnqueued': {
        const id = hex32(field(e, 'id'));
        if (id) out.push({ kind: 'overweight', index, source, id });
        return;
      }
      default:
    }
  });
  for (const { ids, hashes } of byExtrinsic.values()) {
    for (let i = 0; i < Math.min(ids.length, hashes.length); i++) {
      if (ids[i] !== hashes[i])
        out.push({
          kind: 'link',
          index: events.length + out.length,
          source: 'extrinsic pairing',
          id: ids[i]!,
          hash: hashes[i]!,
        });
    }
  }
  return out;
}

/** The XCM error (and the failed Transact's dispatch error) of each message id in a block. */
function failureReasons(events: readonly SubstrateEvent[]): Map<Hex, string> {
  const xcm = new Map<Hex, string>();
  const transact = new Map<Hex, string>();
  for (const e of events) {
    const section = e.section.toLowerCase();
    if (section !== 'polkadotxcm' && section !== 'xcmpallet') continue;
    const id = hex32(field(e, 'messageId'));
    if (!id) continue;
    if (e.method === 'ProcessXcmError') xcm.set(id, enumText(field(e, 'error')) ?? 'XCM error');
    if (e.method === 'TransactDispatchFailed') {
      const index = field(e, 'index');
      transact.set(
        id,
        `Transact${typeof index === 'number' ? ` (instruction ${index})` : ''} failed: ${enumText(field(e, 'error')) ?? 'dispatch error'}`,
      );
    }
  }
  const out = new Map<Hex, string>();
  for (const id of new Set([...xcm.keys(), ...transact.keys()])) {
    // e.g. `ExpectationFalse: Transact (instruction 3) failed: PhalaContracts.ContractNotFound`
    const parts = [xcm.get(id), transact.get(id)].filter((x): x is string => x !== undefined);
    out.set(id, parts.join(': ').slice(0, 256));
  }
  return out;
}

function withReason(error: string, reason: string | undefined): string {
  return (reason ? `${error} (${reason})` : error).slice(0, 256);
}

function field(e: SubstrateEvent, camel: string): unknown {
  if (camel in e.data) return e.data[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return e.data[snake];
}

function hex32(value: unknown): Hex | undefined {
  // UpwardMessageSent's hash is an Option: null, the hex, or { some: hex } in some clients
  if (typeof value === 'object' && value !== null && 'some' in value)
    return hex32((value as { some: unknown }).some);
  return typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value)
    ? (value.toLowerCase() as Hex)
    : undefined;
}

function weightOf(value: unknown): { refTime: string; proofSize: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const refTime = big(v.refTime ?? v.ref_time);
  const proofSize = big(v.proofSize ?? v.proof_size);
  return refTime !== undefined && proofSize !== undefined ? { refTime, proofSize } : undefined;
}

function big(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'bigint' && value >= 0n) return value.toString();
  if (typeof value === 'string' && /^(\d{1,20}|0x[0-9a-fA-F]{1,16})$/.test(value))
    return BigInt(value).toString();
  return undefined;
}

/** `Sibling(2000)`, `Parent`, `Ump(Para(1000))`, `Overweight({...})` from any enum JSON form. */
export function enumText(value: unknown, depth = 0): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object') return String(value).slice(0, 128);
  const e = enumOf(value);
  if (!e || depth > 4) return JSON.stringify(value).slice(0, 128);
  const name = e.kind.length ? e.kind[0]!.toUpperCase() + e.kind.slice(1) : e.kind;
  const inner = e.value === null || e.value === undefined ? undefined : enumText(e.value, depth + 1);
  return (inner === undefined ? name : `${name}(${inner})`).slice(0, 128);
}

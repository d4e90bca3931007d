import type { ApiPromise } from '@polkadot/api';
import { hexToU8a } from '@polkadot/util';
import type { Hex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import type { DecodedEvent } from '../../phala/events.js';
import { type FinalizedBlock, followFinalizedBlocks } from '../../phala/follow.js';
import { type Plain, plainOf } from '../../phala/plain.js';
import { decodeXcm } from '../../xcm/decode.js';
import { messageHash } from '../../xcm/message-id.js';
import { decodeXcmpPage } from '../../xcm/xcmp.js';
import type { XcmBlockHandler, XcmEventSource, XcmSubscription } from '../../xcm/tracker/event-source.js';
import { type SubstrateEvent, trackerEventsFromSubstrate } from '../../xcm/tracker/substrate-events.js';
import type { XcmTopology } from '../../xcm/tracker/topology.js';
import type { XcmCursor, XcmTrackerBlock, XcmTrackerEvent } from '../../xcm/tracker/types.js';

/**
 * The XCM tracker's event source (src/xcm/tracker/event-source.ts) for a live chain, built on the
 * Phala client's finalized-block follower; it lives in the relayer, which joins chain clients, so
 * src/xcm does not import src/phala. The tracker's events from a live chain over @polkadot/api: finalized blocks in order, each
 * block once, from the tracker's cursor (so blocks finalized while the tracker or its connection
 * was down are backfilled by number; @polkadot/api reconnects by itself). Per block:
 * - its runtime events, turned into tracker events by `trackerEventsFromSubstrate` (sent, processed
 *   with the error a failure reports, overweight, links), after naming dispatch errors by the
 *   chain's metadata (`PhalaContracts.ContractNotFound` rather than module and error indices);
 * - `delivered` for each message the block brings in: the downward and horizontal (XCMP page)
 *   messages of a parachain's `parachainSystem.setValidationData` inherent, and the upward
 *   messages of the candidates in a relay chain's `paraInherent.enter` — where a real chain
 *   carries them too, so the same code follows a real network;
 * - its time, from the `timestamp.set` inherent.
 *
 *   const source = new PolkadotXcmEventSource({ chain: 'sibling', api, topology });
 *   const tracker = new XcmTracker({ store, sources: [relaySource, phalaSource, source] });
 */

export type PolkadotXcmEventSourceParameters = {
  /** The chain's name in the topology (`relay`, `phala`, `sibling`). */
  chain: string;
  api: ApiPromise;
  topology?: XcmTopology | undefined;
  /** Where to start when the tracker has no cursor: the finalized head (default) or a block number. */
  startAt?: number | undefined;
  logger?: { warn(obj: object, msg: string): void } | undefined;
  retryDelayMs?: number | undefined;
};

export class PolkadotXcmEventSource implements XcmEventSource {
  readonly chain: string;
  readonly #p: PolkadotXcmEventSourceParameters;

  constructor(p: PolkadotXcmEventSourceParameters) {
    this.chain = p.chain;
    this.#p = p;
  }

  async subscribe(from: XcmCursor | null, onBlock: XcmBlockHandler): Promise<XcmSubscription> {
    const { api } = this.#p;
    const follower = followFinalizedBlocks(api, {
      from: from ? from.number + 1 : this.#p.startAt,
      includeExtrinsics: true,
      retryDelayMs: this.#p.retryDelayMs,
      onBlock: async (block) => {
        await onBlock(trackerBlockOf(api, this.chain, block, this.#p.topology));
      },
      onError: (error, blockNumber) =>
        this.#p.logger?.warn(
          { chain: this.chain, block: blockNumber, error: errorMessage(error) },
          'xcm tracker source: block not delivered, retrying',
        ),
    });
    await follower.ready;
    return { close: () => follower.stop() };
  }
}

/** One finalized block as tracker events (exported for replays of recorded blocks). */
export function trackerBlockOf(
  api: ApiPromise,
  chain: string,
  block: FinalizedBlock,
  topology?: XcmTopology,
): XcmTrackerBlock {
  const events = block.events.map((e) => substrateEventOf(api, e));
  const tracker = trackerEventsFromSubstrate(events, { chain, topology });
  const inherents = inherentsOf(api, block.extrinsics ?? []);
  let index = events.length + tracker.length;
  for (const [source, messages] of inherents.delivered) {
    for (const bytes of messages)
      tracker.push({ kind: 'delivered', index: index++, source, ...idsOf(bytes) });
  }
  return { chain, number: block.number, hash: block.hash, at: inherents.at ?? Date.now(), events: tracker };
}

function substrateEventOf(api: ApiPromise, e: DecodedEvent): SubstrateEvent {
  let data = e.fields as Record<string, unknown>;
  if (e.name === 'TransactDispatchFailed' && data.error !== undefined) {
    data = { ...data, error: dispatchErrorText(api, data.error as Plain) };
  }
  return {
    section: e.section,
    method: e.name,
    data,
    extrinsicIndex: e.phase.kind === 'applyExtrinsic' ? e.phase.index : null,
  };
}

/** A DispatchError (plain form) by name, e.g. `PhalaContracts.ContractNotFound`, `Token.FundsUnavailable`. */
export function dispatchErrorText(api: ApiPromise, error: Plain): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && !Array.isArray(error)) {
    const [variant, value] = Object.entries(error)[0] ?? [];
    if (variant === 'Module' && value && typeof value === 'object' && !Array.isArray(value)) {
      const index = Number(value.index);
      const raw = typeof value.error === 'string' ? hexToU8a(value.error) : new Uint8Array();
      try {
        const meta = api.registry.findMetaError(Uint8Array.of(index, raw[0] ?? 0));
        const pallet = api.runtimeMetadata.asLatest.pallets.find((p) => p.index.toNumber() === index);
        return `${pallet?.name.toString() ?? meta.section}.${meta.name}`;
      } catch {
        return `Module(${index}, ${typeof value.error === 'string' ? value.error : '?'})`;
      }
    }
    if (variant !== undefined) return typeof value === 'string' ? `${variant}.${value}` : variant;
  }
  return JSON.stringify(error).slice(0, 128);
}

type Inherents = { at: number | null; delivered: [source: string, messages: Uint8Array[]][] };

/** The block time and the messages a block's inherents bring in. */
function inherentsOf(api: ApiPromise, extrinsics: Hex[]): Inherents {
  const out: Inherents = { at: null, delivered: [] };
  for (const hex of extrinsics) {
    let section: string;
    let method: string;
    let arg: Plain;
    try {
      const ext = api.registry.createType('Extrinsic', hex);
      if (ext.isSigned) continue;
      section = ext.method.section;
      method = ext.method.method;
      const first = ext.method.args[0];
      if (!first) continue;
      arg = plainOf(first);
    } catch {
      continue;
    }
    if (section === 'timestamp' && method === 'set') {
      const n = Number(arg);
      if (Number.isSafeInteger(n) && n >= 0) out.at = n;
    } else if (section === 'parachainSystem' && method === 'setValidationData') {
      out.delivered.push([`${section}.${method}`, parachainMessages(arg)]);
    } else if (section === 'paraInherent' && method === 'enter') {
      out.delivered.push([`${section}.${method}`, upwardMessages(arg)]);
    }
  }
  return out;
}

function record(value: Plain | undefined): Record<string, Plain> | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
}

function bytesOf(value: Plain | undefined): Uint8Array | null {
  return typeof value === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(value) ? hexToU8a(value) : null;
}

/** Downward messages, and each message of each horizontal XCMP page. */
function parachainMessages(arg: Plain): Uint8Array[] {
  const data = record(arg);
  if (!data) return [];
  const out: Uint8Array[] = [];
  for (const m of Array.isArray(data.downwardMessages) ? data.downwardMessages : []) {
    const bytes = bytesOf(record(m)?.msg);
    if (bytes) out.push(bytes);
  }
  // BTreeMap<ParaId, Vec<InboundHrmpMessage>>: an object by para id, or a list of pairs.
  const horizontal = data.horizontalMessages;
  const lists: Plain[] = Array.isArray(horizontal)
    ? horizontal.map((pair) => (Array.isArray(pair) ? (pair[1] ?? null) : null))
    : Object.values(record(horizontal ?? null) ?? {});
  for (const list of lists) {
    for (const m of Array.isArray(list) ? list : []) {
      const page = bytesOf(record(m)?.data);
      if (!page) continue;
      try {
        const decoded = decodeXcmpPage(page);
        if ('messages' in decoded) for (const x of decoded.messages) out.push(x.bytes);
      } catch {
        // a page that does not decode brings no message the tracker could name
      }
    }
  }
  return out;
}

/** The upward messages of the candidates a relay block includes. */
function upwardMessages(arg: Plain): Uint8Array[] {
  const data = record(arg);
  const out: Uint8Array[] = [];
  for (const backed of Array.isArray(data?.backedCandidates) ? data.backedCandidates : []) {
    const commitments = record(record(record(backed)?.candidate)?.commitments);
    for (const m of Array.isArray(commitments?.upwardMessages) ? commitments.upwardMessages : []) {
      const bytes = bytesOf(m);
      if (bytes) out.push(bytes);
    }
  }
  return out;
}

function idsOf(bytes: Uint8Array): Pick<Extract<XcmTrackerEvent, { kind: 'delivered' }>, 'id' | 'hash'> {
  try {
    const decoded = decodeXcm(bytes);
    return { id: decoded.id, hash: decoded.hash };
  } catch {
    return { hash: messageHash(bytes) };
  }
}

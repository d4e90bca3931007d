import type { ApiPromise } from '@polkadot/api';
import type { EventRecord } from '@polkadot/types/interfaces';
import { type Address, type Hex, type Log, decodeAbiParameters, encodeAbiParameters } from 'viem';
import { fromHex } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import { type DecodedEvent, decodeEventRecords } from '../../phala/events.js';
import { type PhalaEvent, parsePhalaEvent } from '../../phala/types.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { TapeEntry, TapeObservation } from '../../protocol/tape.js';

/**
 * The `data` of tape entries (docs/PROTOCOL.md §8) and the way back:
 * - `evm.log`: `abi.encode(address emitter, bytes32[] topics, bytes data)` — the log itself;
 * - `substrate.event` / `xcm.message`: the SCALE bytes of the runtime event (pallet index,
 *   variant, fields), decoded with the metadata of the chain named by `chain`.
 */

const EVM_LOG_PARAMETERS = [{ type: 'address' }, { type: 'bytes32[]' }, { type: 'bytes' }] as const;

export class TapeDecodeError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'TapeDecodeError';
  constructor(entry: Pick<TapeEntry, 'kind' | 'chain' | 'block' | 'index'>, reason: string) {
    super(`Cannot decode the ${entry.kind} entry of ${entry.chain} block ${entry.block} #${entry.index}.`, {
      details: reason,
      docsPath: '/docs/PROTOCOL.md#8-replay-tapes',
    });
  }
}

export function encodeEvmLog(log: { address: Address; topics: readonly Hex[]; data: Hex }): Hex {
  return encodeAbiParameters(EVM_LOG_PARAMETERS, [log.address, [...log.topics], log.data]);
}

/** The log of an `evm.log` entry, with the position the entry gives it (what viem's decoders take). */
export function evmLogOf(entry: TapeEntry): Log {
  if (entry.kind !== 'evm.log') throw new TapeDecodeError(entry, 'not an evm.log entry');
  let address: Address;
  let topics: readonly Hex[];
  let data: Hex;
  try {
    [address, topics, data] = decodeAbiParameters(EVM_LOG_PARAMETERS, entry.data);
  } catch (error) {
    throw new TapeDecodeError(entry, `data is not abi.encode(address, bytes32[], bytes): ${String(error)}`);
  }
  return {
    address,
    topics: topics as [Hex, ...Hex[]],
    data,
    blockNumber: BigInt(entry.block),
    blockHash: entry.blockHash,
    transactionHash: entry.tx ?? `0x${'00'.repeat(32)}`,
    logIndex: entry.index,
    transactionIndex: 0,
    removed: false,
  };
}

/** A substrate event's SCALE bytes back to the decoded shape the watchers use. */
export function substrateEventOf(api: ApiPromise, entry: TapeEntry): DecodedEvent {
  if (entry.kind === 'evm.log') throw new TapeDecodeError(entry, 'not a substrate entry');
  try {
    const record = api.createType<EventRecord>('EventRecord', {
      phase: { ApplyExtrinsic: 0 },
      event: api.createType('Event', fromHex(entry.data)),
      topics: [],
    });
    const [decoded] = decodeEventRecords(api, [record]);
    return { ...decoded!, index: entry.index };
  } catch (error) {
    throw new TapeDecodeError(entry, `not an event of this chain's metadata: ${String(error)}`);
  }
}

/** A substrate entry as the typed Phala event (RequestSubmitted for request tapes). */
export function phalaEventOf(api: ApiPromise, entry: TapeEntry): PhalaEvent {
  const event = parsePhalaEvent(substrateEventOf(api, entry));
  if (!event) throw new TapeDecodeError(entry, 'not an event of the Phala-style pallets');
  return event;
}

/** The tape entry of a queued request: where the job says it was seen, and the raw message. */
export function tapeEntryOf(job: RequestJob, observation: TapeObservation): TapeEntry {
  return {
    v: 1,
    kind: observation.kind,
    chain: job.observed.chain,
    block: job.observed.blockNumber,
    blockHash: job.observed.blockHash,
    tx: job.observed.txHash ?? null,
    index: observation.index,
    data: observation.data,
    observedAt: job.observed.at,
  };
}

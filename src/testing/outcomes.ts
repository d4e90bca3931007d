import { type Address, type Hex, decodeEventLog, decodeFunctionData, getAbiItem } from 'viem';
import { getBlock, getLogs, getTransaction } from 'viem/actions';
import { pollUntil } from '../base/poll.js';
import type { Devnet } from '../devnet/orchestrator/devnet.js';
import { devnetClients } from '../devnet/evm/clients.js';
import { phalaBridgeGatewayAbi } from '../evm/artifacts/PhalaBridgeGateway.js';
import { fulfillResultName } from '../evm/types.js';
import * as contracts from '../phala/actions/contracts.js';
import type { PhalaClient } from '../phala/client.js';
import { eventsAt } from '../phala/events.js';
import type { TapeEntry } from '../protocol/tape.js';
import { TapeDecodeError, encodeEvmLog, evmLogOf, substrateEventOf } from '../relayer/tape/entries.js';
import { getSiblingResult } from '../sdk/sibling.js';

/**
 * The output side of replay tapes (docs/PROTOCOL.md §8): a request's fulfilment as it landed on
 * its origin chain, as a tape entry, and the part of it that is compared.
 */

/** A request to wait for, by its origin. XCM requests are known on the sibling by their query id. */
export type RequestRef =
  | { kind: 'evm'; requestId: Hex; fromBlock?: bigint }
  | { kind: 'phala'; requestId: Hex }
  | { kind: 'xcm'; query: Hex };

const fulfilledEvent = getAbiItem({ abi: phalaBridgeGatewayAbi, name: 'RequestFulfilled' });

/** The fulfilment's tape entry, or null while the origin does not show the request fulfilled. */
export async function fulfilmentEntry(devnet: Devnet, ref: RequestRef): Promise<TapeEntry | null> {
  if (ref.kind === 'evm') {
    const { publicClient } = devnetClients(devnet.chains.evm, devnet.chains.evm.accounts[0]!.privateKey);
    const [log] = await getLogs(publicClient, {
      address: devnet.chains.evm.gateway,
      event: fulfilledEvent,
      args: { requestId: ref.requestId },
      fromBlock: ref.fromBlock ?? 'earliest',
      toBlock: 'latest',
    });
    if (!log || log.blockNumber === null || !log.transactionHash) return null;
    const tx = await getTransaction(publicClient, { hash: log.transactionHash });
    const block = await getBlock(publicClient, { blockHash: log.blockHash! });
    return {
      v: 1,
      kind: 'evm.log',
      chain: devnet.config.chains.find((c) => c.kind === 'evm')?.name ?? 'evm',
      block: Number(log.blockNumber),
      blockHash: log.blockHash!,
      tx: log.transactionHash,
      index: log.logIndex!,
      data: encodeEvmLog({ address: log.address as Address, topics: log.topics as Hex[], data: log.data }),
      call: tx.input,
      observedAt: Number(block.timestamp) * 1000,
    };
  }
  if (ref.kind === 'phala') {
    const result = await contracts.getResult(devnet.phala, ref.requestId);
    if (!result) return null;
    return eventEntry(
      devnet.phala,
      'phala',
      'substrate.event',
      result.fulfilledAt,
      (e) =>
        e.section === 'phalaContracts' &&
        e.name === 'RequestFulfilled' &&
        String(e.fields.requestId).toLowerCase() === ref.requestId.toLowerCase(),
    );
  }
  const value = await getSiblingResult(devnet.sibling, ref.query);
  if (!value) return null;
  return eventEntry(
    devnet.sibling,
    'sibling',
    'xcm.message',
    value.receivedAt,
    (e) =>
      e.section === 'confidentialClient' &&
      e.name === 'ResultReceived' &&
      String(e.fields.query).toLowerCase() === ref.query.toLowerCase(),
  );
}

async function eventEntry(
  client: PhalaClient,
  chain: string,
  kind: 'substrate.event' | 'xcm.message',
  blockNumber: number,
  match: (e: Awaited<ReturnType<typeof eventsAt>>[number]) => boolean,
): Promise<TapeEntry | null> {
  const hash = (await client.api.rpc.chain.getBlockHash(blockNumber)).toHex() as Hex;
  const events = await eventsAt(client.api, hash);
  const event = events.find(match);
  if (!event?.raw) return null;
  const at = await client.api.at(hash);
  const now = Number(
    ((await at.query.timestamp?.now?.()) as { toString(): string } | undefined)?.toString() ?? 0,
  );
  return {
    v: 1,
    kind,
    chain,
    block: blockNumber,
    blockHash: hash,
    tx: null,
    index: event.index,
    data: event.raw,
    observedAt: Number.isFinite(now) ? now : 0,
  };
}

/** Waits for the fulfilment's tape entry. */
export function waitForFulfilmentEntry(
  devnet: Devnet,
  ref: RequestRef,
  timeoutMs = 120_000,
): Promise<TapeEntry> {
  const what = ref.kind === 'xcm' ? `XCM request ${ref.query}` : `${ref.kind} request ${ref.requestId}`;
  return pollUntil(() => fulfilmentEntry(devnet, ref), { label: `the fulfilment of ${what}`, timeoutMs });
}

/**
 * What is compared of an output entry: where it landed, which request (Phala-style and XCM: see
 * `compareOutcomes`), how it ended and the public output. Block numbers and hashes, transaction
 * hashes, times, sealed outputs (sealed with a fresh ephemeral key each time), state roots and the
 * answering worker are left out.
 */
export type Outcome = {
  kind: TapeEntry['kind'];
  chain: string;
  /** Compared for Phala-style and XCM requests only: an EVM id is new on every replay. */
  requestId: Hex;
  result: string;
  publicOutput: Hex;
  /** Kept for opening, never compared. */
  sealedOutput: Hex;
};

/** `apis` decode substrate and XCM entries (with their chains' metadata); EVM entries need none. */
export function outcomeOf(entry: TapeEntry, apis?: { phala: PhalaClient; sibling: PhalaClient }): Outcome {
  if (entry.kind === 'evm.log') {
    const log = evmLogOf(entry);
    const decoded = decodeEventLog({ abi: phalaBridgeGatewayAbi, data: log.data, topics: log.topics });
    if (decoded.eventName !== 'RequestFulfilled')
      throw new TapeDecodeError(entry, `not a RequestFulfilled log: ${decoded.eventName}`);
    const { requestId, result } = decoded.args as { requestId: Hex; result: number };
    let publicOutput: Hex = '0x';
    let sealedOutput: Hex = '0x';
    if (entry.call) {
      const call = decodeFunctionData({ abi: phalaBridgeGatewayAbi, data: entry.call });
      if (call.functionName === 'fulfill') {
        publicOutput = call.args[1] as Hex;
        sealedOutput = call.args[2] as Hex;
      } else {
        // One worker's batch, or several workers' batches in one transaction (`fulfillBatches`).
        const items =
          call.functionName === 'fulfillBatch'
            ? call.args[0]
            : call.functionName === 'fulfillBatches'
              ? call.args[0].flatMap((batch) => batch.items)
              : [];
        const item = items.find((i) => i.request.requestId.toLowerCase() === requestId.toLowerCase());
        publicOutput = (item?.publicOutput ?? '0x') as Hex;
        sealedOutput = (item?.sealedOutput ?? '0x') as Hex;
      }
    }
    return {
      kind: entry.kind,
      chain: entry.chain,
      requestId,
      result: fulfillResultName(result),
      publicOutput,
      sealedOutput,
    };
  }
  if (!apis)
    throw new TapeDecodeError(entry, 'a substrate entry is decoded with its chain’s metadata: pass apis');
  const api = entry.kind === 'xcm.message' ? apis.sibling.api : apis.phala.api;
  const event = substrateEventOf(api, entry);
  return {
    kind: entry.kind,
    chain: entry.chain,
    requestId: String(event.fields.requestId) as Hex,
    result: `${event.section}.${event.name}`,
    publicOutput: String(event.fields.publicOutput) as Hex,
    sealedOutput: String(event.fields.sealedOutput) as Hex,
  };
}

/**
 * Differences between two output tapes, entry by entry in order (empty: they agree). Entries are
 * matched by their place: the n-th output of a replay is the answer to the tape's n-th request.
 * Compared: kind, chain, outcome and public output, and the request id of Phala-style and XCM
 * requests. An EVM request id is not compared: its nonce is the number of the block the request
 * was mined in (PROTOCOL §1, issue 15), which a replay on another devnet, or later on the same
 * one, does not repeat; the request's place in the tape stands for it. `why`, given the index of
 * an entry whose request id differs, may say why (replay: the chain's request nonce moved).
 */
export function compareOutcomes(
  actual: Outcome[],
  golden: Outcome[],
  why?: (index: number) => string | undefined,
): string[] {
  const differences: string[] = [];
  const n = Math.max(actual.length, golden.length);
  let evmRequests = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const g = golden[i];
    if (g?.kind === 'evm.log') evmRequests++;
    if (!a || !g) {
      differences.push(
        `entry ${i + 1}: ${a ? 'not in the golden tape' : 'missing'} (${JSON.stringify(a ?? g)})`,
      );
      continue;
    }
    const evm = g.kind === 'evm.log' || a.kind === 'evm.log';
    const label = g.kind === 'evm.log' ? `EVM request ${evmRequests}, golden ${g.requestId}` : g.requestId;
    const keys = evm
      ? (['kind', 'chain', 'result', 'publicOutput'] as const)
      : (['kind', 'chain', 'requestId', 'result', 'publicOutput'] as const);
    for (const key of keys) {
      if (a[key].toLowerCase() === g[key].toLowerCase()) continue;
      const reason = key === 'requestId' ? why?.(i) : undefined;
      differences.push(
        `entry ${i + 1} (${label}): ${key} is ${a[key]}, golden ${g[key]}${reason ? ` (${reason})` : ''}`,
      );
    }
  }
  return differences;
}

import { u8aToHex } from '@polkadot/util';
import type { Hex } from 'viem';
import { waitForTransactionReceipt } from 'viem/actions';
import { BaseError, errorMessage, type Retry } from '../base/errors.js';
import type { Devnet } from '../devnet/orchestrator/devnet.js';
import { devnetClients } from '../devnet/evm/clients.js';
import { DEV_ACCOUNT_NAMES } from '../devnet/substrate/chains/dev-accounts.js';
import { decodeGatewayLog } from '../evm/gateway/events.js';
import { sendRequest } from '../evm/gateway/request.js';
import { blockOfEvmRequestNonce } from '../evm/request-id.js';
import * as contracts from '../phala/actions/contracts.js';
import type { Plain } from '../phala/plain.js';
import { devSigner } from '../phala/signers.js';
import type { Signer } from '../phala/submit.js';
import { type TapeEntry, TapeWriter, readTape } from '../protocol/tape.js';
import { evmLogOf, phalaEventOf } from '../relayer/tape/entries.js';
import { sendSiblingRequest } from '../sdk/sibling.js';
import {
  type Outcome,
  type RequestRef,
  compareOutcomes,
  outcomeOf,
  waitForFulfilmentEntry,
} from './outcomes.js';
import { startDevnet } from './devnet.js';

/**
 * Replays a recorded tape against a devnet (docs/PROTOCOL.md §8): each recorded request is sent
 * again, in order, from the same sender (a devnet account) with the same sealed input and response
 * key; each is awaited until fulfilled on its origin chain before the next is sent, so a stateful
 * contract sees the same sequence. What landed is written as an output tape, one entry per
 * request in the tape's order, and, given a golden one, compared with it entry by entry
 * (`compareOutcomes`). A replayed EVM request gets a new id (its nonce is the block it is mined
 * in); its place in the tape is what ties it to the recording.
 */

export class ReplayError extends BaseError {
  /** The recorded tape does not replay the same. */
  static override readonly retry: Retry = 'never';
  override name = 'ReplayError';
  constructor(message: string, details?: string) {
    super(message, { ...(details ? { details } : {}), docsPath: '/docs/testing.md#replay' });
  }
}

export type ReplayOptions = {
  /** The devnet to replay against; default a fresh one (seeded with `seed`), stopped at the end. */
  devnet?: Devnet;
  /** The seed of the devnet started here (it must be the recording devnet's seed). */
  seed?: string;
  /**
   * Extra contracts for the devnet started here (the recording devnet's, in the same order):
   * JavaScript source or a WebAssembly module's bytes.
   */
  contracts?: Record<string, string | Uint8Array>;
  /** Writes what landed as an output tape here. */
  out?: string;
  /** A golden output tape (file or entries): the result lists every difference. */
  compare?: string | TapeEntry[];
  /** How long to wait for each request's fulfilment (default 120 s). */
  timeoutMs?: number;
  onProgress?: (line: string) => void;
};

/**
 * One request of the tape: the recorded entry, the request replay made of it, and its answer. A
 * Phala-style or XCM request's id is made from the Phala-style chain's request nonce: `nonce`
 * holds the one it was recorded with and the one the chain was at when replay sent it.
 */
export type ReplayedRequest = {
  entry: TapeEntry;
  ref: RequestRef;
  output: TapeEntry;
  nonce?: { recorded: bigint; replayed: bigint };
};

export type ReplayResult = {
  requests: ReplayedRequest[];
  outputs: TapeEntry[];
  outcomes: Outcome[];
  /** Differences from the golden tape (empty without `compare`, or when they agree). */
  differences: string[];
};

export async function replay(tape: string | TapeEntry[], options: ReplayOptions = {}): Promise<ReplayResult> {
  const entries = typeof tape === 'string' ? readTape(tape) : tape;
  const progress = options.onProgress ?? (() => {});
  const devnet =
    options.devnet ??
    (await startDevnet({
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.contracts ? { contracts: options.contracts } : {}),
      onProgress: progress,
    }));
  const writer = options.out ? new TapeWriter(options.out) : undefined;
  try {
    const requests: ReplayedRequest[] = [];
    for (const [i, entry] of entries.entries()) {
      const { ref, nonce } = await resend(devnet, entry);
      const output = await waitForFulfilmentEntry(devnet, ref, options.timeoutMs);
      writer?.write(output);
      requests.push({ entry, ref, output, ...(nonce ? { nonce } : {}) });
      const moved = nonce && nonce.recorded !== nonce.replayed ? ` (${nonceText(nonce)})` : '';
      progress(`${i + 1}/${entries.length} ${entry.kind} → ${refText(ref, entry, devnet)} fulfilled${moved}`);
    }
    const apis = { phala: devnet.phala, sibling: devnet.sibling };
    const outputs = requests.map((r) => r.output);
    const outcomes = outputs.map((o) => outcomeOf(o, apis));
    let differences: string[] = [];
    if (options.compare !== undefined) {
      const golden = typeof options.compare === 'string' ? readTape(options.compare) : options.compare;
      differences = compareOutcomes(
        outcomes,
        golden.map((g) => outcomeOf(g, apis)),
        (i) => {
          const nonce = requests[i]?.nonce;
          return nonce && nonce.recorded !== nonce.replayed ? nonceText(nonce) : undefined;
        },
      );
    }
    return { requests, outputs, outcomes, differences };
  } finally {
    await writer?.close();
    if (!options.devnet) await devnet.stop();
  }
}

/**
 * Why a Phala-style or XCM id differs: the chain's one request counter was elsewhere (the tape is
 * not the whole recording of a fresh devnet, or requests were sent before it on this one).
 */
function nonceText(nonce: { recorded: bigint; replayed: bigint }): string {
  return `sent at the Phala-style chain's request nonce ${nonce.replayed}, recorded at ${nonce.recorded}: Phala-style and XCM requests share that counter, so a tape replays their ids only as the whole recording of a fresh devnet`;
}

function refText(ref: RequestRef, entry: TapeEntry, devnet: Devnet): string {
  if (ref.kind === 'xcm') return `xcm query ${ref.query}`;
  if (ref.kind === 'phala') return `phala ${ref.requestId}`;
  const recorded = decodeGatewayLog(evmLogOf(entry), devnet.chains.evm.chainId);
  return `evm ${ref.requestId} (recorded as ${recorded?.kind === 'RequestSent' ? recorded.requestId : '?'})`;
}

/** Sends the recorded request again from the same sender; returns how to find its fulfilment. */
async function resend(
  devnet: Devnet,
  entry: TapeEntry,
): Promise<{ ref: RequestRef; nonce?: ReplayedRequest['nonce'] }> {
  if (entry.kind === 'evm.log') return { ref: await resendEvm(devnet, entry) };
  const event = phalaEventOf(devnet.phala.api, entry);
  if (event.pallet !== 'PhalaContracts' || event.type !== 'RequestSubmitted')
    throw new ReplayError(
      `Entry at ${entry.chain} block ${entry.block} is not a request.`,
      `${event.pallet}.${event.type}`,
    );
  const contract = await contracts.getContract(devnet.phala, event.contractId);
  if (!contract)
    throw new ReplayError(
      `Contract ${event.contractId} is not on this devnet.`,
      'replay against a devnet started with the recording devnet’s seed and contracts',
    );
  const head = (await devnet.phala.api.rpc.chain.getHeader()).number.toNumber();
  const deadline = head + Math.max(event.deadline - entry.block, 20);
  // Requests are awaited one by one: the next nonce now is the one this request gets.
  const nonce = { recorded: BigInt(event.nonce), replayed: await nextRequestNonce(devnet) };
  if (event.origin.kind === 'signed') {
    const signer = await devSignerOf(event.origin.account, 42);
    const sent = await contracts.request(devnet.phala, {
      signer,
      contractId: event.contractId,
      sealedInput: event.sealedInput,
      responseKey: event.responseKey,
      deadline,
    });
    return { ref: { kind: 'phala', requestId: sent.event.requestId as Hex }, nonce };
  }
  if (event.origin.kind !== 'xcm')
    throw new ReplayError(`Request ${event.requestId} has an origin replay does not know.`);
  const account = accountIdIn(event.origin.location);
  if (!account) throw new ReplayError(`Request ${event.requestId} comes from a location without an account.`);
  const sent = await sendSiblingRequest(devnet.sibling, {
    signer: await devSignerOf(account, 42),
    contractId: event.contractId,
    cluster: contract.cluster,
    sealedInput: event.sealedInput,
    responseKey: event.responseKey,
    deadline,
  });
  return { ref: { kind: 'xcm', query: sent.query }, nonce };
}

/** PhalaContracts.NextRequestNonce: the nonce the chain gives its next request, whatever its origin. */
async function nextRequestNonce(devnet: Devnet): Promise<bigint> {
  const query = devnet.phala.api.query.phalaContracts as unknown as {
    nextRequestNonce: () => Promise<{ toString(): string }>;
  };
  return BigInt((await query.nextRequestNonce()).toString());
}

async function resendEvm(devnet: Devnet, entry: TapeEntry): Promise<RequestRef> {
  const event = decodeGatewayLog(evmLogOf(entry), devnet.chains.evm.chainId);
  if (event?.kind !== 'RequestSent')
    throw new ReplayError(`Entry at ${entry.chain} block ${entry.block} is not a RequestSent log.`);
  const gateway = devnet.chains.evm.gateway.toLowerCase();
  const direct = !entry.transaction || entry.transaction.to?.toLowerCase() === gateway;
  const sender = devnetAccount(devnet, direct ? event.requester : entry.transaction!.from);
  const { walletClient, publicClient } = devnetClients(devnet.chains.evm, sender.privateKey);
  let hash: Hex;
  if (direct) {
    // The deadline keeps the time the request had left when it was recorded.
    const left = Number(event.deadline) - Math.floor(entry.observedAt / 1000);
    hash = await sendRequest(walletClient, {
      gateway: devnet.chains.evm.gateway,
      contractId: event.contractId,
      sealedInput: event.sealedInput,
      responseKey: event.responseKey,
      callbackGasLimit: event.callbackGasLimit,
      deadline: BigInt(Math.floor(Date.now() / 1000) + Math.max(left, 60)),
    });
  } else {
    // A consumer contract made the request: the account's transaction to it is sent again, as it
    // was (the contract seals nothing itself; the sealed input is in the calldata).
    const { to, value } = entry.transaction!;
    if (!to || !entry.call)
      throw new ReplayError(
        `Request ${event.requestId} was recorded without its transaction's target or calldata.`,
      );
    hash = await walletClient
      .sendTransaction({ to, data: entry.call, value: BigInt(value) })
      .catch((error: unknown) => {
        throw new ReplayError(
          `The consumer contract ${to} refused the replayed request of ${event.requester}.`,
          `is its state (time windows, earlier calls) as when recorded? ${errorMessage(error)}`,
        );
      });
  }
  const receipt = await waitForTransactionReceipt(publicClient, { hash });
  // The id is new (its nonce is this block), so the request is found by what the tape recorded of
  // it, including its place among its transaction's requests (the nonce's bits above the block).
  const place = (nonce: bigint) => nonce - blockOfEvmRequestNonce(nonce);
  for (const log of receipt.logs) {
    const sent = decodeGatewayLog(log, devnet.chains.evm.chainId);
    if (
      sent?.kind === 'RequestSent' &&
      sent.requester.toLowerCase() === event.requester.toLowerCase() &&
      sent.contractId.toLowerCase() === event.contractId.toLowerCase() &&
      sent.responseKey.toLowerCase() === event.responseKey.toLowerCase() &&
      place(sent.nonce) === place(event.nonce)
    )
      return { kind: 'evm', requestId: sent.requestId, fromBlock: receipt.blockNumber };
  }
  throw new ReplayError(
    `The replayed request of ${event.requester} made no RequestSent event (transaction ${hash}, status ${receipt.status}).`,
    direct
      ? undefined
      : 'the consumer contract refused it: is its state (time windows, earlier calls) as when recorded?',
  );
}

/** The devnet account behind an address of the tape. */
function devnetAccount(devnet: Devnet, address: string): { privateKey: Hex } {
  const account = devnet.chains.evm.accounts.find((a) => a.address.toLowerCase() === address.toLowerCase());
  if (!account)
    throw new ReplayError(
      `The tape's EVM sender ${address} is not a devnet account.`,
      'replay sends requests again from the devnet accounts that sent them: directly to the gateway, or through a consumer contract when the tape holds the transaction',
    );
  return account;
}

async function devSignerOf(account: Hex, ss58: number): Promise<Signer> {
  for (const name of DEV_ACCOUNT_NAMES) {
    const signer = await devSigner(name, ss58);
    if (u8aToHex(signer.publicKey).toLowerCase() === account.toLowerCase()) return signer;
  }
  throw new ReplayError(
    `The tape's sender ${account} is not a devnet account.`,
    `replay signs as ${DEV_ACCOUNT_NAMES.join(', ')}`,
  );
}

/** The 32-byte account id in an XCM location (its AccountId32 junction). */
function accountIdIn(location: Plain): Hex | null {
  if (Array.isArray(location)) {
    for (const item of location) {
      const found = accountIdIn(item as Plain);
      if (found) return found;
    }
    return null;
  }
  if (location && typeof location === 'object') {
    for (const [key, value] of Object.entries(location)) {
      if (key === 'id' && typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value)) return value as Hex;
      const found = accountIdIn(value as Plain);
      if (found) return found;
    }
  }
  return null;
}

import type { Option } from '@polkadot/types';
import type { DispatchError, StorageData } from '@polkadot/types/interfaces';
import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import { genesisHex } from '../../phala/client.js';
import { ChainDataError, type TransactionRejectedError } from '../../phala/errors.js';
import { describeDispatchError } from '../../phala/events.js';
import { NonceCounter } from '../../phala/nonce-counter.js';
import { type Signer, eventRecordsOf, rejectionOf } from '../../phala/submit.js';
import type { Fulfillment } from '../../phala/types.js';
import * as contracts from '../../phala/actions/contracts.js';
import * as registry from '../../phala/actions/registry.js';
import type { Origin } from '../../protocol/origin.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { ResultJob } from '../../protocol/result-job.js';
import { responseTopicOf } from '../../protocol/xcm-response.js';
import type { XcmTracker } from '../../xcm/tracker/tracker.js';
import type { XcmStep } from '../../xcm/tracker/types.js';
import type {
  Destination,
  ItemResult,
  PreparedBatch,
  RequestStatus,
  SentTransaction,
  SubmitItem,
  TransactionCheck,
  XcmDelivery,
} from '../ports.js';
import type { PhalaChainParameters } from './phala-origin.js';
import { newStateOf } from './state-commit.js';

/**
 * The Phala-style chain as a destination: each result goes in its own `fulfill` extrinsic, with
 * the new state it made (one dispatch, one worker signature). `send` signs with a pipelined nonce
 * and broadcasts without waiting; `check` reads what the chain says at its finalized head. For an
 * XCM origin the chain itself sends the answer back as a message, and the item is delivered once
 * the XCM tracker has seen the origin process it.
 */
export type PhalaDestinationParameters = Pick<PhalaChainParameters, 'config' | 'client'> & {
  signer: Signer;
  /** Follows the responses sent to XCM origins (absent: XCM requests end when fulfilled on this chain). */
  tracker?: XcmTracker | undefined;
  /** The signer's nonces (default: this destination's own counter; share one per signer per process). */
  nonces?: NonceCounter | undefined;
};

/** The destination was given batches it cannot put in one extrinsic (a bug in the stage that grouped them). */
export class PhalaBatchShapeError extends BaseError {
  /** The same batches never fit. */
  static override readonly retry: Retry = 'never';
  override name = 'PhalaBatchShapeError';
  constructor(chain: string, batches: readonly PreparedBatch[]) {
    super(`${chain}: one fulfil extrinsic carries exactly one item`, {
      details: `got ${batches.length} batch(es) with ${batches.map((b) => b.items.length).join('+')} item(s); canShare is false and the prepare stage sends unsigned batches as single items`,
    });
  }
}

/**
 * The node refused the signed fulfilment (RPC author_submitExtrinsic). Its confirm record is
 * written already: `sent` is what it holds, and its confirm look will say `replaced` once another
 * extrinsic has taken the nonce (the nonce counter is reset, so the next send does).
 */
export class PhalaBroadcastError extends BaseError {
  /** A fresh nonce, or a later try, usually does it (each error says what its pool answer means). */
  static override readonly retry: Retry = 'retry';
  override name = 'PhalaBroadcastError';
  constructor(
    readonly chain: string,
    readonly sent: SentTransaction,
    readonly rejection: TransactionRejectedError,
  ) {
    super(`${chain}: the node refused fulfil extrinsic ${sent.hashes.at(-1)} (nonce ${sent.nonce})`, {
      details: rejection.reason,
      cause: rejection,
      // As the pool said (TransactionRejectedError.kind): a nonce or a busy pool is worth another try, funds need a person.
      retry: rejection.retry,
    });
  }
}

/**
 * Dispatch errors of PhalaContracts.fulfill and what they mean for the item; anything else is
 * refused for good with `${pallet}.${error}` as its code.
 */
const DISPATCH_OUTCOMES: Record<string, ItemResult> = {
  AlreadyFulfilled: { kind: 'not-pending' },
  RequestNotFound: { kind: 'not-pending' },
  RequestExpired: { kind: 'not-pending' },
  StateRootMismatch: { kind: 'rerun', reason: 'the contract state moved on before this result landed' },
  StaleState: { kind: 'rerun', reason: 'the contract state moved on before this result landed' },
  // An approval on its way, or one being renewed: the same answer may be accepted later.
  WorkerNotApproved: { kind: 'refused', code: 'PhalaContracts.WorkerNotApproved', retryable: true },
  WorkerExpired: { kind: 'refused', code: 'PhalaContracts.WorkerExpired', retryable: true },
};

type Included = {
  blockNumber: number;
  blockHash: Hex;
  txHash: Hex;
  /** How its dispatch failed (null: it did not); `unreadable` when the node has pruned the block's events. */
  failure: ItemResult | null | 'unreadable';
};

export class PhalaDestination implements Destination {
  readonly chain: string;
  readonly batch: { maxSize: number; maxDelayMs: number };
  /** Looked at about four times a block; never replaced (`replace` returns null here). */
  readonly timing: { lookEveryMs: number; replaceAfterMs: number };
  readonly #p: PhalaDestinationParameters;
  readonly #genesis: Hex;
  readonly #nonces: NonceCounter;

  constructor(parameters: PhalaDestinationParameters) {
    this.#p = parameters;
    this.chain = parameters.config.name;
    this.batch = parameters.config.batch;
    this.timing = {
      lookEveryMs: Math.min(Math.max(Math.round(parameters.config.blockTimeMs / 4), 100), 1_000),
      replaceAfterMs: Number.MAX_SAFE_INTEGER,
    };
    this.#genesis = genesisHex(parameters.client);
    this.#nonces = parameters.nonces ?? new NonceCounter(parameters.client.api);
  }

  accepts(origin: Origin): boolean {
    return (
      (origin.kind === 'phala' && origin.genesisHash.toLowerCase() === this.#genesis.toLowerCase()) ||
      origin.kind === 'xcm'
    );
  }

  async isApprovedWorker(cluster: Hex, worker: { publicKey: Hex }): Promise<boolean> {
    return registry.isWorkerApprovedFor(this.#p.client, { cluster, worker: worker.publicKey });
  }

  async status(request: RequestJob): Promise<RequestStatus> {
    const status = await contracts.requestStatus(this.#p.client, request.requestId);
    if (status === 'fulfilled') return 'fulfilled';
    if (status === 'unknown') return 'cancelled';
    const onChain = await contracts.getRequest(this.#p.client, request.requestId);
    const head = (await this.#p.client.api.rpc.chain.getHeader()).number.toNumber();
    return onChain && onChain.deadline < head ? 'expired' : 'pending';
  }

  /** A reorg may undo included extrinsics: the next nonce comes from the chain again. */
  async afterReorg(): Promise<void> {
    this.#nonces.reset(this.#p.signer.address);
  }

  /** No batch call on this chain: every item is its own extrinsic. */
  canShare(_batch: PreparedBatch, _others: readonly PreparedBatch[]): boolean {
    return false;
  }

  async send(
    batches: PreparedBatch[],
    beforeBroadcast: (sent: SentTransaction) => Promise<void>,
  ): Promise<SentTransaction> {
    const { request, result } = this.#onlyItem(batches);
    const { api } = this.#p.client;
    const address = this.#p.signer.address;
    // The result and the state it made land together or not at all (the worker's signature covers both).
    const call = contracts.fulfillCall(this.#p.client, {
      requestId: request.requestId,
      publicOutput: result.publicOutput,
      sealedOutput: result.sealedOutput,
      stateRoot: result.stateRoot,
      stateCommit: newStateOf(result),
      signature: result.proof.signature,
    });
    // Taken before any other wait: concurrent sends get their nonces in the order they were called.
    const taking = this.#nonces.take(address);
    let sent: SentTransaction;
    try {
      const nonce = await taking;
      const best = (await api.rpc.chain.getHeader()).number.toNumber();
      // Immortal: bytes the node lost can be broadcast again whenever; the nonce alone stops a replay.
      const signed = await call.signAsync(this.#p.signer, { nonce, era: 0 });
      const now = Date.now();
      sent = {
        chain: this.chain,
        signer: address,
        nonce,
        hashes: [signed.hash.toHex() as Hex],
        raw: signed.toHex() as Hex,
        fees: null,
        sentAt: now,
        lastSentAt: now,
        sentAtBlock: best,
      };
      await beforeBroadcast(sent);
    } catch (error) {
      // Nobody holds this nonce now: the next send takes it, so no hole is left behind.
      this.#nonces.reset(address);
      throw error;
    }
    try {
      await api.rpc.author.submitExtrinsic(sent.raw);
    } catch (error) {
      const rejection = rejectionOf(error);
      if (rejection.kind === 'already-imported') return sent;
      this.#nonces.reset(address);
      throw new PhalaBroadcastError(this.chain, sent, rejection);
    }
    return sent;
  }

  async rebroadcast(sent: SentTransaction): Promise<void> {
    try {
      await this.#p.client.api.rpc.author.submitExtrinsic(sent.raw);
    } catch (error) {
      const rejection = rejectionOf(error);
      // The node has (or just had) these very bytes; or the nonce is used already, by these bytes or
      // others, and the next look says which.
      if (
        rejection.kind === 'already-imported' ||
        rejection.kind === 'temporarily-banned' ||
        rejection.kind === 'stale'
      )
        return;
      throw new PhalaBroadcastError(this.chain, sent, rejection);
    }
  }

  /** Fees here are fixed by weight and length (no fee market to outbid): a stuck extrinsic just waits. */
  async replace(_sent: SentTransaction): Promise<SentTransaction | null> {
    return null;
  }

  async check(sent: SentTransaction, batches: readonly PreparedBatch[]): Promise<TransactionCheck> {
    const item = this.#onlyItem(batches);
    const { api } = this.#p.client;
    const finalized = (await api.rpc.chain.getFinalizedHead()).toHex() as Hex;
    const [finalizedHeader, finalizedNonce] = await Promise.all([
      api.rpc.chain.getHeader(finalized),
      this.#nonceAt(finalized, sent.signer),
    ]);
    const finalizedNumber = finalizedHeader.number.toNumber();
    // Final only once our nonce is used at the finalized head: until then our bytes may still be
    // waiting in a pool, and a record closed early would leave a nonce hole nobody fills.
    if (finalizedNonce <= sent.nonce) return this.#notFinal(sent, finalizedNumber);

    const requestId = item.request.requestId;
    const answer = await contracts.getResultAt(this.#p.client, requestId, finalized);
    if (answer && isAnswer(answer, item.result)) {
      const txHash = (await this.#fulfilledBy(answer.fulfilledAt, requestId, sent)) ?? lastHash(sent);
      return this.#delivered(item, sent, { txHash, blockNumber: answer.fulfilledAt });
    }
    if (answer) return final(requestId, lastHash(sent), answer.fulfilledAt, { kind: 'not-pending' });

    // Unanswered at the finalized head with our nonce used: ours failed, or another extrinsic took the nonce.
    const included = await this.#findIncluded(sent, finalizedNumber);
    if (!included) {
      this.#nonces.reset(sent.signer);
      return { kind: 'replaced' };
    }
    // Failed, we cannot say how: the items go back to prepare, which reads where each request stands.
    if (included.failure === 'unreadable')
      return {
        kind: 'reverted',
        txHash: included.txHash,
        reason: `failed in block ${included.blockNumber}, whose events the node has pruned`,
      };
    if (!included.failure)
      throw new ChainDataError(
        `${this.chain}: fulfil extrinsic ${included.txHash} succeeded in block ${included.blockHash}, yet request ${requestId} has no result at the finalized head`,
      );
    return final(requestId, included.txHash, included.blockNumber, included.failure);
  }

  /** Not final yet: in a block above the finalized head, or still waiting to be included. */
  async #notFinal(sent: SentTransaction, finalizedNumber: number): Promise<TransactionCheck> {
    const { api } = this.#p.client;
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    if (
      best > finalizedNumber &&
      (await this.#nonceAt(await this.#blockHash(best), sent.signer)) > sent.nonce
    ) {
      // Used above the finalized head (by us or, rarely, another extrinsic: finality will tell).
      const at = await this.#firstBlockUsing(sent, finalizedNumber, best).catch(() => null);
      return { kind: 'mined', blockNumber: at ?? best };
    }
    const pending = await api.rpc.author.pendingExtrinsics();
    const raw = sent.raw.toLowerCase();
    return { kind: 'pending', known: pending.some((x) => x.toHex().toLowerCase() === raw) };
  }

  /** Delivered on this chain; for an XCM origin, delivered once the origin has processed the response. */
  async #delivered(
    item: SubmitItem,
    sent: SentTransaction,
    tx: { txHash: Hex; blockNumber: number },
  ): Promise<TransactionCheck> {
    const { requestId } = item.request;
    const tracker = this.#p.tracker;
    if (item.request.origin.kind !== 'xcm' || !tracker)
      return final(requestId, tx.txHash, tx.blockNumber, { kind: 'delivered', callbackFailed: false });
    const messageId = toHex(responseTopicOf(fromHex(requestId)));
    const tracked = await tracker.get(messageId);
    if (tracked?.status === 'processed' && tracked.processed?.success !== false)
      return final(requestId, tx.txHash, tx.blockNumber, {
        kind: 'delivered',
        callbackFailed: false,
        xcm: { messageId, sent: stepOf(tracked.sent), processed: stepOf(tracked.processed) },
      });
    // The answer is recorded on this chain; only its delivery failed, and sending it again is the chain's business.
    if (tracked?.status === 'failed' || tracked?.processed?.success === false)
      return final(requestId, tx.txHash, tx.blockNumber, {
        kind: 'refused',
        code: 'XcmResponseFailed',
        retryable: false,
      });
    if (Date.now() - sent.sentAt > this.#p.config.xcmResponseTimeoutMs)
      return final(requestId, tx.txHash, tx.blockNumber, {
        kind: 'refused',
        code: 'XcmResponseTimeout',
        retryable: false,
      });
    return { kind: 'mined', blockNumber: tx.blockNumber };
  }

  /** The hash of the extrinsic that fulfilled `requestId` in block `blockNumber` (ours when it is there). */
  async #fulfilledBy(blockNumber: number, requestId: Hex, sent: SentTransaction): Promise<Hex | null> {
    const { api } = this.#p.client;
    const block = await api.rpc.chain.getBlock(await this.#blockHash(blockNumber));
    const hashes = block.block.extrinsics.map((x) => x.hash.toHex() as Hex);
    const ours = hashes.find((h) => sent.hashes.includes(h));
    if (ours) return ours;
    const index = block.block.extrinsics.findIndex(
      (x) =>
        x.method.section === 'phalaContracts' &&
        x.method.method === 'fulfill' &&
        x.method.args[0]?.toHex().toLowerCase() === requestId.toLowerCase(),
    );
    return index < 0 ? null : hashes[index]!;
  }

  /**
   * The block in which the signer's nonce `sent.nonce` was used (at most the finalized head), and
   * whether the extrinsic there is ours and how its dispatch ended; null when another took the nonce.
   */
  async #findIncluded(sent: SentTransaction, finalizedNumber: number): Promise<Included | null> {
    const from = Math.min(sent.sentAtBlock ?? 0, finalizedNumber);
    let blockNumber: number | null;
    try {
      blockNumber = await this.#firstBlockUsing(sent, from, finalizedNumber);
    } catch {
      // The node has pruned the state of those blocks: look for the hash in their bodies instead.
      return this.#scanBodies(sent, from, finalizedNumber);
    }
    if (blockNumber === null) return null;
    return this.#inspect(sent, blockNumber);
  }

  /**
   * The first block in (from, to] whose state has the signer's nonce past `sent.nonce` (binary
   * search: the nonce only grows along one chain); null when it is past already at `from`.
   */
  async #firstBlockUsing(sent: SentTransaction, from: number, to: number): Promise<number | null> {
    const usedAt = async (n: number) =>
      (await this.#nonceAt(await this.#blockHash(n), sent.signer)) > sent.nonce;
    if (await usedAt(from)) return null;
    let lo = from;
    let hi = to;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await usedAt(mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /** At most this many blocks are read one by one when their state is gone. */
  static readonly SCAN_LIMIT = 256;

  async #scanBodies(sent: SentTransaction, from: number, to: number): Promise<Included | null> {
    const last = Math.min(to, from + PhalaDestination.SCAN_LIMIT);
    for (let n = from + 1; n <= last; n++) {
      const found = await this.#inspect(sent, n);
      if (found) return found;
    }
    return null;
  }

  /**
   * Our extrinsic in block `blockNumber` and how its dispatch ended, or null when it is not there
   * (`unreadable`: the node no longer has that block's events).
   */
  async #inspect(sent: SentTransaction, blockNumber: number): Promise<Included | null> {
    const { api } = this.#p.client;
    const blockHash = await this.#blockHash(blockNumber);
    const block = await api.rpc.chain.getBlock(blockHash);
    const index = block.block.extrinsics.findIndex((x) => sent.hashes.includes(x.hash.toHex() as Hex));
    if (index < 0) return null;
    const txHash = block.block.extrinsics[index]!.hash.toHex() as Hex;
    let rawEvents: Option<StorageData> | StorageData;
    try {
      rawEvents = (await api.rpc.state.getStorage(api.query.system.events.key(), blockHash)) as
        | Option<StorageData>
        | StorageData;
    } catch {
      return { blockNumber, blockHash, txHash, failure: 'unreadable' };
    }
    const failed = eventRecordsOf(api, rawEvents).find(
      (r) =>
        r.phase.isApplyExtrinsic &&
        r.phase.asApplyExtrinsic.toNumber() === index &&
        r.event.section === 'system' &&
        r.event.method === 'ExtrinsicFailed',
    );
    if (!failed) return { blockNumber, blockHash, txHash, failure: null };
    const { pallet, error } = describeDispatchError(api, failed.event.data[0] as DispatchError);
    const known = pallet === 'PhalaContracts' ? DISPATCH_OUTCOMES[error] : undefined;
    const failure: ItemResult = known ?? { kind: 'refused', code: `${pallet}.${error}`, retryable: false };
    return { blockNumber, blockHash, txHash, failure };
  }

  async #blockHash(blockNumber: number): Promise<Hex> {
    const hash = await this.#p.client.api.rpc.chain.getBlockHash(blockNumber);
    if (hash.isEmpty) throw new ChainDataError(`${this.chain}: no block ${blockNumber}`);
    return hash.toHex() as Hex;
  }

  /** The signer's nonce in the state of block `blockHash` (how many of its extrinsics are in the chain up to it). */
  async #nonceAt(blockHash: Hex, address: string): Promise<number> {
    const at = await this.#p.client.api.at(blockHash);
    const account = (await at.query.system.account(address)) as unknown as { nonce: { toNumber(): number } };
    return account.nonce.toNumber();
  }

  #onlyItem(batches: readonly PreparedBatch[]): SubmitItem {
    const item = batches.length === 1 && batches[0]!.items.length === 1 ? batches[0]!.items[0] : undefined;
    if (!item) throw new PhalaBatchShapeError(this.chain, batches);
    return item;
  }
}

/** Whether the answer recorded on chain is this result (whoever's extrinsic brought it). */
function isAnswer(answer: Fulfillment, result: ResultJob): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  return (
    same(answer.publicOutput, result.publicOutput) &&
    same(answer.sealedOutput, result.sealedOutput) &&
    same(answer.stateRoot, result.stateRoot)
  );
}

function lastHash(sent: SentTransaction): Hex {
  return sent.hashes.at(-1)! as Hex;
}

/** A final look for one item. No gas on this chain: fees follow weight and length. */
function final(requestId: string, txHash: Hex, blockNumber: number, item: ItemResult): TransactionCheck {
  return { kind: 'final', txHash, blockNumber, gasUsed: 0n, items: new Map([[requestId, item]]) };
}

/** A tracker step as the journey records it. */
function stepOf(step: XcmStep | undefined): XcmDelivery['sent'] {
  return step && { chain: step.chain, blockNumber: step.blockNumber, at: step.at };
}

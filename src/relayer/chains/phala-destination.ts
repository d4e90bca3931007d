import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import { genesisHex } from '../../phala/client.js';
import { DispatchFailedError } from '../../phala/errors.js';
import type { Signer } from '../../phala/submit.js';
import * as contracts from '../../phala/actions/contracts.js';
import * as registry from '../../phala/actions/registry.js';
import type { Origin } from '../../protocol/origin.js';
import type { RequestJob } from '../../protocol/request-job.js';
import { responseTopicOf } from '../../protocol/xcm-response.js';
import type { XcmTracker } from '../../xcm/tracker/tracker.js';
import type { Destination, ItemOutcome, RequestStatus, SubmitItem } from '../ports.js';
import type { PhalaChainParameters } from './phala-origin.js';
import { newStateOf } from './state-commit.js';

/**
 * The Phala-style chain as a destination: fulfils results there, each with the new state it made
 * in the same extrinsic. For an XCM origin the chain itself sends the answer back as a message;
 * the destination follows that message until the origin has processed it.
 */
export type PhalaDestinationParameters = PhalaChainParameters & {
  signer: Signer;
  /** Follows the responses sent to XCM origins (absent: XCM requests end when fulfilled on this chain). */
  tracker?: XcmTracker | undefined;
  onXcmSent?: ((jobId: string, messageId: Hex) => Promise<void>) | undefined;
};

export class PhalaDestination implements Destination {
  readonly chain: string;
  readonly batch: { maxSize: number; maxDelayMs: number };
  readonly #p: PhalaDestinationParameters;
  readonly #genesis: Hex;

  constructor(parameters: PhalaDestinationParameters) {
    this.#p = parameters;
    this.chain = parameters.config.name;
    this.batch = parameters.config.batch;
    this.#genesis = genesisHex(parameters.client);
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

  async submit(
    items: SubmitItem[],
    onSent: (txHash: string, items: SubmitItem[]) => Promise<void>,
  ): Promise<ItemOutcome[]> {
    // No batch call on this chain: the extrinsics go out together (the client serializes nonces).
    return Promise.all(items.map((item) => this.#submitOne(item, onSent)));
  }

  async #submitOne(
    item: SubmitItem,
    onSent: (txHash: string, items: SubmitItem[]) => Promise<void>,
  ): Promise<ItemOutcome> {
    const { request, result } = item;
    // The result and the state it made land together or not at all (the worker's signature covers both).
    const stateCommit = newStateOf(result);
    let fulfilled: Awaited<ReturnType<typeof contracts.fulfill>>;
    try {
      fulfilled = await contracts.fulfill(this.#p.client, {
        signer: this.#p.signer,
        requestId: request.requestId,
        publicOutput: result.publicOutput,
        sealedOutput: result.sealedOutput,
        stateRoot: result.stateRoot,
        stateCommit,
        signature: result.proof.signature,
        waitFor: 'finalized',
      });
    } catch (error) {
      if (error instanceof DispatchFailedError) {
        if (error.error === 'AlreadyFulfilled') return this.#afterFulfilled(item, null);
        if (error.error === 'RequestNotFound') return { kind: 'cancelled' };
        if (error.error === 'StateRootMismatch' || error.error === 'StaleState')
          return { kind: 'rerun', reason: 'the contract state moved on before this result landed' };
        const transient = error.error === 'WorkerNotApproved' || error.error === 'WorkerExpired';
        return { kind: 'rejected', reason: `${error.pallet}.${error.error}`, retryable: transient };
      }
      return { kind: 'rejected', reason: errorMessage(error), retryable: true };
    }
    await onSent(fulfilled.txHash, [item]);
    return this.#afterFulfilled(item, { txHash: fulfilled.txHash, blockNumber: fulfilled.blockNumber });
  }

  /** Done for Phala origins; for XCM origins, done once the origin has processed the response. */
  async #afterFulfilled(
    item: SubmitItem,
    tx: { txHash: Hex; blockNumber: number } | null,
  ): Promise<ItemOutcome> {
    if (item.request.origin.kind !== 'xcm' || !this.#p.tracker) {
      return tx
        ? { kind: 'fulfilled', txHash: tx.txHash, blockNumber: tx.blockNumber }
        : { kind: 'already-fulfilled' };
    }
    const messageId = toHex(responseTopicOf(fromHex(item.request.requestId)));
    await this.#p.onXcmSent?.(item.result.jobId, messageId);
    try {
      const final = await this.#p.tracker.waitForFinal(messageId, {
        timeoutMs: this.#p.config.xcmResponseTimeoutMs,
      });
      if (final.status === 'processed' && final.processed?.success !== false) {
        return {
          kind: 'fulfilled',
          txHash: tx?.txHash ?? messageId,
          ...(tx ? { blockNumber: tx.blockNumber } : {}),
          xcm: { messageId },
        };
      }
      // The result is recorded on this chain; only its delivery failed, and sending it again is the chain's business.
      return {
        kind: 'rejected',
        reason: `response XCM ${messageId} failed on the origin: ${final.processed?.error ?? 'unknown error'}`,
        retryable: false,
      };
    } catch (error) {
      return { kind: 'rejected', reason: errorMessage(error), retryable: true };
    }
  }
}

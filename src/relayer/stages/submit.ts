import { type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorMessage } from '../../base/errors.js';
import { originKey, requestJobId } from '../../protocol/origin.js';
import { requestJobSchema } from '../../protocol/request-job.js';
import { resultJobSchema } from '../../protocol/result-job.js';
import { Batcher } from '../batcher.js';
import type { JourneyStore } from '../journey.js';
import type { Lease } from '../lease.js';
import type { RelayerMetrics } from '../metrics.js';
import type { PendingIndex, RecentlyConfirmed } from '../pending.js';
import type { Destination, ItemOutcome, SubmitItem } from '../ports.js';

export const submitJobSchema = z.strictObject({ request: requestJobSchema, result: resultJobSchema });

export type SubmitStageParameters = {
  destination: Destination;
  /** The submitter lease of this destination's signer; checked before every transaction. */
  lease: Lease;
  batch: { maxSize: number; maxDelayMs: number };
  journeys: JourneyStore;
  pending: PendingIndex;
  confirmed: RecentlyConfirmed;
  metrics: RelayerMetrics;
  logger: Logger;
  /** Sends a request back to the workers (its result was computed on state that moved on). */
  rerun: (request: SubmitItem['request']) => Promise<void>;
};

/**
 * Stages 4–5, submit → confirm, for one destination chain: accepted results are grouped into
 * batches, each is checked against the chain first ("already fulfilled" is success), sent, and
 * held until final. A reverted or reorged submission goes back to the queue and is retried on the
 * backoff schedule until the request's deadline.
 */
export class SubmitStage {
  readonly #p: SubmitStageParameters;
  readonly #batcher: Batcher<SubmitItem, ItemOutcome>;
  readonly #firstSeen = new Map<string, number>();
  #draining = false;

  constructor(parameters: SubmitStageParameters) {
    this.#p = parameters;
    this.#batcher = new Batcher({ ...parameters.batch, flush: (items) => this.#flush(items) });
  }

  readonly process = async (job: Job): Promise<string> => {
    const parsed = submitJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.#p.metrics.errors.inc({ kind: 'bad-submit-payload' });
      throw new UnrecoverableError(`submit payload: ${parsed.error.issues[0]?.message}`);
    }
    const item = parsed.data;
    const jobId = requestJobId(item.request.origin, item.request.requestId);
    if (item.request.deadline * 1000 <= Date.now()) {
      throw new UnrecoverableError('request deadline passed');
    }
    const outcome = await this.#batcher.add(item);
    const chain = this.#p.destination.chain;
    const origin = item.request.origin.kind;
    switch (outcome.kind) {
      case 'fulfilled':
        if (outcome.xcm)
          await this.#p.journeys.record(jobId, {
            stage: 'xcm-processed',
            detail: `response ${outcome.xcm.messageId}`,
          });
        await this.#p.journeys.record(jobId, {
          stage: 'confirmed',
          chain,
          txHash: outcome.txHash,
          ...(outcome.blockNumber !== undefined ? { blockNumber: outcome.blockNumber } : {}),
        });
        this.#p.metrics.completed.inc({ origin, outcome: 'fulfilled' });
        this.#p.metrics.endToEnd.observe({ origin }, (Date.now() - item.request.observed.at) / 1000);
        if (outcome.gasUsed !== undefined) this.#p.metrics.gasSpent.inc({ chain }, Number(outcome.gasUsed));
        if (outcome.blockNumber !== undefined)
          await this.#p.confirmed.add(chain, item.request.cluster, jobId, outcome.blockNumber);
        await this.#p.pending.remove(item.request.observed.chain, jobId);
        return outcome.txHash;
      case 'already-fulfilled':
        await this.#p.journeys.record(jobId, { stage: 'already-fulfilled', chain });
        this.#p.metrics.completed.inc({ origin, outcome: 'already-fulfilled' });
        await this.#p.pending.remove(item.request.observed.chain, jobId);
        return 'already-fulfilled';
      case 'cancelled':
        await this.#p.journeys.record(jobId, { stage: 'cancelled', chain });
        this.#p.metrics.completed.inc({ origin, outcome: 'cancelled' });
        await this.#p.pending.remove(item.request.observed.chain, jobId);
        return 'cancelled';
      case 'reorged':
        await this.#p.journeys.record(jobId, { stage: 'reorged', chain, txHash: outcome.txHash });
        throw new Error(`submission ${outcome.txHash} was reorged out`);
      case 'rerun':
        await this.#p.journeys.record(jobId, {
          stage: 'retry',
          chain,
          detail: `${outcome.reason}; running again`,
        });
        await this.#p.rerun(item.request);
        return 'rerun';
      case 'rejected':
        if (!outcome.retryable) throw new UnrecoverableError(outcome.reason);
        throw new Error(outcome.reason);
    }
  };

  /** Called by the queue worker when a job will not be retried again. */
  async onFinalFailure(job: Job, error: Error): Promise<void> {
    const parsed = submitJobSchema.safeParse(job.data);
    if (!parsed.success) return;
    const { request } = parsed.data;
    const jobId = requestJobId(request.origin, request.requestId);
    await this.#p.journeys.record(jobId, {
      stage: 'dead',
      chain: this.#p.destination.chain,
      detail: error.message.slice(0, 500),
    });
    this.#p.metrics.completed.inc({ origin: request.origin.kind, outcome: 'dead' });
    await this.#p.pending.remove(request.observed.chain, jobId);
    this.#p.logger.error(
      { jobId, origin: originKey(request.origin), reason: error.message },
      'request dead-lettered',
    );
  }

  /**
   * Results of a worker-signed batch travel together: one of them in a group without the rest is
   * put back to wait for them (up to BATCH_HOLD_MS from when it first came), so that the batch
   * goes as one `fulfillBatch` instead of one transaction per result.
   */
  async #flush(items: SubmitItem[]): Promise<ItemOutcome[]> {
    const now = Date.now();
    // A held item whose job went away (its process stopped while it waited) never comes back to
    // be sent: forget it once it is well past any hold.
    for (const [id, first] of this.#firstSeen)
      if (now - first > 10 * BATCH_HOLD_MS) this.#firstSeen.delete(id);
    const present = new Map<string, number>();
    for (const item of items) {
      const key = workerBatchKey(item);
      if (key) present.set(key, (present.get(key) ?? 0) + 1);
    }
    const ready: SubmitItem[] = [];
    const held = new Set<SubmitItem>();
    for (const item of items) {
      const key = workerBatchKey(item);
      const id = requestJobId(item.request.origin, item.request.requestId);
      const first = this.#firstSeen.get(id) ?? now;
      const incomplete = key !== null && present.get(key)! < item.result.batch!.count;
      if (incomplete && !this.#draining && now - first < BATCH_HOLD_MS) {
        this.#firstSeen.set(id, first);
        held.add(item);
      } else {
        this.#firstSeen.delete(id);
        ready.push(item);
      }
    }
    const sent = ready.length ? await this.#send(ready) : [];
    const byItem = new Map(ready.map((item, i) => [item, sent[i]!] as const));
    return Promise.all(
      items.map((item) => (held.has(item) ? this.#batcher.add(item) : Promise.resolve(byItem.get(item)!))),
    );
  }

  async #send(items: SubmitItem[]): Promise<ItemOutcome[]> {
    const outcomes: (ItemOutcome | undefined)[] = new Array(items.length);
    const statuses = await Promise.all(
      items.map((item) => this.#p.destination.status(item.request).catch(() => 'unknown' as const)),
    );
    const toSend: SubmitItem[] = [];
    const sendIndex: number[] = [];
    statuses.forEach((status, i) => {
      if (status === 'fulfilled') outcomes[i] = { kind: 'already-fulfilled' };
      else if (status === 'cancelled') outcomes[i] = { kind: 'cancelled' };
      else if (status === 'expired')
        outcomes[i] = { kind: 'rejected', reason: 'request expired on chain', retryable: false };
      else if (status === 'unknown')
        outcomes[i] = { kind: 'rejected', reason: 'request status unknown on chain', retryable: true };
      else {
        toSend.push(items[i]!);
        sendIndex.push(i);
      }
    });
    if (toSend.length > 0) {
      await this.#p.lease.assertHeld();
      const chain = this.#p.destination.chain;
      const kind = toSend.length > 1 ? 'batch' : 'single';
      try {
        const sent = await this.#p.destination.submit(toSend, async (txHash, batch) => {
          this.#p.metrics.submissions.inc({ chain, kind, outcome: 'sent' });
          await Promise.all(
            batch.map((item) =>
              this.#p.journeys.record(requestJobId(item.request.origin, item.request.requestId), {
                stage: 'submitted',
                chain,
                txHash,
                ...(batch.length > 1 ? { detail: `batch of ${batch.length}` } : {}),
              }),
            ),
          );
        });
        sent.forEach((outcome, j) => {
          outcomes[sendIndex[j]!] = outcome;
        });
      } catch (error) {
        this.#p.metrics.submissions.inc({ chain, kind, outcome: 'error' });
        this.#p.metrics.errors.inc({ kind: 'submit' });
        this.#p.logger.warn({ chain, count: toSend.length, err: errorMessage(error) }, 'submission failed');
        for (const i of sendIndex)
          outcomes[i] = { kind: 'rejected', reason: errorMessage(error), retryable: true };
      }
    }
    return outcomes.map((o) => o ?? { kind: 'rejected', reason: 'no outcome', retryable: true });
  }

  async drain(): Promise<void> {
    this.#draining = true;
    await this.#batcher.drain();
  }
}

/** How long a result waits for the rest of its worker's batch before it goes alone. */
const BATCH_HOLD_MS = 2_000;

/** The worker batch a result belongs to (root and signer), or null when it is not in one. */
function workerBatchKey(item: SubmitItem): string | null {
  const batch = item.result.batch;
  if (!batch || batch.count < 2) return null;
  return `${batch.root}:${item.result.worker.address.toLowerCase()}`;
}

import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { BaseError, errorMessage, walkCauses } from '../../base/errors.js';
import { type PreparedBatch, preparedBatchSchema } from '../../protocol/prepared-batch.js';
import type { SentTransaction } from '../../protocol/sent-transaction.js';
import type { JourneyStore } from '../journey.js';
import type { Lease } from '../lease.js';
import type { RelayerMetrics } from '../metrics.js';
import type { Destination } from '../ports.js';
import { type RedisConnection, redisKey } from '../redis.js';
import type { ItemOutcomes } from './item-outcomes.js';

export type SubmitStageParameters = {
  destination: Destination;
  /** The submitter lease of this destination's signer; checked before every transaction. */
  lease: Lease;
  submitQueue: Queue;
  confirmQueue: Queue;
  redis: RedisConnection;
  prefix: string;
  journeys: JourneyStore;
  outcomes: ItemOutcomes;
  metrics: RelayerMetrics;
  logger: Logger;
  /** When the confirm stage first looks at a sent transaction. */
  firstLookMs: number;
  /** How long a batch that comes after a quiet window waits for others (default 20 ms). */
  lingerMs?: number;
};

const DEFAULT_LINGER_MS = 20;

/**
 * What the submit stage did with one prepared batch (its typed outcome):
 *   sent       in transaction `txHash` (with other batches when the chain let them share it)
 *   resent     already sent before a restart: its confirm job is watching it
 *   ended      nothing to send (every deadline passed; or refused for good before sending)
 *   split      the chain refused the signed batch as a whole: its answers go again one by one
 * A refusal a retry can help (a node down, a nonce to repair) is thrown, and the job retries.
 */
export type SubmitOutcome =
  | { kind: 'sent'; txHash: string; nonce: number; batches: number }
  | { kind: 'resent'; confirmJob: string }
  | { kind: 'ended'; reason: string }
  | { kind: 'split'; reason: string };

type Waiting = { batch: PreparedBatch; resolve: (o: SubmitOutcome) => void; reject: (e: unknown) => void };

/**
 * The submit stage (one process per destination signer, under its lease): groups prepared batches
 * that may share a transaction, sends each transaction with the signer's next nonce and hands it
 * to the confirm stage without waiting for it to be mined. Several transactions are in flight at
 * once; the destination bounds how many.
 */
export class SubmitStage {
  readonly #p: SubmitStageParameters;
  #group: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires, when the waiting group's first batch came, when the last batch came. */
  #due = 0;
  #groupStart = 0;
  #lastArrival = Number.NEGATIVE_INFINITY;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(parameters: SubmitStageParameters) {
    this.#p = parameters;
  }

  readonly process = async (job: Job): Promise<SubmitOutcome> => {
    const parsed = preparedBatchSchema.safeParse(job.data);
    if (!parsed.success) {
      this.#p.metrics.errors.inc({ kind: 'bad-submit-payload' });
      throw new UnrecoverableError(`submit payload: ${parsed.error.issues[0]?.message}`);
    }
    const batch = parsed.data;
    // Sent before a crash: its confirm job is watching it (and will end it, deadline or not).
    // (A finished confirm job is an earlier send of this batch, undone since — a reorg, a re-run:
    // the batch goes again.)
    const confirmJob = await this.#p.redis.get(this.#sentKey(batch.id));
    const watching = confirmJob ? await this.#p.confirmQueue.getJob(confirmJob) : undefined;
    if (confirmJob && watching && !(await watching.isCompleted()) && !(await watching.isFailed()))
      return { kind: 'resent', confirmJob };
    const now = Date.now();
    if (batch.items.every((i) => i.request.deadline * 1000 <= now)) {
      for (const item of batch.items)
        await this.#p.outcomes.dead(item, this.#p.destination.chain, 'deadline passed');
      return { kind: 'ended', reason: 'deadline passed' };
    }
    return new Promise<SubmitOutcome>((resolve, reject) => {
      this.#group.push({ batch, resolve, reject });
      const items = this.#group.reduce((n, w) => n + w.batch.items.length, 0);
      if (items >= this.#p.destination.batch.maxSize) this.#flush();
      else this.#schedule(Date.now());
    });
  };

  /**
   * When the waiting group goes: `maxDelayMs` after its first batch while batches keep coming (a
   * fuller transaction costs less gas a request), but only `lingerMs` after a batch that comes
   * when none came for a whole window: a lone answer is not held back for company that is not
   * on its way. A second batch within that linger means a stream: the group waits the window.
   */
  #schedule(now: number): void {
    const { maxDelayMs } = this.#p.destination.batch;
    const quiet = now - this.#lastArrival > maxDelayMs;
    this.#lastArrival = now;
    if (!this.#timer) {
      this.#groupStart = now;
      this.#setTimer(quiet ? Math.min(this.#p.lingerMs ?? DEFAULT_LINGER_MS, maxDelayMs) : maxDelayMs);
    } else if (this.#due < this.#groupStart + maxDelayMs) {
      clearTimeout(this.#timer);
      this.#setTimer(this.#groupStart + maxDelayMs - now);
    }
  }

  #setTimer(ms: number): void {
    this.#due = Date.now() + ms;
    this.#timer = setTimeout(() => this.#flush(), ms);
  }

  /** Sends what is waiting and resolves when every transaction being sent has left. */
  async drain(): Promise<void> {
    this.#flush();
    await Promise.allSettled([...this.#inFlight]);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const group = this.#group;
    this.#group = [];
    for (const tx of this.#transactions(group)) {
      const run = this.#send(tx).finally(() => this.#inFlight.delete(run));
      this.#inFlight.add(run);
    }
  }

  /** Waiting batches in transactions: each joins the first that it may share and that has room. */
  #transactions(group: Waiting[]): Waiting[][] {
    const { destination } = this.#p;
    const txs: Waiting[][] = [];
    for (const w of group) {
      const tx = txs.find(
        (t) =>
          t.reduce((n, x) => n + x.batch.items.length, 0) + w.batch.items.length <=
            destination.batch.maxSize &&
          destination.canShare(
            w.batch,
            t.map((x) => x.batch),
          ),
      );
      if (tx) tx.push(w);
      else txs.push([w]);
    }
    return txs;
  }

  async #send(tx: Waiting[]): Promise<void> {
    const { destination, metrics } = this.#p;
    const chain = destination.chain;
    const batches = tx.map((w) => w.batch);
    const kind = batches.length > 1 || batches[0]!.items.length > 1 ? 'batch' : 'single';
    // Confirm jobs recorded for versions that never left (a broadcast refused, then a new nonce):
    // only the one for what was finally sent stays.
    const handed: string[] = [];
    try {
      await this.#p.lease.assertHeld();
      const sent = await destination.send(batches, (s) => this.#handOver(s, batches, handed));
      await this.#discard(handed.filter((id) => id !== confirmJobId(sent)));
      metrics.submissions.inc({ chain, kind, outcome: 'sent' });
      const txHash = sent.hashes.at(-1)!;
      await Promise.all(
        batches.flatMap((b) =>
          b.items.map((item) =>
            this.#p.journeys.record(item.result.jobId, {
              stage: 'submitted',
              chain,
              txHash,
              ...(kind === 'batch'
                ? { detail: `${batches.length} batch(es), ${countItems(batches)} items` }
                : {}),
            }),
          ),
        ),
      );
      this.#p.logger.debug({ chain, nonce: sent.nonce, txHash, batches: batches.length }, 'sent');
      for (const w of tx) w.resolve({ kind: 'sent', txHash, nonce: sent.nonce, batches: batches.length });
    } catch (error) {
      await this.#discard(handed, batches);
      metrics.submissions.inc({ chain, kind, outcome: 'error' });
      metrics.errors.inc({ kind: 'submit' });
      if (tx.length > 1) {
        // One batch the chain refuses must not sink the others: each goes on its own.
        this.#p.logger.warn(
          { chain, batches: tx.length, err: errorMessage(error) },
          'transaction refused; sending its batches apart',
        );
        await Promise.all(tx.map((w) => this.#send([w])));
        return;
      }
      const [w] = tx as [Waiting];
      try {
        w.resolve(await this.#refused(w.batch, error));
      } catch (thrown) {
        w.reject(thrown);
      }
    }
  }

  /** One batch the chain would not take: split it, end it, or retry it later. */
  async #refused(batch: PreparedBatch, error: unknown): Promise<SubmitOutcome> {
    const chain = this.#p.destination.chain;
    // A refusal is final when an error in its chain of causes says no retry can help.
    const refusal = walkCauses(error, (e) => e instanceof BaseError && e.retry === 'never') as
      | BaseError
      | undefined;
    this.#p.logger.warn({ chain, batch: batch.id, err: errorMessage(error) }, 'submission refused');
    if (refusal instanceof BaseError) {
      if (batch.items.length > 1) {
        // The signed batch as a whole is refused: its answers still carry their own proofs.
        for (const [i, item] of batch.items.entries())
          await this.#p.submitQueue.add(
            'submit',
            { ...batch, id: `${batch.id}/${i}`, items: [item], root: null, signature: null },
            { jobId: `${batch.id}/${i}` },
          );
        return { kind: 'split', reason: refusal.shortMessage };
      }
      for (const item of batch.items)
        await this.#p.outcomes.dead(item, chain, `gateway: ${refusal.shortMessage}`);
      return { kind: 'ended', reason: refusal.shortMessage };
    }
    throw error;
  }

  /**
   * Records a signed transaction before it is broadcast: the confirm job that will watch it, and
   * for each batch the mark that it was sent (a submit job run again after a crash finds it).
   */
  async #handOver(sent: SentTransaction, batches: PreparedBatch[], handed: string[]): Promise<void> {
    const id = confirmJobId(sent);
    await this.#p.confirmQueue.add('confirm', { sent, batches }, { jobId: id, delay: this.#p.firstLookMs });
    handed.push(id);
    const marks = this.#p.redis.pipeline();
    for (const b of batches) marks.set(this.#sentKey(b.id), id, 'EX', 7 * 24 * 3600);
    await marks.exec();
  }

  /** Removes confirm jobs of transactions that never left (and, on failure, the batches' marks). */
  async #discard(ids: string[], batches?: PreparedBatch[]): Promise<void> {
    for (const id of ids) await (await this.#p.confirmQueue.getJob(id))?.remove().catch(() => undefined);
    if (batches && ids.length > 0) await this.#p.redis.del(...batches.map((b) => this.#sentKey(b.id)));
  }

  #sentKey(batchId: string): string {
    return redisKey(this.#p.prefix, 'sent', this.#p.destination.chain, batchId);
  }
}

/** The confirm job of a sent transaction: one per chain, nonce and first version. */
function confirmJobId(sent: SentTransaction): string {
  return `${sent.chain}-${sent.nonce}-${sent.hashes[0]!.slice(2, 18)}`;
}

function countItems(batches: readonly PreparedBatch[]): number {
  return batches.reduce((n, b) => n + b.items.length, 0);
}

import { DelayedError, type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorMessage } from '../../base/errors.js';
import { type PreparedBatch, preparedBatchSchema } from '../../protocol/prepared-batch.js';
import type { ResultBatchJob } from '../../protocol/result-batch-job.js';
import { type SentTransaction, sentTransactionSchema } from '../../protocol/sent-transaction.js';
import type { JourneyStore } from '../journey.js';
import type { RelayerMetrics } from '../metrics.js';
import type { Destination, ItemResult, SubmitItem, TransactionCheck } from '../ports.js';
import type { ItemOutcomes } from './item-outcomes.js';
import { suffix } from './prepare.js';

export const confirmJobSchema = z.strictObject({
  sent: sentTransactionSchema,
  batches: z.array(preparedBatchSchema).min(1).max(64),
});
export type ConfirmJob = z.infer<typeof confirmJobSchema>;

/** How often a batch may come back to prepare before its requests are dead-lettered. */
export const MAX_REPREPARE = 5;

/**
 * What the confirm stage decided after one look at a transaction (its typed outcome):
 *   wait        not final yet: looked at again in `ms` (after `did`: rebroadcast, replaced)
 *   confirmed   final: each item ended (delivered, answered by someone else, dead) or re-run
 *   reprepare   the transaction cannot deliver (reverted, its nonce taken, an item refused for
 *               now): its batches go back to prepare, with this reason
 */
export type ConfirmOutcome =
  | { kind: 'wait'; ms: number; did?: 'rebroadcast' | 'replaced' }
  | { kind: 'confirmed'; txHash: string; delivered: number; ended: number; reprepared: number }
  | { kind: 'reprepare'; reason: string };

export type ConfirmTiming = { lookEveryMs: number; replaceAfterMs: number };

/** For a destination that names no timing of its own. */
export const DEFAULT_CONFIRM_TIMING: ConfirmTiming = { lookEveryMs: 500, replaceAfterMs: 30_000 };

/**
 * Decides what one look at a sent transaction means (pure: the actions are the stage's). The
 * table in test/relayer/stages.test.ts is its spec.
 */
export function confirmDecision(
  check: TransactionCheck,
  sent: SentTransaction,
  batches: readonly PreparedBatch[],
  timing: ConfirmTiming,
  now: number,
): ConfirmOutcome {
  switch (check.kind) {
    case 'pending': {
      // Never given up while unmined, even past every deadline: an abandoned nonce would leave a
      // gap that holds back every later transaction of the signer. Once mined, the chain's own
      // codes end the expired items; meanwhile it is looked at less often.
      const expired = batches.every((b) => b.items.every((i) => i.request.deadline * 1000 <= now));
      const ms = expired ? timing.lookEveryMs * 10 : timing.lookEveryMs;
      if (!check.known) return { kind: 'wait', ms, did: 'rebroadcast' };
      if (now - sent.lastSentAt >= timing.replaceAfterMs) return { kind: 'wait', ms, did: 'replaced' };
      return { kind: 'wait', ms };
    }
    case 'mined':
      return { kind: 'wait', ms: timing.lookEveryMs };
    case 'reverted':
      return { kind: 'reprepare', reason: `transaction ${check.txHash} reverted: ${check.reason}` };
    case 'replaced':
      return {
        kind: 'reprepare',
        reason: `nonce ${sent.nonce} was used by another transaction, or lost behind a gap`,
      };
    case 'final': {
      let delivered = 0;
      let ended = 0;
      let reprepared = 0;
      for (const b of batches)
        for (const item of b.items) {
          const r = itemResultOf(check, item);
          if (r.kind === 'delivered') delivered++;
          else if (r.kind === 'refused' && r.retryable) reprepared++;
          else ended++;
        }
      return { kind: 'confirmed', txHash: check.txHash, delivered, ended, reprepared };
    }
  }
}

/** An item's result in a final transaction; an item the chain said nothing about is retried. */
export function itemResultOf(
  check: Extract<TransactionCheck, { kind: 'final' }>,
  item: SubmitItem,
): ItemResult {
  return (
    check.items.get(item.request.requestId.toLowerCase()) ??
    check.items.get(item.request.requestId) ?? { kind: 'refused', code: 'NoResult', retryable: true }
  );
}

export type ConfirmStageParameters = {
  destination: Destination;
  timing: ConfirmTiming;
  resultsQueue: Queue;
  journeys: JourneyStore;
  outcomes: ItemOutcomes;
  metrics: RelayerMetrics;
  logger: Logger;
};

/**
 * The confirm stage (any relayer process): one job per sent transaction, looked at until it is
 * final and then ended item by item. Between looks the job waits in BullMQ's delayed set, not in
 * a process: a relayer killed here loses nothing, and any other picks the job up.
 */
export class ConfirmStage {
  readonly #p: ConfirmStageParameters;

  constructor(parameters: ConfirmStageParameters) {
    this.#p = parameters;
  }

  readonly process = async (job: Job, token?: string): Promise<ConfirmOutcome> => {
    const parsed = confirmJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.#p.metrics.errors.inc({ kind: 'bad-confirm-payload' });
      throw new UnrecoverableError(`confirm payload: ${parsed.error.issues[0]?.message}`);
    }
    const { sent, batches } = parsed.data;
    const { destination } = this.#p;
    let outcome: ConfirmOutcome;
    try {
      const check = await destination.check(sent, batches);
      outcome = confirmDecision(check, sent, batches, this.#p.timing, Date.now());
      if (outcome.kind === 'confirmed' && check.kind === 'final') await this.#end(check, batches);
    } catch (error) {
      // The chain did not answer: look again later; a transaction is never given up on for that.
      this.#p.metrics.errors.inc({ kind: 'confirm' });
      this.#p.logger.warn(
        { chain: destination.chain, nonce: sent.nonce, err: errorMessage(error) },
        'confirm look failed',
      );
      outcome = { kind: 'wait', ms: this.#p.timing.lookEveryMs * 4 };
    }
    this.#p.logger.debug({ chain: destination.chain, nonce: sent.nonce, outcome }, 'looked at a transaction');
    switch (outcome.kind) {
      case 'wait':
        await this.#act(job, sent, batches, outcome.did);
        if (!token) throw new Error('confirm job without a lock token');
        await job.moveToDelayed(Date.now() + outcome.ms, token);
        throw new DelayedError();
      case 'reprepare':
        for (const b of batches) await this.#reprepare(b, outcome.reason);
        return outcome;
      case 'confirmed':
        return outcome;
    }
  };

  async #act(
    job: Job,
    sent: SentTransaction,
    batches: PreparedBatch[],
    did?: 'rebroadcast' | 'replaced',
  ): Promise<void> {
    const { destination } = this.#p;
    try {
      if (did === 'rebroadcast') await destination.rebroadcast(sent);
      if (did === 'replaced') {
        const replaced = await destination.replace(sent);
        if (replaced) {
          await job.updateData({ sent: replaced, batches } satisfies ConfirmJob);
          this.#p.metrics.submissions.inc({ chain: destination.chain, kind: 'replacement', outcome: 'sent' });
          this.#p.logger.info(
            { chain: destination.chain, nonce: sent.nonce, hash: replaced.hashes.at(-1) },
            'replaced a stuck transaction',
          );
        }
      }
    } catch (error) {
      this.#p.logger.warn(
        { chain: destination.chain, nonce: sent.nonce, did, err: errorMessage(error) },
        'could not move a pending transaction',
      );
    }
  }

  async #end(check: Extract<TransactionCheck, { kind: 'final' }>, batches: PreparedBatch[]): Promise<void> {
    const chain = this.#p.destination.chain;
    const items = batches.reduce((n, b) => n + b.items.length, 0);
    const tx = {
      txHash: check.txHash,
      blockNumber: check.blockNumber,
      gasUsed: check.gasUsed / BigInt(items),
    };
    await Promise.all(
      batches.map(async (batch) => {
        const results = batch.items.map((item) => itemResultOf(check, item));
        await Promise.all(
          batch.items.map((item, i) => {
            const r = results[i]!;
            if (r.kind === 'delivered') return this.#p.outcomes.delivered(item, chain, tx, r.xcm);
            if (r.kind === 'not-pending')
              return this.#p.outcomes.notPending(item, chain, 'already-fulfilled');
            if (r.kind === 'rerun') return this.#p.outcomes.rerun(item, chain, r.reason);
            if (!r.retryable) return this.#p.outcomes.dead(item, chain, `${chain}: ${r.code}`);
            return undefined;
          }),
        );
        // A refusal that can heal (a worker approval on its way): the batch is prepared again, and
        // items that landed meanwhile are no longer pending there.
        if (results.some((r) => r.kind === 'refused' && r.retryable))
          await this.#reprepare(batch, 'the chain refused an item for now');
      }),
    );
  }

  /** Sends a batch back to prepare (a new results job), or dead-letters it after MAX_REPREPARE. */
  async #reprepare(batch: PreparedBatch, reason: string): Promise<void> {
    const chain = this.#p.destination.chain;
    const attempt = batch.attempt + 1;
    if (attempt > MAX_REPREPARE) {
      for (const item of batch.items)
        await this.#p.outcomes.dead(item, chain, `${reason} (prepared ${MAX_REPREPARE} times)`);
      return;
    }
    const job: ResultBatchJob = {
      v: 2,
      worker: batch.worker,
      results: batch.items.map((i) => i.result),
      ...(batch.root && batch.signature ? { batch: { root: batch.root, signature: batch.signature } } : {}),
      attempt,
    };
    const base = batch.id.replace(/-r\d+$/, '');
    await this.#p.resultsQueue.add('result', job, { jobId: `${base}${suffix(attempt)}` });
    await Promise.all(
      batch.items.map((item) =>
        this.#p.journeys.record(item.result.jobId, {
          stage: 'retry',
          chain,
          detail: `${reason}; prepared again`,
        }),
      ),
    );
    this.#p.logger.warn({ chain, batch: batch.id, attempt, reason }, 'batch sent back to prepare');
  }
}

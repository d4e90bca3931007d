import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { BaseError, type Retry, errorMessage, walkCauses } from '../../base/errors.js';
import type { Origin } from '../../protocol/origin.js';
import type { PreparedBatch } from '../../protocol/prepared-batch.js';
import { type RequestJob, requestJobSchema } from '../../protocol/request-job.js';
import { type ResultBatchJob, resultBatchJobId, resultBatchOf } from '../../protocol/result-batch-job.js';
import type { ResultJob } from '../../protocol/result-job.js';
import { type ApprovalVerdict, ApprovalCache } from '../approval-cache.js';
import { isSignedBatch } from '../chains/evm-batches.js';
import type { JourneyStore } from '../journey.js';
import { type RelayerMetrics, type SecurityRefusalReason, countSecurityRefusal } from '../metrics.js';
import type { Destination, RequestStatus, SubmitItem } from '../ports.js';
import type { RelayerQueues } from '../queues.js';
import { ReadinessTimeoutError, withTimeout } from '../readiness.js';
import { checkResultClaims, checkResultProof } from '../verify-result.js';
import type { ItemOutcomes } from './item-outcomes.js';

/** What prepare reads from the chains and the queues (the stage's only ways out). */
export type PrepareReads = {
  /** The queued request a result claims to answer, or null when there is none. */
  request(result: ResultJob): Promise<RequestJob | null>;
  destinationFor(origin: Origin): Destination | undefined;
  approval(
    destination: Destination,
    cluster: `0x${string}`,
    worker: ResultJob['worker'],
  ): Promise<ApprovalVerdict>;
  status(destination: Destination, request: RequestJob): Promise<RequestStatus>;
  phalaGenesisHash?: `0x${string}` | undefined;
};

/** A result prepare will not carry, and why (the request goes back to the workers when it can). */
export type Rejection = {
  result: ResultJob;
  request: RequestJob | null;
  reason: string;
  security?: SecurityRefusalReason;
};

/**
 * Prepare's decision about one worker batch (the typed outcome of the stage):
 *   send      what goes on to the destinations' submit queues, as prepared batches
 *   end       requests nothing needs to be sent for (answered, cancelled or expired already)
 *   reject    answers refused: forged, mismatched, from a worker not approved (each with its reason)
 * When a chain could not tell an item's status, prepare throws `StatusUnknownError` instead and
 * the whole batch is looked at again later.
 */
export type Preparation = {
  send: PreparedBatch[];
  end: { item: SubmitItem; chain: string; as: 'already-fulfilled' | 'cancelled' | 'dead'; reason: string }[];
  reject: Rejection[];
};

/** A chain did not answer a status read; the batch is prepared again later. */
export class StatusUnknownError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'StatusUnknownError';
}

/**
 * Decides what happens to one worker batch. The batch's proof is checked once, here: every
 * item's answer against its queued request, the worker's batch signature over the items (a batch
 * that cannot go whole goes as single answers, and then each item's own signature is checked),
 * the worker's approval for each item's cluster, and each item's status on chain.
 */
export async function prepareBatch(
  job: ResultBatchJob,
  id: string,
  attempt: number,
  reads: PrepareReads,
): Promise<Preparation> {
  const out: Preparation = { send: [], end: [], reject: [] };
  const valid: { item: SubmitItem; destination: Destination }[] = [];
  const approvals = new Map<string, Promise<ApprovalVerdict>>();
  await Promise.all(
    job.results.map(async (result) => {
      const request = await reads.request(result);
      if (!request) {
        out.reject.push({
          result,
          request: null,
          reason: `no queued request ${result.jobId} for this result`,
        });
        return;
      }
      const check = checkResultClaims(request, result);
      if (!check.ok) {
        out.reject.push({ result, request, reason: check.reason });
        return;
      }
      const destination = reads.destinationFor(request.origin);
      if (!destination) {
        out.reject.push({ result, request, reason: 'no destination chain is configured for this origin' });
        return;
      }
      const key = `${destination.chain}:${result.cluster}`;
      let verdict = approvals.get(key);
      if (!verdict) {
        verdict = reads.approval(destination, result.cluster, result.worker);
        approvals.set(key, verdict);
      }
      const v = await verdict;
      if (!v.approved) {
        out.reject.push({
          result,
          request,
          reason: v.detail,
          ...(v.reason === 'WorkerRevoked' ? { security: v.reason } : {}),
        });
        return;
      }
      valid.push({ item: { request, result }, destination });
    }),
  );
  if (valid.length === 0) return out;
  // Results checked concurrently: put them back in the worker's order (the batch root's order).
  const order = new Map(job.results.map((r, i) => [r.jobId, i]));
  valid.sort((a, b) => order.get(a.item.result.jobId)! - order.get(b.item.result.jobId)!);

  // One signature over the whole batch proves every item (the root is rebuilt from the items);
  // only answers that may go on their own need their own signatures checked.
  const whole =
    job.batch !== undefined &&
    out.reject.length === 0 &&
    valid.length === job.results.length &&
    valid.every((v) => v.destination === valid[0]!.destination) &&
    isSignedBatch(
      valid.map((v) => v.item),
      job.batch,
    );
  if (!whole) {
    for (let i = valid.length - 1; i >= 0; i--) {
      const { request, result } = valid[i]!.item;
      const proof = checkResultProof(request, result, reads.phalaGenesisHash);
      if (proof.ok) continue;
      out.reject.push({ result, request, reason: proof.reason });
      valid.splice(i, 1);
    }
    if (valid.length === 0) return out;
  }

  const read = ({ item, destination }: (typeof valid)[number]) =>
    reads.status(destination, item.request).catch(() => 'unknown' as const);
  const sendWhole = (batch: NonNullable<typeof job.batch>) =>
    out.send.push({
      id,
      chain: valid[0]!.destination.chain,
      worker: job.worker,
      items: valid.map((v) => v.item),
      root: batch.root,
      signature: batch.signature,
      attempt,
    });
  // A whole batch goes when any one of its items is pending: the signature covers every item, so
  // items answered meanwhile (or whose status this chain could not tell) stay in and the chain
  // skips them. Its first item is read alone first: one read a batch in the usual case, not one
  // an item.
  const first = whole ? await read(valid[0]!) : undefined;
  if (whole && job.batch && first === 'pending') {
    sendWhole(job.batch);
    return out;
  }
  const statuses = await Promise.all(valid.map((v, i) => (i === 0 && first !== undefined ? first : read(v))));
  if (whole && job.batch && statuses.includes('pending')) {
    sendWhole(job.batch);
    return out;
  }
  const unknown = statuses.indexOf('unknown');
  if (unknown >= 0)
    throw new StatusUnknownError(
      `the status of request ${valid[unknown]!.item.request.requestId} is unknown`,
      {
        details: `chain ${valid[unknown]!.destination.chain} did not answer; the batch is prepared again later`,
      },
    );

  valid.forEach(({ item, destination }, i) => {
    const status = statuses[i]!;
    if (status === 'pending') {
      out.send.push({
        id:
          valid.length === 1
            ? id
            : `${item.result.jobId}-${job.worker.address.toLowerCase()}${suffix(attempt)}`,
        chain: destination.chain,
        worker: job.worker,
        items: [item],
        root: null,
        signature: null,
        attempt,
      });
    } else if (status === 'fulfilled') {
      out.end.push({
        item,
        chain: destination.chain,
        as: 'already-fulfilled',
        reason: 'answered on chain already',
      });
    } else if (status === 'cancelled') {
      out.end.push({ item, chain: destination.chain, as: 'cancelled', reason: 'cancelled on chain' });
    } else {
      out.end.push({ item, chain: destination.chain, as: 'dead', reason: 'request expired on chain' });
    }
  });
  return out;
}

/** How long prepare waits for one status read before the batch is prepared again later. */
const STATUS_TIMEOUT_MS = 3_000;
/** When a batch whose chain did not answer is looked at again. */
const UNANSWERED_RETRY_MS = 2_000;

/**
 * `-r<n>`: the id of a batch prepared again for the n-th time (BullMQ refuses a `:` in custom
 * ids; our ids end in hex, so `-r<n>` is never part of one).
 */
export function suffix(attempt: number): string {
  return attempt > 0 ? `-r${attempt}` : '';
}

export type PrepareStageParameters = {
  queues: RelayerQueues;
  journeys: JourneyStore;
  outcomes: ItemOutcomes;
  destinations: Destination[];
  metrics: RelayerMetrics;
  logger: Logger;
  phalaGenesisHash?: `0x${string}` | undefined;
};

/**
 * The prepare stage (results queue, any relayer process): one job per worker batch, decided by
 * `prepareBatch` and then acted on — prepared batches to their chain's submit queue, ended
 * requests recorded, refused answers recorded with the request sent back to the workers so that a
 * rogue answer cannot stand in for the real one.
 */
export class PrepareStage {
  readonly #p: PrepareStageParameters;
  readonly #approvals = new ApprovalCache();
  readonly #reads: PrepareReads;

  constructor(parameters: PrepareStageParameters) {
    this.#p = parameters;
    this.#reads = {
      request: async (result) => {
        const job = await this.#p.queues.requests(result.cluster).getJob(result.jobId);
        const parsed = job ? requestJobSchema.safeParse(job.data) : undefined;
        return parsed?.success ? parsed.data : null;
      },
      destinationFor: (origin) => this.#p.destinations.find((d) => d.accepts(origin)),
      approval: (destination, cluster, worker) =>
        this.#approvals.verdict(
          worker,
          `${destination.chain}:${cluster}:${worker.address}:${worker.publicKey}`,
          () =>
            withTimeout(destination.isApprovedWorker(cluster, worker), STATUS_TIMEOUT_MS, 'approval read'),
        ),
      // Bounded: a dead chain's reads must not hold prepare's places from every other chain.
      status: (destination, request) =>
        withTimeout(destination.status(request), STATUS_TIMEOUT_MS, 'status read'),
      phalaGenesisHash: parameters.phalaGenesisHash,
    };
  }

  readonly process = async (job: Job, token?: string): Promise<string> => {
    const parsed = resultBatchOf(job.data);
    if (!parsed.success) {
      this.#p.metrics.errors.inc({ kind: 'bad-result-payload' });
      const issue = parsed.error.issues[0];
      const reason = `result payload: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
      this.#p.logger.warn({ queueJob: job.id, reason }, 'dropped a malformed result');
      throw new UnrecoverableError(reason);
    }
    const batch = parsed.data;
    const attempt = batch.attempt ?? 0;
    const id = job.id ?? resultBatchJobId(batch);
    let preparation: Preparation;
    try {
      preparation = await prepareBatch(batch, id, attempt, this.#reads);
    } catch (error) {
      // A chain that does not answer (down, frozen) is waited out from the delayed set, never by
      // spending the job's attempts: an outage longer than the backoff schedule must lose nothing.
      const unanswered = walkCauses(
        error,
        (e) => e instanceof StatusUnknownError || e instanceof ReadinessTimeoutError,
      );
      if (!unanswered || !token) throw error;
      this.#p.logger.warn(
        { queueJob: job.id, err: errorMessage(error) },
        'a chain did not answer; preparing later',
      );
      await job.moveToDelayed(Date.now() + UNANSWERED_RETRY_MS, token);
      throw new DelayedError();
    }
    for (const rejection of preparation.reject) await this.#reject(rejection);
    for (const { item, chain, as, reason } of preparation.end) {
      if (as === 'dead') await this.#p.outcomes.dead(item, chain, reason);
      else await this.#p.outcomes.notPending(item, chain, as);
    }
    for (const prepared of preparation.send) await this.#enqueue(prepared);
    if (preparation.reject.length > 0 && preparation.send.length === 0 && preparation.end.length === 0)
      throw new UnrecoverableError(preparation.reject[0]!.reason);
    return `${preparation.send.length} to send, ${preparation.end.length} ended, ${preparation.reject.length} rejected`;
  };

  async #enqueue(prepared: PreparedBatch): Promise<void> {
    const queue = this.#p.queues.submit(prepared.chain);
    // A finished submit job under this id is an earlier answer (a rerun after the contract state
    // moved on): clear it so this one is considered.
    const earlier = await queue.getJob(prepared.id);
    if (earlier && ((await earlier.isCompleted()) || (await earlier.isFailed()))) await earlier.remove();
    await queue.add('submit', prepared, { jobId: prepared.id });
    if (prepared.attempt > 0) return;
    await Promise.all(
      prepared.items.map(({ request, result }) => {
        this.#p.metrics.workerLatency.observe(
          { cluster: result.cluster.slice(0, 18) },
          Math.max(0, result.producedAt - request.observed.at) / 1000,
        );
        return this.#p.journeys.record(result.jobId, {
          stage: 'result',
          worker: result.worker.address,
          detail: result.status === 'ok' ? `gas ${result.gasUsed}` : 'contract error',
        });
      }),
    );
  }

  async #reject({ result, request, reason, security }: Rejection): Promise<void> {
    this.#p.metrics.errors.inc({ kind: request ? 'rejected-result' : 'result-for-unknown-request' });
    if (security) countSecurityRefusal(this.#p.metrics, security);
    this.#p.logger.warn(
      {
        jobId: result.jobId,
        requestId: result.requestId,
        worker: result.worker.address,
        reason: security ?? reason,
        detail: reason,
      },
      security ? 'refused a worker result (security)' : 'rejected a worker result',
    );
    if (!request) return;
    await this.#p.journeys.record(result.jobId, {
      stage: 'result-rejected',
      worker: result.worker.address,
      detail: reason,
    });
    const requestJob = await this.#p.queues.requests(request.cluster).getJob(result.jobId);
    if (requestJob && request.deadline * 1000 > Date.now() && (await requestJob.isCompleted())) {
      await requestJob.retry('completed');
      await this.#p.journeys.record(result.jobId, { stage: 'retry', detail: 'sent back to the workers' });
    }
  }
}

import { type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { originKey } from '../../protocol/origin.js';
import { type RequestJob, requestJobSchema } from '../../protocol/request-job.js';
import { type ResultJob, resultJobSchema } from '../../protocol/result-job.js';
import { ApprovalCache } from '../approval-cache.js';
import type { JourneyStore } from '../journey.js';
import { type RelayerMetrics, type SecurityRefusalReason, countSecurityRefusal } from '../metrics.js';
import type { Destination } from '../ports.js';
import type { RelayerQueues } from '../queues.js';
import { checkResult } from '../verify-result.js';

export type AcceptResultStageParameters = {
  queues: RelayerQueues;
  journeys: JourneyStore;
  destinations: Destination[];
  metrics: RelayerMetrics;
  logger: Logger;
  phalaGenesisHash?: `0x${string}` | undefined;
};

/**
 * Stage 3, dispatch → result: a worker's answer is accepted only if it matches its request, its
 * proof verifies, and its signer is an approved, unexpired worker of the contract's cluster on
 * chain right now. Anything else is dropped with the reason recorded, and the request goes back
 * to the workers so that a rogue answer cannot stand in for the real one.
 */
export class AcceptResultStage {
  readonly #p: AcceptResultStageParameters;
  readonly #approvals = new ApprovalCache();

  constructor(parameters: AcceptResultStageParameters) {
    this.#p = parameters;
  }

  readonly process = async (job: Job): Promise<string> => {
    const parsed = resultJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.#p.metrics.errors.inc({ kind: 'bad-result-payload' });
      const issue = parsed.error.issues[0];
      const reason = `result payload: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
      this.#p.logger.warn({ queueJob: job.id, reason }, 'dropped a malformed result');
      throw new UnrecoverableError(reason);
    }
    const result = parsed.data;
    const requestJob = await this.#p.queues.requests(result.cluster).getJob(result.jobId);
    const request = requestJob ? requestJobSchema.safeParse(requestJob.data) : undefined;
    if (!request?.success) {
      this.#p.metrics.errors.inc({ kind: 'result-for-unknown-request' });
      throw new UnrecoverableError(`no queued request ${result.jobId} for this result`);
    }
    // A worker revoked on the Phala-style chain is refused before anything else (issue 13 item 4).
    const revoked = this.#approvals.revoked(result.worker);
    if (revoked) return this.#reject(result, request.data, requestJob!, revoked.detail, revoked.reason);
    const check = checkResult(request.data, result, this.#p.phalaGenesisHash);
    if (!check.ok) return this.#reject(result, request.data, requestJob!, check.reason);
    const destination = this.#p.destinations.find((d) => d.accepts(request.data.origin));
    if (!destination) {
      throw new UnrecoverableError(
        `no destination chain is configured for origin ${originKey(request.data.origin)}`,
      );
    }
    const approvalKey = `${destination.chain}:${result.cluster}:${result.worker.address}:${result.worker.publicKey}`;
    const verdict = await this.#approvals.verdict(result.worker, approvalKey, () =>
      destination.isApprovedWorker(result.cluster, result.worker),
    );
    if (!verdict.approved) {
      const security = verdict.reason === 'WorkerRevoked' ? verdict.reason : undefined;
      return this.#reject(result, request.data, requestJob!, verdict.detail, security);
    }
    const submitQueue = this.#p.queues.submit(destination.chain);
    // A finished submit job under this id is an earlier answer (a rerun after the contract state
    // moved on, or a late duplicate): clear it so this one is considered. The submit stage checks
    // the chain before sending, so a request already answered is not answered twice.
    const earlier = await submitQueue.getJob(result.jobId);
    if (earlier && ((await earlier.isCompleted()) || (await earlier.isFailed()))) await earlier.remove();
    await submitQueue.add('submit', { request: request.data, result }, { jobId: result.jobId });
    this.#p.metrics.workerLatency.observe(
      { cluster: result.cluster.slice(0, 18) },
      Math.max(0, result.producedAt - request.data.observed.at) / 1000,
    );
    await this.#p.journeys.record(result.jobId, {
      stage: 'result',
      worker: result.worker.address,
      detail: result.status === 'ok' ? `gas ${result.gasUsed}` : 'contract error',
    });
    return destination.chain;
  };

  async #reject(
    result: ResultJob,
    request: RequestJob,
    requestJob: Job,
    reason: string,
    security?: SecurityRefusalReason,
  ): Promise<never> {
    this.#p.metrics.errors.inc({ kind: 'rejected-result' });
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
    await this.#p.journeys.record(result.jobId, {
      stage: 'result-rejected',
      worker: result.worker.address,
      detail: reason,
    });
    if (request.deadline * 1000 > Date.now() && (await requestJob.isCompleted())) {
      await requestJob.retry('completed');
      await this.#p.journeys.record(result.jobId, { stage: 'retry', detail: 'sent back to the workers' });
    }
    throw new UnrecoverableError(reason);
  }
}

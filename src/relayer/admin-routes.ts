import type { Job } from 'bullmq';
import { z } from 'zod';
import { jobRefusalSchema } from '../protocol/job-refusal.js';
import { isRequestQueueName } from '../protocol/queue-names.js';
import type { JourneyStore } from './journey.js';
import { HttpRequestError, type Route } from './http-server.js';
import type { RelayerQueues } from './queues.js';

/**
 * The operator's API: list requests by state, origin or contract; show one request's whole
 * journey; retry one request or every request a matcher selects; drop one (a request still
 * waiting for a worker only with `force`: dropping it loses a request nobody has seen fail).
 * Security rules (token, Host, Origin, JSON-only writes, body cap) are the server's:
 * http-server.ts, docs/operations.md#admin-api.
 */
const listQuery = z.strictObject({
  state: z.string().max(40).optional(),
  origin: z.string().max(80).optional(),
  contract: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const matcherBody = z.strictObject({
  state: z.string().max(40).default('dead'),
  origin: z.string().max(80).optional(),
  contract: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
  limit: z.number().int().min(1).max(10_000).default(1000),
});
const retryOneBody = z.strictObject({});
const dropBody = z.strictObject({ force: z.boolean().default(false) });

/** Input checked against its schema; a bad one is a 400 naming the fields, never zod's dump. */
function inputOf<T>(schema: z.ZodType<T>, value: unknown, where: 'query' | 'body'): T {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(whole)'))];
  throw new HttpRequestError(400, `invalid ${where}: ${fields.join(', ')}`);
}

/** BullMQ states an operator may drop without `force`: the job is over, nobody will run it. */
const FINISHED_STATES = new Set(['failed', 'completed']);

async function findJobs(queues: RelayerQueues, jobId: string): Promise<Job[]> {
  const found = await Promise.all(queues.opened().map((q) => q.getJob(jobId)));
  return found.filter((j): j is Job => Boolean(j));
}

/**
 * Retries a request at the stage where it stopped: its failed job; or, for a request the chain
 * refused after the workers answered it (dead-lettered by the confirm stage, whose job holds the
 * whole transaction), its finished request job, so that the workers answer it again.
 */
async function retryOne(queues: RelayerQueues, journeys: JourneyStore, jobId: string): Promise<boolean> {
  const jobs = await findJobs(queues, jobId);
  for (const job of jobs) {
    if (await job.isFailed()) {
      await job.retry('failed', { resetAttemptsMade: true });
      await journeys.record(jobId, { stage: 'retry', detail: `operator retry in ${job.queueName}` });
      return true;
    }
  }
  if ((await journeys.summary(jobId))?.state !== 'dead') return false;
  for (const job of jobs) {
    if (isRequestQueueName(job.queueName) && (await job.isCompleted())) {
      await job.retry('completed', { resetAttemptsMade: true });
      await journeys.record(jobId, { stage: 'retry', detail: 'operator retry: sent back to the workers' });
      return true;
    }
  }
  return false;
}

export function adminRoutes(queues: RelayerQueues, journeys: JourneyStore): Route[] {
  return [
    {
      method: 'GET',
      path: '/jobs',
      handler: async ({ query }) => {
        const q = inputOf(listQuery, Object.fromEntries(query), 'query');
        return { json: await journeys.list({ ...q, ...(q.contract ? { contractId: q.contract } : {}) }) };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobId',
      handler: async ({ params }) => {
        const summary = await journeys.summary(params.jobId!);
        if (!summary) return { status: 404, json: { error: 'unknown request' } };
        const jobs = await findJobs(queues, params.jobId!);
        const stages = await Promise.all(
          jobs.map(async (j) => ({
            queue: j.queueName,
            state: await j.getState(),
            attempts: j.attemptsMade,
            failedReason: j.failedReason,
            // A worker's refusal, as it reported it on the job (the SDK's waits stop on it).
            ...(jobRefusalSchema.safeParse(j.progress).data ?? {}),
          })),
        );
        return { json: { ...summary, journey: await journeys.entries(params.jobId!), queues: stages } };
      },
    },
    {
      method: 'POST',
      path: '/jobs/:jobId/retry',
      handler: async ({ params, body }) => {
        inputOf(retryOneBody, body, 'body');
        return (await retryOne(queues, journeys, params.jobId!))
          ? { json: { retried: [params.jobId] } }
          : { status: 409, json: { error: 'no failed job to retry' } };
      },
    },
    {
      method: 'POST',
      path: '/retry',
      handler: async ({ body }) => {
        const m = inputOf(matcherBody, body, 'body');
        const selected = await journeys.list({
          state: m.state,
          limit: m.limit,
          ...(m.origin ? { origin: m.origin } : {}),
          ...(m.contract ? { contractId: m.contract } : {}),
        });
        const retried: string[] = [];
        for (const s of selected) if (await retryOne(queues, journeys, s.jobId)) retried.push(s.jobId);
        return { json: { retried } };
      },
    },
    {
      method: 'DELETE',
      path: '/jobs/:jobId',
      handler: async ({ params, body }) => {
        const { force } = inputOf(dropBody, body, 'body');
        const jobs = await findJobs(queues, params.jobId!);
        if (jobs.length === 0) return { status: 404, json: { error: 'unknown request' } };
        const states = await Promise.all(jobs.map((j) => j.getState()));
        // Checked for every queue before anything is removed: a refusal leaves the request whole.
        const waiting = states.find((s) => s !== 'active' && !FINISHED_STATES.has(s));
        if (waiting && !force)
          return {
            status: 409,
            json: {
              error: `the request is ${waiting}, not finished; send {"force": true} to drop it anyway`,
            },
          };
        let removed = 0;
        for (const [i, job] of jobs.entries()) {
          if (states[i] === 'active') continue;
          await job.remove();
          removed++;
        }
        if (removed > 0) {
          const detail = waiting ? `dropped by operator while ${waiting} (forced)` : 'dropped by operator';
          await journeys.record(params.jobId!, { stage: 'dead', detail });
          await journeys.release(params.jobId!);
        }
        return removed > 0
          ? { json: { dropped: params.jobId, jobs: removed } }
          : { status: 409, json: { error: 'the request is being worked on; wait for it to finish' } };
      },
    },
  ];
}

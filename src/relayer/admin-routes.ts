import type { Job } from 'bullmq';
import { z } from 'zod';
import type { JourneyStore } from './journey.js';
import type { Route } from './http-server.js';
import type { RelayerQueues } from './queues.js';

/**
 * The operator's API: list requests by state, origin or contract; show one request's whole
 * journey; retry one request or every request a matcher selects; drop one.
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

async function findJobs(queues: RelayerQueues, jobId: string): Promise<Job[]> {
  const found = await Promise.all(queues.opened().map((q) => q.getJob(jobId)));
  return found.filter((j): j is Job => Boolean(j));
}

/** Retries a request at the stage where it stopped: its failed submit job, else its failed request job. */
async function retryOne(queues: RelayerQueues, journeys: JourneyStore, jobId: string): Promise<boolean> {
  for (const job of await findJobs(queues, jobId)) {
    if (await job.isFailed()) {
      await job.retry('failed', { resetAttemptsMade: true });
      await journeys.record(jobId, { stage: 'retry', detail: `operator retry in ${job.queueName}` });
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
        const q = listQuery.parse(Object.fromEntries(query));
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
          })),
        );
        return { json: { ...summary, journey: await journeys.entries(params.jobId!), queues: stages } };
      },
    },
    {
      method: 'POST',
      path: '/jobs/:jobId/retry',
      handler: async ({ params }) =>
        (await retryOne(queues, journeys, params.jobId!))
          ? { json: { retried: [params.jobId] } }
          : { status: 409, json: { error: 'no failed job to retry' } },
    },
    {
      method: 'POST',
      path: '/retry',
      handler: async ({ body }) => {
        const m = matcherBody.parse(body ?? {});
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
      handler: async ({ params }) => {
        const jobs = await findJobs(queues, params.jobId!);
        let removed = 0;
        for (const job of jobs) {
          if ((await job.getState()) === 'active') continue;
          await job.remove();
          removed++;
        }
        if (removed > 0) {
          await journeys.record(params.jobId!, { stage: 'dead', detail: 'dropped by operator' });
          await journeys.release(params.jobId!);
        }
        return removed > 0
          ? { json: { dropped: params.jobId, jobs: removed } }
          : { status: 404, json: { error: 'no inactive job to drop' } };
      },
    },
  ];
}

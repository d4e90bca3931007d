import { z } from 'zod';

/**
 * What a worker leaves on a request job it refuses for good (as the job's progress, before it
 * fails the job), so the relayer can record the refusal in the request's journey and count it by
 * reason without reading the failure's message text. Validated like any queue payload: an
 * attacker with Redis can write it too, so it is a report, never an instruction.
 */
export const jobRefusalSchema = z.strictObject({
  refusal: z.strictObject({
    reason: z.string().regex(/^[A-Za-z][A-Za-z-]{0,39}$/, 'a reason name'),
    detail: z.string().max(1_000),
    /** The job does not match its origin chain as the worker verified it: a forged or replayed job. */
    security: z.boolean(),
  }),
});
export type JobRefusal = z.infer<typeof jobRefusalSchema>;

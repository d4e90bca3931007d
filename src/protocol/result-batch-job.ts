import { createHash } from 'node:crypto';
import { z } from 'zod';
import { addressSchema, hex32Schema, hexSchema } from './schemas.js';
import { type ResultJob, resultJobSchema } from './result-job.js';

/**
 * What a worker puts on the results queue (docs/PROTOCOL.md §7): its answers that are ready
 * together, as ONE job, from the worker to the chain. `batch`, when present, is the worker's
 * FulfillmentBatch signature over every result in this order (EVM origins): the destination
 * sends them as one signed batch. Each result still carries its own proof, so a batch that
 * cannot go whole (one of its items refused before sending) goes as single answers.
 */
export const resultBatchJobSchema = z
  .strictObject({
    v: z.literal(2),
    worker: z.strictObject({ address: addressSchema, publicKey: hexSchema }),
    results: z.array(resultJobSchema).min(1).max(256),
    batch: z.strictObject({ root: hex32Schema, signature: hexSchema }).optional(),
    /** Set by the relayer when a sent batch comes back to prepare (a revert, a reorg, a taken nonce). */
    attempt: z.number().int().min(1).max(1000).optional(),
  })
  .refine((b) => b.results.every((r) => r.worker.address.toLowerCase() === b.worker.address.toLowerCase()), {
    message: 'every result must name the batch worker',
    path: ['results'],
  })
  .refine((b) => !b.batch || b.results.every((r) => r.origin.kind === 'evm'), {
    message: 'a signed batch holds EVM results only',
    path: ['batch'],
  });
export type ResultBatchJob = z.infer<typeof resultBatchJobSchema>;

/**
 * A results-queue payload as the prepare stage reads it: a worker batch (v2), or one result on its
 * own (v1, as workers before the batch job published, and tools that queue a single answer).
 */
export function resultBatchOf(
  data: unknown,
): { success: true; data: ResultBatchJob } | { success: false; error: z.ZodError } {
  if (typeof data === 'object' && data !== null && (data as { v?: unknown }).v === 1) {
    const single = resultJobSchema.safeParse(data);
    if (!single.success) return { success: false, error: single.error };
    const { batch: _ignored, ...result } = single.data;
    return { success: true, data: { v: 2, worker: result.worker, results: [result] } };
  }
  return resultBatchJobSchema.safeParse(data);
}

/**
 * The BullMQ id of a worker batch: a lone result keeps the id it always had
 * (`<request job id>-<worker>`); a signed batch is named by its root and its worker.
 */
export function resultBatchJobId(job: ResultBatchJob): string {
  const worker = job.worker.address.toLowerCase();
  if (job.batch) return `batch-${job.batch.root.slice(2, 34)}-${worker}`;
  if (job.results.length === 1) return `${job.results[0]!.jobId}-${worker}`;
  const ids = createHash('sha256')
    .update(job.results.map((r) => r.jobId).join(','))
    .digest('hex');
  return `batch-${ids.slice(0, 32)}-${worker}`;
}

export type { ResultJob };

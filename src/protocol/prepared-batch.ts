import { z } from 'zod';
import { requestJobSchema } from './request-job.js';
import { resultJobSchema } from './result-job.js';
import { addressSchema, hex32Schema, hexSchema } from './schemas.js';

/**
 * A worker batch the prepare stage has checked (docs/PROTOCOL.md §7): every item's answer matches
 * its request and carries the worker's proof, the worker is approved for the cluster, and at least
 * one item was still pending. It travels as one submit job and, once sent, inside its
 * transaction's confirm job. `root` and `signature`: the worker's batch root and signature over
 * exactly these items in this order, or null when the item goes as a single answer (its own proof).
 * `attempt` counts how often the batch went back to prepare (a revert, a reorg, a taken nonce).
 */
export const preparedBatchSchema = z
  .strictObject({
    id: z.string().min(1).max(200),
    chain: z.string().min(1),
    worker: z.strictObject({ address: addressSchema, publicKey: hexSchema }),
    items: z
      .array(z.strictObject({ request: requestJobSchema, result: resultJobSchema }))
      .min(1)
      .max(256),
    root: hex32Schema.nullable(),
    signature: hexSchema.nullable(),
    attempt: z.number().int().min(0),
  })
  .refine((b) => (b.root === null) === (b.signature === null), {
    message: 'root and signature come together',
    path: ['signature'],
  })
  .refine((b) => b.signature !== null || b.items.length === 1, {
    message: 'items without a batch signature go one by one',
    path: ['items'],
  });
export type PreparedBatch = z.infer<typeof preparedBatchSchema>;

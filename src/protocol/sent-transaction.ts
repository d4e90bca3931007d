import { z } from 'zod';
import { hexSchema, uintStringSchema } from './schemas.js';

/**
 * A transaction the submit stage signed and broadcast, as the confirm stage watches it
 * (docs/PROTOCOL.md §7). `raw` is the latest signed bytes: public once broadcast, and what any
 * relayer process sends again when the node lost it. `hashes`: every version sent for this nonce
 * (the original and its fee-bumped replacements), latest last.
 */
export const sentTransactionSchema = z.strictObject({
  chain: z.string().min(1),
  signer: z.string().min(1),
  nonce: z.number().int().min(0),
  hashes: z.array(hexSchema).min(1).max(32),
  raw: hexSchema,
  fees: z.strictObject({ maxFeePerGas: uintStringSchema, maxPriorityFeePerGas: uintStringSchema }).nullable(),
  sentAt: z.number().int().min(0),
  /** The chain's best block number when it was first sent (where a search for it may start). */
  sentAtBlock: z.number().int().min(0).optional(),
  /** When the latest version was sent (replacements restart the stuck clock). */
  lastSentAt: z.number().int().min(0),
});
export type SentTransaction = z.infer<typeof sentTransactionSchema>;

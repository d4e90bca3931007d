import { z } from 'zod';
import { originSchema } from './origin.js';
import { addressSchema, hex32Schema, hexSchema, uintStringSchema } from './schemas.js';

/**
 * A worker's signed answer to one request (docs/PROTOCOL.md §7). `publicOutput` is what the
 * origin chain's callback receives in the clear; `sealedOutput` is sealed to the response key.
 * The proof is the worker's signature for the origin's kind (§4).
 */
export const resultJobSchema = z.strictObject({
  v: z.literal(1),
  jobId: z.string().min(1),
  origin: originSchema,
  requestId: hex32Schema,
  contractId: hex32Schema,
  cluster: hex32Schema,
  worker: z.strictObject({ address: addressSchema, publicKey: hexSchema }),
  /** `ok` ran the contract; `contract-error` means the contract itself failed (code in publicOutput). */
  status: z.enum(['ok', 'contract-error']),
  publicOutput: hexSchema,
  sealedOutput: hexSchema,
  stateRoot: hex32Schema,
  proof: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('eip712'), signature: hexSchema }),
    z.strictObject({ kind: z.literal('substrate'), signature: hexSchema }),
  ]),
  /**
   * The new sealed contract state the result made (docs/PROTOCOL.md §4). Phala-style and XCM
   * origins: it goes in the same `fulfill` as the result, and `signature` is the proof's own (the
   * fulfil v2 signature covers the state). EVM origins: the worker itself commits it on the
   * Phala-style chain (`commitState`, naming `requestIds`) before it releases the result, so the
   * relayer only delivers; `signature` is over the commit-state v2 payload.
   */
  stateCommit: z
    .strictObject({
      contractId: hex32Schema,
      expectedVersion: uintStringSchema,
      sealedState: hexSchema,
      stateRoot: hex32Schema,
      /** The requests whose results made this state (absent: this result's request alone). */
      requestIds: z.array(hex32Schema).min(1).max(64).optional(),
      signature: hexSchema,
    })
    .optional(),
  /**
   * When the worker also signed a FulfillmentBatch over several of its EVM results: the batch's
   * root, this result's place in it, the batch size and the signature. The relayer sends the
   * batch as one transaction when all of it is at hand, and the results one by one otherwise.
   */
  batch: z
    .strictObject({
      root: hex32Schema,
      index: z.number().int().min(0),
      count: z.number().int().min(1).max(1024),
      signature: hexSchema,
    })
    .refine((b) => b.index < b.count, { message: 'index must be below count' })
    .optional(),
  gasUsed: z.number().int().min(0),
  producedAt: z.number().int().min(0),
});
export type ResultJob = z.infer<typeof resultJobSchema>;

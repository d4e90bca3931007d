import { z } from 'zod';
import { originSchema } from './origin.js';
import { hex32Schema, hexSchema, uintStringSchema } from './schemas.js';

/**
 * A request waiting for a worker (docs/PROTOCOL.md §7). Everything in it is public on the origin
 * chain already: the input is sealed to the contract key, the response key is a public key.
 */
export const requestJobSchema = z.strictObject({
  v: z.literal(1),
  origin: originSchema,
  requestId: hex32Schema,
  contractId: hex32Schema,
  cluster: hex32Schema,
  /** 20-byte EVM address, 32-byte account id, or SCALE-encoded XCM location. */
  requester: hexSchema,
  /**
   * The account the requester acts for (EVM: the gateway's `endUser`, a 20-byte address; a
   * consumer contract passes its caller). For Phala-style and XCM origins, and when absent, the
   * requester itself. Bound into the EVM request id and into the input envelope's context.
   */
  endUser: hexSchema.optional(),
  nonce: uintStringSchema,
  sealedInput: hexSchema,
  responseKey: hex32Schema,
  /** Unix seconds after which the request can no longer be fulfilled. */
  deadline: z.number().int().min(0),
  callbackGasLimit: z.number().int().min(0).optional(),
  observed: z.strictObject({
    chain: z.string().min(1),
    blockNumber: z.number().int().min(0),
    blockHash: hex32Schema,
    txHash: hex32Schema.optional(),
    logIndex: z.number().int().min(0).optional(),
    at: z.number().int().min(0),
  }),
});
export type RequestJob = z.infer<typeof requestJobSchema>;

/** The request's end user (`endUser`, or the requester when absent), lower case. */
export function endUserOf(job: Pick<RequestJob, 'requester' | 'endUser'>): `0x${string}` {
  return (job.endUser ?? job.requester).toLowerCase() as `0x${string}`;
}

import { z } from 'zod';
import { addressSchema, hex32Schema, hexSchema } from './schemas.js';

/**
 * Where a request came from, and so where its answer goes (docs/PROTOCOL.md §1).
 * - evm: a gateway contract on an EVM chain;
 * - phala: a signed extrinsic on the Phala-style chain itself;
 * - xcm: a location on another parachain, relative to the Phala-style chain (SCALE V4 Location).
 */
export const originSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('evm'), chainId: z.number().int().positive(), gateway: addressSchema }),
  z.strictObject({ kind: z.literal('phala'), genesisHash: hex32Schema }),
  z.strictObject({ kind: z.literal('xcm'), paraId: z.number().int().min(0), location: hexSchema }),
]);
export type Origin = z.infer<typeof originSchema>;

/** The origin key: a short text name of the origin, used in job ids and request envelopes. */
export function originKey(origin: Origin): string {
  switch (origin.kind) {
    case 'evm':
      return `evm-${origin.chainId}`;
    case 'phala':
      return 'phala';
    case 'xcm':
      return `xcm-${origin.paraId}`;
  }
}

/** BullMQ job id of a request: `<originKey>-<requestId>` (no `:`, which BullMQ reserves). */
export function requestJobId(origin: Origin, requestId: `0x${string}`): string {
  return `${originKey(origin)}-${requestId.toLowerCase()}`;
}

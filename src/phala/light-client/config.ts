import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';

const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte 0x-hex value')
  .transform((s) => s.toLowerCase() as Hex);
/** u64 values arrive as numbers or decimal strings (YAML and JSON lose precision past 2^53). */
const u64 = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/), z.bigint().nonnegative()])
  .transform((v) => BigInt(v))
  .refine((v) => v < 2n ** 64n, 'a u64');

/**
 * What a worker pins to follow the Phala-style chain without trusting its RPC node: the genesis
 * hash and the GRANDPA authority set (with its set id) in force at the trusted start block, which
 * is genesis unless `checkpoint` names a later finalized block whose set is the one given (pick one
 * with no authority set change pending).
 */
export const lightClientConfigSchema = z
  .object({
    genesisHash: hex32,
    checkpoint: hex32.optional(),
    setId: u64.default(0n),
    authorities: z
      .array(z.object({ id: hex32, weight: u64.default(1n) }))
      .min(1)
      .refine((list) => new Set(list.map((a) => a.id)).size === list.length, 'authority ids must be distinct')
      .refine((list) => list.every((a) => a.weight > 0n), 'authority weights must be positive'),
    /** Verified headers kept by hash, for reads at a recent finalized block. */
    headerCacheSize: z.number().int().min(1).default(1024),
    /** Headers fetched at once while catching up. */
    fetchConcurrency: z.number().int().min(1).max(64).default(8),
  })
  .strict();

export type LightClientConfig = z.output<typeof lightClientConfigSchema>;
export type LightClientConfigInput = z.input<typeof lightClientConfigSchema>;

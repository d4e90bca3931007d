import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';

const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of 0x-hex')
  .transform((s) => s.toLowerCase() as Hex);
const chain = z.string().min(1).max(64);
const source = z.string().min(1).max(96);
const weight = z.object({
  refTime: z.string().regex(/^\d{1,20}$/),
  proofSize: z.string().regex(/^\d{1,20}$/),
});

/**
 * What the tracker understands, whatever chain it came from: a message left a chain, arrived at
 * one, was processed (or failed) there, or a transport hash belongs to a message id. Chain
 * events are turned into these by an adapter (see substrate-events.ts); the devnet and the
 * relayer's watchers feed them in blocks.
 */
export const xcmTrackerEventSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('sent'),
    index: z.number().int().min(0),
    source,
    id: hex32.optional(),
    hash: hex32.optional(),
    /** The chain the message is for, when the sender's event says so. */
    destination: chain.optional(),
  }),
  z.object({
    kind: z.literal('delivered'),
    index: z.number().int().min(0),
    source,
    id: hex32.optional(),
    hash: hex32.optional(),
  }),
  z.object({
    kind: z.literal('processed'),
    index: z.number().int().min(0),
    source,
    id: hex32,
    success: z.boolean(),
    error: z.string().max(256).optional(),
    weightUsed: weight.optional(),
    /** Where the processing chain says the message came from, e.g. `Sibling(2000)`. */
    from: z.string().max(128).optional(),
  }),
  z.object({ kind: z.literal('overweight'), index: z.number().int().min(0), source, id: hex32 }),
  z.object({ kind: z.literal('link'), index: z.number().int().min(0), source, id: hex32, hash: hex32 }),
]);
export type XcmTrackerEvent = z.input<typeof xcmTrackerEventSchema>;
export type ParsedTrackerEvent = z.output<typeof xcmTrackerEventSchema>;

/** One finalized block's worth of tracker events from one chain. */
export const xcmTrackerBlockSchema = z.object({
  chain,
  number: z.number().int().min(0),
  hash: hex32,
  /** Block time (ms since the epoch); the observation time when the chain gives none. */
  at: z.number().int().min(0),
  events: z.array(z.unknown()).max(10_000),
});
export type XcmTrackerBlock = {
  chain: string;
  number: number;
  hash: Hex;
  at: number;
  events: XcmTrackerEvent[];
};

export type XcmCursor = { number: number; hash: Hex };
export const xcmCursorSchema = z.object({ number: z.number().int().min(0), hash: hex32 });

const step = z.object({
  chain,
  blockNumber: z.number().int().min(0),
  blockHash: hex32,
  /** The event's index in its block: with chain and block hash, what makes it unique. */
  index: z.number().int().min(0),
  at: z.number().int().min(0),
  source,
});
const outcome = step.extend({
  success: z.boolean(),
  error: z.string().max(256).optional(),
  weightUsed: weight.optional(),
  from: z.string().max(128).optional(),
});
export type XcmStep = z.output<typeof step>;
export type XcmOutcome = z.output<typeof outcome>;

export const XCM_STATUSES = ['expected', 'sent', 'delivered', 'processed', 'failed'] as const;
export type XcmMessageStatus = (typeof XCM_STATUSES)[number];

/** A message followed by id: each step with its chain, block and time, and how it ended. */
export const trackedXcmSchema = z.object({
  v: z.literal(1),
  id: hex32,
  /** Transport hashes (blake2_256 of the bytes) known to carry this id. */
  hashes: z.array(hex32).max(64),
  origin: chain.optional(),
  destination: chain.optional(),
  status: z.enum(XCM_STATUSES),
  sent: step.optional(),
  delivered: step.optional(),
  /** The outcome on the destination (or the first one, while the destination is unknown). */
  processed: outcome.optional(),
  /** Every processing seen, including hops through other chains. */
  outcomes: z.array(outcome).max(64),
  overweight: step.optional(),
  duplicates: z.number().int().min(0),
  createdAt: z.number().int().min(0),
  updatedAt: z.number().int().min(0),
});
export type TrackedXcm = z.output<typeof trackedXcmSchema>;

export function isFinal(status: XcmMessageStatus): boolean {
  return status === 'processed' || status === 'failed';
}

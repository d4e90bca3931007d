import { type Address, type Hex, getAddress } from 'viem';
import { z } from 'zod';
import { InvalidInputError } from '../base/errors.js';
import type { FulfillmentInput, RequestRef } from './types.js';

/**
 * Schemas for EVM values that travel through queues and config (bytes as 0x-hex, integers as
 * decimal strings or numbers), so each end can check what it receives.
 */
const hex = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'an even-length 0x-hex string');
const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte 0x-hex value');
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte 0x-hex address')
  .transform((a) => getAddress(a));
const uint64 = z
  .union([z.bigint(), z.string().regex(/^[0-9]{1,20}$/, 'a decimal integer'), z.number().int()])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v < 2n ** 64n, 'a uint64');

export const requestRefSchema = z.strictObject({
  requestId: hex32,
  contractId: hex32,
  requester: address,
  callbackGasLimit: z.number().int().min(0).max(0xffffffff),
  deadline: uint64,
});

export const fulfillmentInputSchema = z.strictObject({
  request: requestRefSchema,
  publicOutput: hex,
  sealedOutput: hex,
  stateRoot: hex32,
});

/** A signature as the gateway takes it: 65 bytes, r ‖ s ‖ v. */
export const signatureSchema = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte 0x-hex signature');

function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${[what, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new InvalidInputError(what, `a valid ${what}`, { details: issues.join('; ') });
}

/** Checks an untrusted RequestRef (e.g. from a queue payload); throws InvalidInputError. */
export function parseRequestRef(value: unknown): RequestRef {
  const r = parseWith(requestRefSchema, value, 'request');
  return {
    ...r,
    requestId: r.requestId as Hex,
    contractId: r.contractId as Hex,
    requester: r.requester as Address,
  };
}

/** Checks an untrusted FulfillmentInput; throws InvalidInputError naming each bad field. */
export function parseFulfillmentInput(value: unknown): FulfillmentInput {
  const f = parseWith(fulfillmentInputSchema, value, 'fulfillment');
  return {
    request: parseRequestRef(f.request),
    publicOutput: f.publicOutput as Hex,
    sealedOutput: f.sealedOutput as Hex,
    stateRoot: f.stateRoot as Hex,
  };
}

import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';
import { LightClientError } from './errors.js';
import type { HeaderJson } from './header.js';

/** The one thing the light client needs from a node: JSON-RPC requests. Nothing it answers is trusted. */
export interface RpcTransport {
  request(method: string, params: unknown[]): Promise<unknown>;
}

/** An RpcTransport over a polkadot-js provider (`WsProvider`, `HttpProvider`). */
export function transportFromProvider(provider: {
  send(method: string, params: unknown[]): Promise<unknown>;
}): RpcTransport {
  return { request: (method, params) => provider.send(method, params) };
}

const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte 0x-hex value')
  .transform((s) => s.toLowerCase() as Hex);
const hexBytes = z
  .string()
  .regex(/^0x(?:[0-9a-fA-F]{2})*$/, '0x-hex bytes')
  .transform((s) => s.toLowerCase() as Hex);
const blockNumber = z
  .union([z.string().regex(/^0x[0-9a-fA-F]{1,8}$/), z.number().int().nonnegative()])
  .transform((v) => (typeof v === 'number' ? v : Number.parseInt(v.slice(2), 16)))
  .refine((n) => n <= 0xffffffff, 'a u32 block number');

export const headerJsonSchema: z.ZodType<HeaderJson, unknown> = z.object({
  parentHash: hex32,
  number: blockNumber,
  stateRoot: hex32,
  extrinsicsRoot: hex32,
  digest: z.object({ logs: z.array(hexBytes) }),
});

/** `ConsensusEngineId` ([u8; 4]): serde gives four numbers; accept its hex or text too. */
const engineId = z.union([
  z
    .array(z.number().int().min(0).max(255))
    .length(4)
    .transform((b) => String.fromCharCode(...b)),
  z
    .string()
    .regex(/^0x[0-9a-fA-F]{8}$/)
    .transform((s) => String.fromCharCode(...Buffer.from(s.slice(2), 'hex'))),
  z.string().length(4),
]);

export const signedBlockSchema = z.object({
  block: z.object({ header: headerJsonSchema, extrinsics: z.array(hexBytes) }),
  justifications: z
    .array(z.tuple([engineId, hexBytes]))
    .nullable()
    .optional(),
});

export const readProofSchema = z.object({ at: hex32, proof: z.array(hexBytes) });

export const hashSchema = hex32;
export const optionalHashSchema = hex32.nullable();
export const optionalHeaderSchema = headerJsonSchema.nullable();
export const optionalBytesSchema = hexBytes.nullable();

/** Sends a request and validates its answer; transport failures and bad shapes become LightClientErrors. */
export async function rpcCall<T>(
  transport: RpcTransport,
  method: string,
  params: unknown[],
  schema: z.ZodType<T, unknown>,
): Promise<T> {
  let answer: unknown;
  try {
    answer = await transport.request(method, params);
  } catch (error) {
    throw new LightClientError('rpc-error', `The node failed ${method}.`, {
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  const parsed = schema.safeParse(answer);
  if (!parsed.success) {
    throw new LightClientError('rpc-answer', `The node's answer to ${method} has the wrong shape.`, {
      details: z.prettifyError(parsed.error),
    });
  }
  return parsed.data;
}

import { type Address, getAddress, isAddress } from 'viem';
import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import type { EvmMessage } from '../evm/typed-data.js';

/**
 * One gatekeeper's EIP-712 signatures of one message for every EVM gateway it serves, as a
 * PhalaMq payload to DESTINATIONS.evmSignature (docs/gatekeeper.md#evm-signatures). UTF-8 JSON,
 * versioned, integers as decimal strings:
 *
 *   { "v": 1, "kind": "WorkerRegistration" | "ContractRegistration" | "WorkerRevocation"
 *                     | "GatekeeperSetUpdate",
 *     "message": { ...the EIP-712 fields... },
 *     "signatures": [ { "chainId": "31337", "gateway": "0x…", "signature": "0x…(65 bytes)" } ] }
 *
 * The relayer gathers the messages of all gatekeepers (evm/collector.ts), and once a gateway's
 * threshold of distinct gatekeepers signed the same digest, submits them in ascending signer order.
 */
const hex = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of 0x-hex`)
    .transform((s) => s.toLowerCase() as Hex);
const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), 'an address')
  .transform((s) => getAddress(s) as Address);
const u64 = z
  .string()
  .regex(/^\d{1,20}$/, 'a decimal u64')
  .transform((s) => BigInt(s))
  .refine((v) => v < 2n ** 64n, 'a u64');

const messageSchemas = {
  WorkerRegistration: z.strictObject({
    worker: address,
    measurement: hex(32),
    cluster: hex(32),
    expiresAt: u64,
    epoch: u64,
  }),
  ContractRegistration: z.strictObject({
    contractId: hex(32),
    cluster: hex(32),
    publicKey: hex(32),
    epoch: u64,
  }),
  WorkerRevocation: z.strictObject({ worker: address, revokeUpTo: u64, epoch: u64 }),
  GatekeeperSetUpdate: z.strictObject({
    gatekeepers: z.array(address).min(1).max(64),
    threshold: z.number().int().min(1).max(0xffff),
    epoch: u64,
  }),
} as const;

const signatureSchema = z.strictObject({
  chainId: u64,
  gateway: address,
  signature: hex(65),
});

const payloadSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('WorkerRegistration'),
    message: messageSchemas.WorkerRegistration,
    signatures: z.array(signatureSchema).min(1).max(256),
  }),
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('ContractRegistration'),
    message: messageSchemas.ContractRegistration,
    signatures: z.array(signatureSchema).min(1).max(256),
  }),
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('WorkerRevocation'),
    message: messageSchemas.WorkerRevocation,
    signatures: z.array(signatureSchema).min(1).max(256),
  }),
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('GatekeeperSetUpdate'),
    message: messageSchemas.GatekeeperSetUpdate,
    signatures: z.array(signatureSchema).min(1).max(256),
  }),
]);

export type GatewaySignature = { chainId: bigint; gateway: Address; signature: Hex };
export type EvmSignatureMessage = EvmMessage & { signatures: GatewaySignature[] };

function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

export function encodeEvmSignatureMessage(m: EvmSignatureMessage): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ v: 1, kind: m.kind, message: jsonSafe(m.message), signatures: jsonSafe(m.signatures) }),
  );
}

/** Parses an EVM signature message; throws InvalidInputError naming what is wrong. */
export function decodeEvmSignatureMessage(bytes: Uint8Array): EvmSignatureMessage {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InvalidInputError('EVM signature message', 'UTF-8 JSON');
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(
      `EVM signature message ${issue?.path.join('.') ?? ''}`.trim(),
      issue?.message ?? 'a v1 message',
    );
  }
  const { kind, message, signatures } = parsed.data;
  return { kind, message, signatures } as EvmSignatureMessage;
}

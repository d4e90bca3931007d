import { z } from 'zod';
import type { Hex } from '../base/bytes.js';
import { ChainDataError } from './errors.js';
import type { Plain } from './plain.js';

/**
 * Typed values of the Phala pallets, parsed (and checked) from plain chain data: a different
 * runtime or hostile data gives a ChainDataError naming what did not fit, never a crash.
 */

export const PALLETS = { registry: 'PhalaRegistry', contracts: 'PhalaContracts', mq: 'PhalaMq' } as const;

const hex = z.string().regex(/^0x([0-9a-f]{2})*$/, 'hex') as unknown as z.ZodType<Hex>;
const hexOf = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes of hex`) as unknown as z.ZodType<Hex>;
const hash = hexOf(32);
const key33 = hexOf(33);
const u32 = z.number().int().nonnegative();
const u64 = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));
const text = hex.transform((h) =>
  new TextDecoder('utf-8', { fatal: false }).decode(Buffer.from(h.slice(2), 'hex')),
);

export const requestOriginSchema = z.union([
  z.object({ Signed: hash }).transform((o) => ({ kind: 'signed' as const, account: o.Signed })),
  z.object({ Xcm: z.unknown() }).transform((o) => ({ kind: 'xcm' as const, location: o.Xcm as Plain })),
  z
    .record(z.string(), z.unknown())
    .refine((o) => Object.keys(o).length === 1, 'one variant')
    .transform((o) => {
      const [variant] = Object.keys(o);
      return { kind: 'other' as const, variant: variant!, value: o[variant!] as Plain };
    }),
]);
export type RequestOrigin = z.infer<typeof requestOriginSchema>;

export const workerStatusSchema = z.union([
  z.literal('Pending').transform(() => ({ kind: 'pending' as const })),
  z
    .object({ Approved: z.object({ measurement: hash, expiresAt: u64, approvedAt: u32 }) })
    .transform((s) => ({ kind: 'approved' as const, ...s.Approved })),
  z
    .object({ Rejected: z.object({ reason: text }) })
    .transform((s) => ({ kind: 'rejected' as const, reason: s.Rejected.reason })),
  z
    .object({ Revoked: z.object({ reason: text }) })
    .transform((s) => ({ kind: 'revoked' as const, reason: s.Revoked.reason })),
]);
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

export const workerInfoSchema = z.object({
  operator: hash,
  x25519: hash,
  cluster: hash,
  attestation: hex,
  registeredAt: u32,
  status: workerStatusSchema,
});
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

export const gatekeeperInfoSchema = z.object({ account: hash, x25519: hash, addedAt: u32 });
export type GatekeeperInfo = z.infer<typeof gatekeeperInfoSchema>;

export const masterKeySchema = z.object({ publicKey: hex, epoch: u64, rotatedAt: u32, rotatedBy: key33 });
export type MasterKey = z.infer<typeof masterKeySchema>;

export const contractKeySchema = z.object({
  publicKey: hash,
  epoch: u64,
  publishedBy: key33,
  publishedAt: u32,
});
export type ContractKey = z.infer<typeof contractKeySchema>;

/** `CodeInfo.kind`: what the uploaded code is (docs/wasm-host-interface.md). */
export const codeKindSchema = z.enum(['Js', 'Wasm']).transform((k) => (k === 'Wasm' ? 'wasm' : 'js'));

export const codeInfoSchema = z.object({
  uploader: hash,
  codeSize: u32,
  uploadedAt: u32,
  kind: codeKindSchema,
});
export type CodeInfo = z.infer<typeof codeInfoSchema>;

export const contractInfoSchema = z.object({
  deployer: hash,
  codeHash: hash,
  cluster: hash,
  salt: hex,
  instantiatedAt: u32,
});
export type ContractInfo = z.infer<typeof contractInfoSchema>;

export const contractStateSchema = z.object({
  version: u64,
  state: hex,
  stateRoot: hash,
  committedBy: key33,
  committedAt: u32,
});
export type ContractState = z.infer<typeof contractStateSchema>;

export const requestSchema = z.object({
  origin: requestOriginSchema,
  contractId: hash,
  sealedInput: hex,
  responseKey: hash,
  deadline: u32,
  nonce: u64,
  createdAt: u32,
});
export type Request = z.infer<typeof requestSchema>;

export const fulfillmentSchema = z.object({
  publicOutput: hex,
  sealedOutput: hex,
  stateRoot: hash,
  worker: key33,
  fulfilledAt: u32,
});
export type Fulfillment = z.infer<typeof fulfillmentSchema>;

export const messageSenderSchema = z.union([
  z.object({ Worker: key33 }).transform((s) => ({ kind: 'worker' as const, key: s.Worker })),
  z.object({ Gatekeeper: key33 }).transform((s) => ({ kind: 'gatekeeper' as const, key: s.Gatekeeper })),
]);

/** Every event of the Phala pallets, by name. */
const eventSchemas = {
  PhalaRegistry: {
    GatekeeperAdded: z.object({ gatekeeper: key33, account: hash, x25519: hash }),
    GatekeeperRemoved: z.object({ gatekeeper: key33 }),
    MeasurementAdded: z.object({ measurement: hash }),
    MeasurementRemoved: z.object({ measurement: hash }),
    ApprovalThresholdSet: z.object({ threshold: u32 }),
    WorkerRegistered: z.object({
      worker: key33,
      operator: hash,
      cluster: hash,
      x25519: hash,
      attestation: hex,
    }),
    WorkerApprovalAdded: z.object({ worker: key33, gatekeeper: key33, approvals: u32 }),
    WorkerApproved: z.object({ worker: key33, cluster: hash, measurement: hash, expiresAt: u64 }),
    WorkerRejected: z.object({ worker: key33, reason: text }),
    WorkerRevoked: z.object({ worker: key33, reason: text }),
    MasterKeyRotated: z.object({ epoch: u64, publicKey: hex, gatekeeper: key33 }),
    ContractKeyPublished: z.object({ contractId: hash, epoch: u64, publicKey: hash, gatekeeper: key33 }),
  },
  PhalaContracts: {
    CodeUploaded: z.object({ codeHash: hash, uploader: hash, codeSize: u32, kind: codeKindSchema }),
    Instantiated: z.object({ contractId: hash, deployer: hash, codeHash: hash, cluster: hash, salt: hex }),
    RequestSubmitted: z.object({
      requestId: hash,
      origin: requestOriginSchema,
      contractId: hash,
      sealedInput: hex,
      responseKey: hash,
      deadline: u32,
      nonce: u64,
    }),
    RequestFulfilled: z.object({
      requestId: hash,
      contractId: hash,
      worker: key33,
      publicOutput: hex,
      sealedOutput: hex,
      stateRoot: hash,
    }),
    StateCommitted: z.object({
      contractId: hash,
      version: u64,
      stateRoot: hash,
      worker: key33,
      requestIds: z.array(hash),
    }),
    RequestCancelled: z.object({ requestId: hash, contractId: hash }),
  },
  PhalaMq: {
    MessageReceived: z.object({ sender: messageSenderSchema, destination: hex, sequence: u64, payload: hex }),
  },
} as const;

type Schemas = typeof eventSchemas;
export type PhalaEvent = {
  [P in keyof Schemas]: {
    [N in keyof Schemas[P]]: { pallet: P; type: N } & z.infer<Schemas[P][N] & z.ZodType>;
  }[keyof Schemas[P]];
}[keyof Schemas];
export type PhalaEventOf<N extends PhalaEvent['type']> = Extract<PhalaEvent, { type: N }>;

/** Parses a decoded event of a Phala pallet; null for events of other pallets. */
export function parsePhalaEvent(event: {
  pallet: string;
  name: string;
  fields: Record<string, Plain>;
}): PhalaEvent | null {
  const pallet = eventSchemas[event.pallet as keyof Schemas] as Record<string, z.ZodType> | undefined;
  if (!pallet) return null;
  const schema = pallet[event.name];
  if (!schema) throw new ChainDataError(`unknown event ${event.pallet}.${event.name}`);
  const parsed = schema.safeParse(event.fields);
  if (!parsed.success) {
    throw new ChainDataError(`${event.pallet}.${event.name}`, { details: z.prettifyError(parsed.error) });
  }
  return { pallet: event.pallet, type: event.name, ...(parsed.data as object) } as PhalaEvent;
}

/** Parses chain data with a schema, or throws ChainDataError naming `what`. */
export function parseChainData<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ChainDataError(what, { details: z.prettifyError(parsed.error) });
  return parsed.data;
}

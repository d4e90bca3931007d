import { z } from 'zod';
import { tcbStatuses } from './types.js';

/**
 * DCAP collateral as the verifier takes it: the JSON layout of dcap-qvl's QuoteCollateralV3 (and
 * of ../shared/vectors/sgx/*_collateral.json). `tcb_info` and `qe_identity` are the exact JSON
 * text Intel signed; signatures are raw r‖s hex; CRLs are DER hex; issuer chains are PEM.
 */
const hex = z.string().regex(/^(0x)?([0-9a-fA-F]{2})+$/, 'hex bytes');
const pem = z
  .string()
  .min(1)
  .max(64 * 1024);

export const dcapCollateralSchema = z.object({
  pck_crl_issuer_chain: pem,
  root_ca_crl: hex,
  pck_crl: hex,
  tcb_info_issuer_chain: pem,
  tcb_info: z
    .string()
    .min(2)
    .max(1 << 20),
  tcb_info_signature: hex,
  qe_identity_issuer_chain: pem,
  qe_identity: z
    .string()
    .min(2)
    .max(1 << 20),
  qe_identity_signature: hex,
});
export type DcapCollateral = z.infer<typeof dcapCollateralSchema>;

export function hexBytes(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value.replace(/^0x/, ''), 'hex'));
}

// Intel's PCS dates: RFC 3339 in UTC ("2025-06-19T10:56:11Z", sometimes with fractional seconds).
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'an RFC 3339 UTC date')
  .transform((s, ctx) => {
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'an impossible date' });
      return z.NEVER;
    }
    return Math.floor(ms / 1000);
  });
const status = z.enum(tcbStatuses);
const svn = z.number().int().min(0).max(255);
const component = z.object({ svn });
const advisoryIds = z.array(z.string().max(64)).max(256).default([]);
const fixedHex = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of hex`)
    .transform((s) => new Uint8Array(Buffer.from(s, 'hex')));

// TCB info v3 lists components; v2 (SGX only) names them sgxtcbcomp01svn .. sgxtcbcomp16svn.
const tcbV3 = z.object({
  sgxtcbcomponents: z.array(component).length(16),
  pcesvn: z.number().int().min(0).max(0xffff),
  tdxtcbcomponents: z.array(component).length(16).optional(),
});
const tcbV2 = z.object(
  Object.fromEntries([
    ...Array.from({ length: 16 }, (_, i) => [`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`, svn]),
    ['pcesvn', z.number().int().min(0).max(0xffff)],
  ]),
);

const tcbLevel = z.object({
  tcb: z.union([tcbV3, tcbV2]),
  tcbDate: isoDate,
  tcbStatus: status,
  advisoryIDs: advisoryIds,
});

const moduleTcbLevel = z.object({
  tcb: z.object({ isvsvn: svn }),
  tcbDate: isoDate,
  tcbStatus: z.enum(['UpToDate', 'OutOfDate', 'Revoked']),
  advisoryIDs: advisoryIds,
});

const tdxModule = z.object({
  mrsigner: fixedHex(48),
  attributes: fixedHex(8),
  attributesMask: fixedHex(8),
});

export const tcbInfoSchema = z.object({
  id: z.enum(['SGX', 'TDX']).optional(),
  version: z.union([z.literal(2), z.literal(3)]),
  issueDate: isoDate,
  nextUpdate: isoDate,
  fmspc: fixedHex(6),
  pceId: fixedHex(2),
  tcbType: z.number().int().min(0),
  tcbEvaluationDataNumber: z.number().int().min(0),
  tdxModule: tdxModule.optional(),
  tdxModuleIdentities: z
    .array(tdxModule.extend({ id: z.string().max(32), tcbLevels: z.array(moduleTcbLevel).max(256) }))
    .max(64)
    .optional(),
  tcbLevels: z.array(tcbLevel).min(1).max(1024),
});

export const qeIdentitySchema = z.object({
  id: z.enum(['QE', 'TD_QE', 'QVE']),
  version: z.literal(2),
  issueDate: isoDate,
  nextUpdate: isoDate,
  tcbEvaluationDataNumber: z.number().int().min(0),
  miscselect: fixedHex(4),
  miscselectMask: fixedHex(4),
  attributes: fixedHex(16),
  attributesMask: fixedHex(16),
  mrsigner: fixedHex(32),
  isvprodid: z.number().int().min(0).max(0xffff),
  tcbLevels: z
    .array(
      z.object({
        tcb: z.object({ isvsvn: z.number().int().min(0).max(0xffff) }),
        tcbDate: isoDate,
        tcbStatus: z.enum(['UpToDate', 'OutOfDate', 'Revoked']),
        advisoryIDs: advisoryIds,
      }),
    )
    .min(1)
    .max(256),
});

export type TcbInfo = z.output<typeof tcbInfoSchema>;
export type QeIdentity = z.output<typeof qeIdentitySchema>;
export type TcbLevel = TcbInfo['tcbLevels'][number];

/** A TCB level's SGX and TDX component SVNs, whichever TCB info version wrote them. */
export function levelComponents(level: TcbLevel): { sgx: number[]; pceSvn: number; tdx: number[] | null } {
  const tcb = level.tcb as Record<string, unknown>;
  if (Array.isArray(tcb.sgxtcbcomponents)) {
    const v3 = level.tcb as z.output<typeof tcbV3>;
    return {
      sgx: v3.sgxtcbcomponents.map((c) => c.svn),
      pceSvn: v3.pcesvn,
      tdx: v3.tdxtcbcomponents ? v3.tdxtcbcomponents.map((c) => c.svn) : null,
    };
  }
  const sgx = Array.from({ length: 16 }, (_, i) => tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`]);
  return { sgx: sgx as number[], pceSvn: tcb.pcesvn as number, tdx: null };
}

import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';

/**
 * What a verification says (docs/attestation.md). A verifier never throws on hostile input: every
 * failure is a reason with a stable code, so the gatekeeper can record it on chain and tests can
 * assert it.
 */
export const reasonCodes = [
  // the quote itself
  'Malformed',
  'UnsupportedQuoteVersion',
  'UnsupportedAttestationKeyType',
  'UnsupportedQeVendor',
  'UnsupportedCertificationData',
  'BadQuoteSignature',
  'BadQeReportSignature',
  'QeReportDataMismatch',
  // certificate chains
  'BadCertificateChain',
  'UntrustedRoot',
  'CertificateExpired',
  'CertificateNotYetValid',
  'Revoked',
  // collateral
  'MissingCollateral',
  'MalformedCollateral',
  'BadCollateralSignature',
  'CollateralExpired',
  'CollateralNotYetValid',
  'CrlIssuerMismatch',
  'TcbInfoMismatch',
  'QeIdentityMismatch',
  'TdxModuleMismatch',
  'TcbLevelNotFound',
  'TcbRevoked',
  // policy
  'TcbStatusNotAccepted',
  'DebugEnclave',
  'TdAttributesNotAllowed',
  'ServiceTdBound',
  'MeasurementNotAllowed',
  // measurement policy, field by field (measurement-policy.ts)
  'MrTdMismatch',
  'RtmrMismatch',
  'MrConfigIdMismatch',
  'MrOwnerMismatch',
  'MrOwnerConfigMismatch',
  'MrEnclaveMismatch',
  'MrSignerMismatch',
  'IsvProdIdMismatch',
  'IsvSvnTooLow',
  'ConfigIdMismatch',
  'ConfigSvnTooLow',
  'TcbEvaluationTooOld',
  // collateral freshness (collateral-freshness.ts)
  'StaleCollateral',
  // quote freshness (src/gatekeeper/approvals/judge.ts)
  'QuoteFreshnessMissing',
  'QuoteFreshnessMismatch',
  'QuoteStale',
  'ReportDataMismatch',
  'SimNotAllowed',
  'Expired',
  'NotYetValid',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

export type AttestationReason = { code: ReasonCode; detail: string };

import { measurementRuleSchema } from './measurement-rule.js';
import { acceptableTcbStatuses, type TcbStatus, tcbStatuses } from './statuses.js';

export { acceptableTcbStatuses, type TcbStatus, tcbStatuses };

export type Tee = 'sim' | 'sgx' | 'tdx';

export type AttestationResult = {
  /** True only when every check passed: signatures, chains, collateral, status, measurement, report data. */
  ok: boolean;
  tee: Tee | null;
  /** MRENCLAVE (SGX), MRTD (TDX) or the sim measurement; null when the quote could not be parsed. */
  measurement: Hex | null;
  /**
   * The 32-byte id the chain's allowlist names the admitted rule by (measurement-policy.ts): the
   * quote's exact id when no rule admitted it.
   */
  measurementId?: Hex | null;
  reportData: Hex | null;
  /** Sim quotes carry their issue time (unix seconds); DCAP quotes do not. */
  issuedAt: number | null;
  /** Merged TCB status; null without verified collateral (and for sim quotes). */
  tcbStatus: TcbStatus | null;
  advisoryIds: string[];
  reasons: AttestationReason[];
  /**
   * The window in which everything this verdict relied on is valid (certificates, CRLs, TCB info,
   * QE identity; for sim, issuedAt .. issuedAt + max age): re-verify before `validUntil`.
   */
  validFrom: number | null;
  validUntil: number | null;
  /** Identity fields a gatekeeper may also want to match (hex). */
  details: Record<string, string | number>;
};

const hexString = z
  .string()
  .regex(/^(0x)?([0-9a-fA-F]{2})+$/, 'hex bytes')
  .transform((s) => `0x${s.replace(/^0x/, '').toLowerCase()}` as Hex);

export const attestationPolicySchema = z.strictObject({
  /** production refuses sim quotes unless allowSimInProduction says so in so many words. */
  mode: z.enum(['development', 'production']).default('production'),
  /**
   * Allowed measurement ids (32 bytes, docs/attestation.md#measurement-policy): a quote's exact id
   * (MRENCLAVE, the sim measurement, the TDX full-tuple hash) or a rule's id. A raw 48-byte MRTD
   * still pins the firmware alone (local diagnostics; the chain never lists one). Empty allows none.
   */
  allowedMeasurements: z.array(hexString).default([]),
  /** Rules that may leave fields out (SGX by MRSIGNER + minimum ISVSVN...): admitted when their id is allowed. */
  measurementRules: z.array(measurementRuleSchema).max(256).default([]),
  /** The lowest Intel TCB evaluation data number (TCB info and QE identity) accepted for DCAP collateral. */
  minTcbEvaluationDataNumber: z.number().int().min(0).default(0),
  /**
   * Whether a registration must carry quote freshness (a recent finalized block hash in the report
   * data, docs/attestation.md#quote-freshness); default: in production mode. When present it is
   * always checked.
   */
  requireQuoteFreshness: z.boolean().optional(),
  acceptTcbStatuses: z
    .array(z.enum(acceptableTcbStatuses as [string, ...string[]]))
    .default(['UpToDate'])
    .transform((a) => a as TcbStatus[]),
  /** Ed25519 public keys of simulated platform CAs (development only). */
  simPlatformCas: z.array(hexString.refine((h) => h.length === 66, 'a 32-byte key')).default([]),
  allowSimInProduction: z.boolean().default(false),
  quoteMaxAgeSeconds: z
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  maxClockSkewSeconds: z.number().int().min(0).max(3600).default(60),
  /** SGX DEBUG attribute / TD debug bit: never in production unless said here. */
  allowDebug: z.boolean().default(false),
  /** A TD 1.5 quote bound to a service TD (non-zero MRSERVICETD). */
  allowServiceTd: z.boolean().default(false),
});
export type AttestationPolicy = z.output<typeof attestationPolicySchema>;
export type AttestationPolicyInput = z.input<typeof attestationPolicySchema>;

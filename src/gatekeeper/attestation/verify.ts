import { InvalidInputError } from '../../base/errors.js';
import { SIM_QUOTE_MAGIC } from '../../crypto/sim-quote.js';
import {
  type AttestationPolicy,
  type AttestationPolicyInput,
  type AttestationResult,
  attestationPolicySchema,
} from './types.js';
import { verifyDcapQuote } from './verify-dcap.js';
import { verifySimQuote } from './verify-sim.js';

export type VerifyQuoteParameters = {
  /** The gatekeeper's policy (parsed here when given as input; a bad policy throws: it is config). */
  policy: AttestationPolicy | AttestationPolicyInput;
  /** DCAP collateral in the layout of dcap-qvl's QuoteCollateralV3 JSON (hostile: validated). */
  collateral?: unknown;
  /** Verification time, unix seconds; defaults to now. */
  at?: number;
  /** The 64 report-data bytes the quote must carry (docs/PROTOCOL.md §5, reportDataFor). */
  expectedReportData?: Uint8Array;
  /** Replaces the pinned Intel SGX Root CA (DER); for private test PKIs only. */
  trustAnchor?: Uint8Array;
};
export type VerifyQuoteReturnType = AttestationResult;

export function parseAttestationPolicy(policy: AttestationPolicyInput): AttestationPolicy {
  const parsed = attestationPolicySchema.safeParse(policy);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(
      `attestation policy ${issue?.path.join('.') ?? ''}`.trim(),
      issue?.message ?? 'valid',
    );
  }
  return parsed.data;
}

const parsedPolicies = new WeakMap<object, AttestationPolicy>();

function policyOf(policy: AttestationPolicy | AttestationPolicyInput): AttestationPolicy {
  let parsed = parsedPolicies.get(policy);
  if (!parsed) {
    parsed = parseAttestationPolicy(policy as AttestationPolicyInput);
    parsedPolicies.set(policy, parsed);
  }
  return parsed;
}

/**
 * Verifies a worker's or gatekeeper's attestation quote: a sim quote (development) or an Intel
 * SGX/TDX DCAP quote. Returns `{ ok, tee, measurement, reportData, issuedAt, tcbStatus,
 * advisoryIds, reasons, validFrom, validUntil, details }`; never throws on hostile bytes or
 * collateral.
 */
export function verifyQuote(bytes: Uint8Array, parameters: VerifyQuoteParameters): VerifyQuoteReturnType {
  const policy = policyOf(parameters.policy);
  const at = parameters.at ?? Math.floor(Date.now() / 1000);
  if (!Number.isFinite(at)) throw new InvalidInputError('at', 'unix seconds');
  const isSim = bytes.length >= 4 && SIM_QUOTE_MAGIC.every((b, i) => bytes[i] === b);
  if (isSim) return verifySimQuote(bytes, { policy, at, expectedReportData: parameters.expectedReportData });
  return verifyDcapQuote(bytes, {
    policy,
    at,
    collateral: parameters.collateral,
    expectedReportData: parameters.expectedReportData,
    trustAnchor: parameters.trustAnchor,
  });
}

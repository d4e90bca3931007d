import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { sha256 } from '../../crypto/hash.js';
import { reportDataFor } from '../../crypto/report-data.js';
import {
  type AttestationPolicy,
  type AttestationResult,
  type ReasonCode,
  parseAttestationPolicy,
  verifyQuote,
} from '../attestation/index.js';
import { decodeAttestationBundle } from './attestation-bundle.js';

/**
 * Decides whether a registration is trusted (docs/gatekeeper.md#approvals): the attestation
 * verifies under the policy, its measurement is on the chain's allowlist, its report data binds
 * exactly the registered keys (reportDataFor(secp256k1, x25519)), and the resulting approval would
 * not already be expired. Pure and deterministic: every gatekeeper given the same chain facts
 * reaches the same verdict with the same measurement and expiry, so their approvals agree (the
 * chain counts only agreeing approvals toward the threshold).
 */

/** Reasons beyond the verifier's: the registration itself. */
export type JudgementReasonCode = ReasonCode | 'RegistrationExpired' | 'InvalidKey';
export type JudgementReason = { code: JudgementReasonCode; detail: string };

export type Candidate = {
  /** Compressed secp256k1 key (33 bytes). */
  secp256k1: Uint8Array;
  x25519: Uint8Array;
  cluster: Uint8Array;
  /** The registration's attestation bytes (a quote or a bundle, attestation-bundle.ts). */
  attestation: Uint8Array;
};

export type JudgeParameters = {
  candidate: Candidate;
  /** The gatekeeper's policy; its allowlist is replaced by `allowedMeasurements`. */
  policy: AttestationPolicy;
  /** On-chain measurement ids (32-byte hex, lower case). */
  allowedMeasurements: readonly Hex[];
  /** Verification time: the registration block's timestamp (unix s), the same for every gatekeeper. */
  at: number;
  /** The chain's current time (unix s): an approval must expire after it. */
  now: number;
  registrationTtlSeconds: number;
  /** Collateral for a bare DCAP quote (a bundle brings its own). */
  collateral?: unknown;
  /** Private test PKIs only (attestation verifier's trust anchor). */
  trustAnchor?: Uint8Array;
};

export type Judgement =
  | { ok: true; measurement: Hex; expiresAt: bigint; result: AttestationResult }
  | { ok: false; reasons: JudgementReason[]; reason: string; result: AttestationResult | null };

/** Longest reason the registry stores (PhalaRegistry MaxReasonLength). */
export const MAX_REASON_BYTES = 256;

/**
 * The measurement as the chain names it (32 bytes): MRENCLAVE and sim measurements as they are,
 * a TDX MRTD (48 bytes) as sha256(MRTD), since the allowlist and the EVM registration hold bytes32.
 */
export function chainMeasurementOf(measurement: Hex): Hex {
  const bytes = fromHex(measurement, 'measurement');
  return bytes.length === 32 ? toHex(bytes) : toHex(sha256(bytes));
}

function policyWith(policy: AttestationPolicy, allowed: readonly Hex[]): AttestationPolicy {
  return parseAttestationPolicy({ ...policy, allowedMeasurements: [...allowed] });
}

export function judgeCandidate(p: JudgeParameters): Judgement {
  const { candidate } = p;
  let expected: Uint8Array;
  try {
    expected = reportDataFor(candidate.secp256k1, candidate.x25519);
  } catch (error) {
    return reject([{ code: 'InvalidKey', detail: (error as Error).message }], null);
  }
  let bundle: ReturnType<typeof decodeAttestationBundle>;
  try {
    bundle = decodeAttestationBundle(candidate.attestation);
  } catch (error) {
    return reject([{ code: 'Malformed', detail: (error as Error).message }], null);
  }
  const allowed = p.allowedMeasurements.map((m) => m.toLowerCase() as Hex);
  const verify = (list: readonly Hex[]) =>
    verifyQuote(bundle.quote, {
      policy: policyWith(p.policy, list),
      collateral: bundle.collateral ?? p.collateral,
      at: p.at,
      expectedReportData: expected,
      trustAnchor: p.trustAnchor,
    });
  let result = verify(allowed);
  // A TDX MRTD is 48 bytes; the chain lists it as sha256(MRTD): allow the full form it stands for.
  if (result.tee === 'tdx' && result.measurement && allowed.includes(chainMeasurementOf(result.measurement)))
    result = verify([result.measurement]);
  if (!result.ok || !result.measurement) {
    const reasons: JudgementReason[] = result.reasons.length
      ? result.reasons
      : [{ code: 'Malformed', detail: 'no measurement' }];
    return reject(reasons, result);
  }
  let expiresAt = p.at + p.registrationTtlSeconds;
  // DCAP verdicts rest on collateral (CRLs, TCB info) valid until validUntil; past it, revocations
  // are unknown, so the approval ends there. A sim quote's window is only its freshness at `at`.
  if (result.tee !== 'sim' && result.validUntil !== null) expiresAt = Math.min(expiresAt, result.validUntil);
  if (expiresAt <= p.now)
    return reject(
      [
        {
          code: 'RegistrationExpired',
          detail: `the approval would have expired at ${expiresAt} (now ${p.now})`,
        },
      ],
      result,
    );
  return {
    ok: true,
    measurement: chainMeasurementOf(result.measurement),
    expiresAt: BigInt(expiresAt),
    result,
  };
}

function reject(reasons: JudgementReason[], result: AttestationResult | null): Judgement {
  return { ok: false, reasons, reason: reasonText(reasons), result };
}

/** "Code1,Code2: detail of the first", cut to MAX_REASON_BYTES of UTF-8 on a character boundary. */
export function reasonText(reasons: readonly JudgementReason[]): string {
  const codes = [...new Set(reasons.map((r) => r.code))].join(',');
  const text = reasons[0] ? `${codes}: ${reasons[0].detail}` : 'Rejected';
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= MAX_REASON_BYTES) return text;
  let cut = MAX_REASON_BYTES;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return new TextDecoder().decode(bytes.subarray(0, cut));
}

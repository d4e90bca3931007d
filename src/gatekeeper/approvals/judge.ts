import { type Hex, equalBytes, fromHex, toHex } from '../../base/bytes.js';
import { sha256 } from '../../crypto/hash.js';
import { QUOTE_FRESHNESS_BLOCKS, reportDataFor } from '../../crypto/report-data.js';
import { chooseCollateral } from '../attestation/collateral-freshness.js';
import {
  type AttestationPolicy,
  type AttestationResult,
  type ReasonCode,
  parseAttestationPolicy,
  verifyQuote,
} from '../attestation/index.js';
import { type AttestationBundle, decodeAttestationBundle } from './attestation-bundle.js';

/**
 * Decides whether a registration is trusted (docs/gatekeeper.md#approvals): the attestation
 * verifies under the policy with the fresher collateral (the gatekeeper's own unless the bundle's
 * is newer; an older bundle is refused), its measurement id is on the chain's allowlist
 * (docs/attestation.md#measurement-policy), its report data binds exactly the registered keys and
 * a recent finalized block the registration names (docs/attestation.md#quote-freshness), and the
 * resulting approval would not already be expired. Pure and deterministic: every gatekeeper given
 * the same chain facts reaches the same verdict with the same measurement id and expiry, so their
 * approvals agree (the chain counts only agreeing approvals toward the threshold).
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

/**
 * The chain facts quote freshness is judged by, read by the host from the finalized chain: the
 * registration's block, and the hash of the block its attestation names (null when the chain has
 * no such block, or it is not before the registration). Without them (a gatekeeper's quote to its
 * peers) the report data must end in zeros.
 */
export type FreshnessFacts = { registeredAt: number; namedBlockHash: Uint8Array | null };

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
  /** The gatekeeper's own DCAP collateral (wins over a bundle's unless that is newer). */
  collateral?: unknown;
  /** Private test PKIs only (attestation verifier's trust anchor). */
  trustAnchor?: Uint8Array;
  freshness?: FreshnessFacts | undefined;
};

export type Judgement =
  | { ok: true; measurement: Hex; expiresAt: bigint; result: AttestationResult }
  | { ok: false; reasons: JudgementReason[]; reason: string; result: AttestationResult | null };

/** Longest reason the registry stores (PhalaRegistry MaxReasonLength). */
export const MAX_REASON_BYTES = 256;

/**
 * The legacy 32-byte name of a raw measurement: MRENCLAVE and sim measurements as they are, a TDX
 * MRTD as sha256(MRTD). No longer what the chain lists for TDX (the measurement id covers RTMR0–3
 * and the config fields, docs/attestation.md#measurement-policy); kept for reading old allowlists.
 */
export function chainMeasurementOf(measurement: Hex): Hex {
  const bytes = fromHex(measurement, 'measurement');
  return bytes.length === 32 ? toHex(bytes) : toHex(sha256(bytes));
}

function policyWith(policy: AttestationPolicy, allowed: readonly Hex[]): AttestationPolicy {
  return parseAttestationPolicy({ ...policy, allowedMeasurements: [...allowed] });
}

type Freshness = { expected: Uint8Array } | { reasons: JudgementReason[] };

/** The report data the quote must carry, or why its freshness fails before the quote is read. */
function expectedReportData(
  candidate: Candidate,
  bundle: AttestationBundle,
  facts: FreshnessFacts | undefined,
  required: boolean,
): Freshness {
  const keysOnly = () => reportDataFor(candidate.secp256k1, candidate.x25519);
  const named = bundle.freshnessBlock;
  if (named === undefined) {
    if (facts && required)
      return {
        reasons: [
          {
            code: 'QuoteFreshnessMissing',
            detail: 'the registration names no finalized block for its quote (a v2 attestation bundle)',
          },
        ],
      };
    return { expected: keysOnly() };
  }
  if (!facts)
    return {
      reasons: [{ code: 'QuoteStale', detail: `block ${named} is named where no chain block is expected` }],
    };
  const age = facts.registeredAt - named;
  if (age <= 0 || age > QUOTE_FRESHNESS_BLOCKS || !facts.namedBlockHash)
    return {
      reasons: [
        {
          code: 'QuoteStale',
          detail: `the quote names block ${named}; registered in block ${facts.registeredAt}, it must be one of the ${QUOTE_FRESHNESS_BLOCKS} blocks before`,
        },
      ],
    };
  return { expected: reportDataFor(candidate.secp256k1, candidate.x25519, facts.namedBlockHash) };
}

export function judgeCandidate(p: JudgeParameters): Judgement {
  const { candidate } = p;
  try {
    reportDataFor(candidate.secp256k1, candidate.x25519);
  } catch (error) {
    return reject([{ code: 'InvalidKey', detail: (error as Error).message }], null);
  }
  let bundle: AttestationBundle;
  try {
    bundle = decodeAttestationBundle(candidate.attestation);
  } catch (error) {
    return reject([{ code: 'Malformed', detail: (error as Error).message }], null);
  }
  const required = p.policy.requireQuoteFreshness ?? p.policy.mode === 'production';
  const freshness = expectedReportData(candidate, bundle, p.freshness, required);
  if ('reasons' in freshness) return reject(freshness.reasons, null);
  const collateral = chooseCollateral(p.collateral, bundle.collateral);
  if (!collateral.ok) return reject([collateral.reason], null);
  const result = verifyQuote(bundle.quote, {
    policy: policyWith(
      p.policy,
      p.allowedMeasurements.map((m) => m.toLowerCase() as Hex),
    ),
    collateral: collateral.collateral,
    at: p.at,
    expectedReportData: freshness.expected,
    trustAnchor: p.trustAnchor,
  });
  if (!result.ok || !result.measurementId) {
    const reasons: JudgementReason[] = result.reasons.length
      ? result.reasons.map((r) =>
          r.code === 'ReportDataMismatch' ? reportDataReason(result, freshness.expected) : r,
        )
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
  return { ok: true, measurement: result.measurementId, expiresAt: BigInt(expiresAt), result };
}

/** A report data mismatch in the freshness half only is a replayed or mislabelled quote. */
function reportDataReason(result: AttestationResult, expected: Uint8Array): JudgementReason {
  const actual = result.reportData ? fromHex(result.reportData) : new Uint8Array(0);
  if (actual.length === 64 && equalBytes(actual.subarray(0, 32), expected.subarray(0, 32)))
    return {
      code: 'QuoteFreshnessMismatch',
      detail: 'the quote binds these keys but not the block the registration names (an old quote replayed?)',
    };
  return { code: 'ReportDataMismatch', detail: 'report data does not bind the registered keys' };
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

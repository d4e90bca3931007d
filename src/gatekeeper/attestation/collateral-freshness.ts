import { z } from 'zod';
import type { AttestationReason } from './types.js';

/**
 * Which DCAP collateral judges a quote (docs/attestation.md#collateral-freshness): the worker may
 * bundle collateral with its quote, the gatekeeper keeps its own (fetched from Intel PCS, fresher).
 *
 * - Bundled collateral older than the gatekeeper's is refused (`StaleCollateral`): a lower TCB
 *   evaluation data number (Intel's counter, raised for every TCB re-rating, the same across
 *   platforms), or the same number and an earlier TCB info issue date for the same FMSPC. Old
 *   collateral could still rate a since-downgraded platform UpToDate.
 * - Otherwise the gatekeeper's own wins when it covers the same platform (FMSPC) and is not older;
 *   bundled collateral is used only for another platform or when it is strictly newer.
 *
 * Only the ordering fields are read here, unverified; the verifier then checks every signature of
 * the collateral chosen (a forged date gains nothing: the forged collateral fails there).
 */
const ordering = z.object({
  tcb_info: z.string(),
  qe_identity: z.string(),
});
const datedJson = z.object({
  issueDate: z.string().transform((s) => Date.parse(s)),
  tcbEvaluationDataNumber: z.number().int().min(0),
  fmspc: z.string().optional(),
});

type Freshness = { evaluation: number; issuedAt: number; fmspc: string | null };

function freshnessOf(collateral: unknown): Freshness | null {
  const c = ordering.safeParse(collateral);
  if (!c.success) return null;
  try {
    const tcb = datedJson.safeParse(JSON.parse(c.data.tcb_info));
    const qe = datedJson.safeParse(JSON.parse(c.data.qe_identity));
    if (!tcb.success || !qe.success || Number.isNaN(tcb.data.issueDate)) return null;
    return {
      evaluation: Math.min(tcb.data.tcbEvaluationDataNumber, qe.data.tcbEvaluationDataNumber),
      issuedAt: Math.floor(tcb.data.issueDate / 1000),
      fmspc: tcb.data.fmspc?.toLowerCase() ?? null,
    };
  } catch {
    return null;
  }
}

export type CollateralChoice =
  | { ok: true; collateral: unknown; source: 'gatekeeper' | 'bundle' | 'none' }
  | { ok: false; reason: AttestationReason };

const none = (v: unknown) => v === undefined || v === null;

export function chooseCollateral(own: unknown, bundled: unknown): CollateralChoice {
  if (none(bundled))
    return none(own)
      ? { ok: true, collateral: undefined, source: 'none' }
      : { ok: true, collateral: own, source: 'gatekeeper' };
  if (none(own)) return { ok: true, collateral: bundled, source: 'bundle' };
  const mine = freshnessOf(own);
  // The gatekeeper's own is unreadable (its config): the bundle is all there is to judge by.
  if (!mine) return { ok: true, collateral: bundled, source: 'bundle' };
  const theirs = freshnessOf(bundled);
  if (!theirs)
    return {
      ok: false,
      reason: {
        code: 'MalformedCollateral',
        detail: 'bundled collateral: no TCB info / QE identity dates to order it by',
      },
    };
  if (theirs.evaluation < mine.evaluation)
    return {
      ok: false,
      reason: {
        code: 'StaleCollateral',
        detail: `bundled collateral has TCB evaluation data number ${theirs.evaluation}, the gatekeeper's ${mine.evaluation}`,
      },
    };
  const samePlatform = theirs.fmspc !== null && theirs.fmspc === mine.fmspc;
  if (!samePlatform) return { ok: true, collateral: bundled, source: 'bundle' };
  if (theirs.evaluation === mine.evaluation && theirs.issuedAt < mine.issuedAt)
    return {
      ok: false,
      reason: {
        code: 'StaleCollateral',
        detail: `bundled TCB info issued ${new Date(theirs.issuedAt * 1000).toISOString()}, before the gatekeeper's ${new Date(mine.issuedAt * 1000).toISOString()}`,
      },
    };
  const newer = theirs.evaluation > mine.evaluation || theirs.issuedAt > mine.issuedAt;
  return newer
    ? { ok: true, collateral: bundled, source: 'bundle' }
    : { ok: true, collateral: own, source: 'gatekeeper' };
}

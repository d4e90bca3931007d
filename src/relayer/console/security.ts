import type { JourneyEntry, JourneyStage } from '../journey.js';
import type { RelayerMetrics } from '../metrics.js';

/**
 * Security refusals as the console shows them: forged requests, revoked or unapproved workers,
 * bad proofs. Counted by this process since it started (`phala_bridge_security_refusals_total`
 * by who refused and why, and the rejected worker results of `phala_bridge_errors_total`).
 */
export type RefusalCount = { role: string; reason: string; count: number };

export async function securityRefusals(
  metrics: Pick<RelayerMetrics, 'securityRefusals' | 'errors'>,
): Promise<RefusalCount[]> {
  const { values } = await metrics.securityRefusals.get();
  const out = values
    .filter((v) => v.value > 0)
    .map((v) => ({
      role: String(v.labels.role ?? ''),
      reason: String(v.labels.reason ?? ''),
      count: v.value,
    }));
  // Results the relayer rejected (an unapproved signer, a proof that does not verify) are counted
  // as errors; those it also counted as security refusals (a revoked worker) are not told twice.
  const rejected = (await metrics.errors.get()).values
    .filter((v) => v.labels.kind === 'rejected-result')
    .reduce((n, v) => n + v.value, 0);
  const counted = out.filter((r) => r.role === 'relayer').reduce((n, r) => n + r.count, 0);
  if (rejected > counted) out.push({ role: 'relayer', reason: 'RejectedResult', count: rejected - counted });
  return out.sort((a, b) => b.count - a.count);
}

/** Stages that are a refusal an operator must look at, not an ordinary failure. */
export const REFUSAL_STAGES: ReadonlySet<JourneyStage> = new Set(['refused', 'result-rejected']);

/** Whether one journey entry is a security refusal (a refused job, a result from an unapproved signer). */
export function isRefusal(entry: Pick<JourneyEntry, 'stage'>): boolean {
  return REFUSAL_STAGES.has(entry.stage);
}

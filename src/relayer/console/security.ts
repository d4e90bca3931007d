import type { JourneyEntry, JourneyStage } from '../journey.js';
import type { RelayerMetrics } from '../metrics.js';

/**
 * Security refusals as the console shows them: forged requests, revoked or unapproved workers,
 * bad proofs. Counted by this process since it started (the same counter as
 * `phala_bridge_security_refusals_total`), by who refused and why.
 */
export type RefusalCount = { role: string; reason: string; count: number };

export async function securityRefusals(
  metrics: Pick<RelayerMetrics, 'securityRefusals'>,
): Promise<RefusalCount[]> {
  const { values } = await metrics.securityRefusals.get();
  return values
    .filter((v) => v.value > 0)
    .map((v) => ({
      role: String(v.labels.role ?? ''),
      reason: String(v.labels.reason ?? ''),
      count: v.value,
    }))
    .sort((a, b) => b.count - a.count);
}

/** Stages that are a refusal an operator must look at, not an ordinary failure. */
export const REFUSAL_STAGES: ReadonlySet<JourneyStage> = new Set(['refused', 'result-rejected']);

/** Whether one journey entry is a security refusal (a refused job, a result from an unapproved signer). */
export function isRefusal(entry: Pick<JourneyEntry, 'stage'>): boolean {
  return REFUSAL_STAGES.has(entry.stage);
}

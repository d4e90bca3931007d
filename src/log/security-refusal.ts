import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger.js';

/**
 * Detection of attacks every role refuses (docs/operations.md#alerts): each refusal is one
 * warning log line with the request id and reason, and one increment of
 * `phala_bridge_security_refusals_total{role,reason}`. Reasons are a short fixed set per role
 * (class names such as `RequestNotOnChain`), never ids, so the series stay few. One definition
 * for every role, so that alerts can be written once.
 */

export type SecurityRole = 'worker' | 'relayer' | 'gatekeeper';

export const SECURITY_REFUSALS_METRIC = 'phala_bridge_security_refusals_total';

export function createSecurityRefusalCounter(registry: Registry): Counter<'role' | 'reason'> {
  const existing = registry.getSingleMetric(SECURITY_REFUSALS_METRIC);
  if (existing) return existing as Counter<'role' | 'reason'>;
  return new Counter({
    name: SECURITY_REFUSALS_METRIC,
    help: 'Requests, results or messages refused because they do not match what the chains prove',
    labelNames: ['role', 'reason'] as const,
    registers: [registry],
  });
}

export type SecurityRefusal = {
  role: SecurityRole;
  reason: string;
  requestId?: string | undefined;
  jobId?: string | undefined;
  worker?: string | undefined;
  detail: string;
};

/** Logs and counts one refusal. */
export function recordSecurityRefusal(
  logger: Logger,
  counter: Counter<'role' | 'reason'>,
  refusal: SecurityRefusal,
): void {
  counter.inc({ role: refusal.role, reason: refusal.reason });
  logger.warn(
    {
      security: true,
      // Not `role`: loggers of a process name their own role in that field already.
      refusedBy: refusal.role,
      reason: refusal.reason,
      ...(refusal.requestId ? { requestId: refusal.requestId } : {}),
      ...(refusal.jobId ? { jobId: refusal.jobId } : {}),
      ...(refusal.worker ? { worker: refusal.worker } : {}),
      detail: refusal.detail,
    },
    'security refusal',
  );
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createSecurityRefusalCounter } from '../log/security-refusal.js';

/**
 * The relayer's metrics. Label values are bounded sets (chain names, stages, error kinds), never
 * request ids, so cardinality stays flat however long the daemon runs.
 */
export function createRelayerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'phala_bridge_' });
  const metrics = {
    registry,
    observed: new Counter({
      name: 'phala_bridge_requests_observed_total',
      help: 'Requests seen on origin chains',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    completed: new Counter({
      name: 'phala_bridge_requests_completed_total',
      help: 'Requests that reached a terminal stage',
      labelNames: ['origin', 'outcome'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'phala_bridge_queue_depth',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    oldestJobAge: new Gauge({
      name: 'phala_bridge_oldest_job_age_seconds',
      help: 'Age of the oldest waiting job per stage',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    headLag: new Gauge({
      name: 'phala_bridge_chain_head_lag_blocks',
      help: 'Chain head minus the watcher checkpoint',
      labelNames: ['chain'] as const,
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'phala_bridge_submissions_total',
      help: 'Transactions sent to destination chains',
      labelNames: ['chain', 'kind', 'outcome'] as const,
      registers: [registry],
    }),
    gasSpent: new Counter({
      name: 'phala_bridge_gas_spent_total',
      help: 'Gas used by confirmed submissions',
      labelNames: ['chain'] as const,
      registers: [registry],
    }),
    workerLatency: new Histogram({
      name: 'phala_bridge_worker_latency_seconds',
      help: 'From queued to signed result',
      labelNames: ['cluster'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    endToEnd: new Histogram({
      name: 'phala_bridge_request_seconds',
      help: 'From observed to confirmed on the origin chain',
      labelNames: ['origin'] as const,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'phala_bridge_errors_total',
      help: 'Errors by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    securityRefusals: createSecurityRefusalCounter(registry),
  };
  return metrics;
}

export type RelayerMetrics = ReturnType<typeof createRelayerMetrics>;

/**
 * Why something was refused for security (issue 13; docs/operations: alert on any increase).
 * Named reasons, never free text, so the label set stays bounded.
 */
export type SecurityRefusalReason =
  | 'WorkerRevoked'
  | 'RequestNotOnChain'
  | 'RequestFieldMismatch'
  | 'RequestNotPending'
  | 'MalformedBatch'
  | 'EnvelopeOpenError';

/** Counts one security refusal (role: which part refused it; the relayer by default). */
export function countSecurityRefusal(
  metrics: Pick<RelayerMetrics, 'securityRefusals'>,
  reason: SecurityRefusalReason,
  role = 'relayer',
): void {
  metrics.securityRefusals.inc({ role, reason });
}

/**
 * Retry delays in the style of Hyperlane's relayer: fast at first, then minutes, then hours. The
 * schedule comes from config (`queues.backoffMs`); the last step repeats. Delays carry ±10 %
 * jitter so a burst of failures does not come back as one burst.
 */
export function backoffDelay(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
): number {
  const step = schedule[Math.min(Math.max(attempt - 1, 0), schedule.length - 1)]!;
  return Math.round(step * (0.9 + 0.2 * random()));
}

/** True when another attempt after `delayMs` would still land before the deadline (unix seconds). */
export function retryFitsDeadline(deadlineSeconds: number, delayMs: number, nowMs = Date.now()): boolean {
  return nowMs + delayMs < deadlineSeconds * 1000;
}

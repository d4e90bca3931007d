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

/** Jobs that carry a deadline (request and result jobs). */
type DeadlineData = { deadline?: number; request?: { deadline: number } };

/**
 * A BullMQ `backoffStrategy` for the `schedule` backoff type, shared by the relayer and the
 * workers: the next delay from the schedule, or -1 (no more retries: the job fails and is
 * dead-lettered) once a retry would land after the request's deadline. Only failures reach it: a
 * contract's own outcome, `OutOfGas` from the engine's wall-clock watchdog included, completes
 * the job with a signed result (docs/pruntime-worker.md#fair-share).
 */
export function scheduleBackoffStrategy(schedule: readonly number[]) {
  return (attemptsMade: number, _type?: string, _err?: Error, job?: { data: unknown }): number => {
    const delay = backoffDelay(schedule, attemptsMade);
    const data = job?.data as DeadlineData | undefined;
    const deadline = data?.deadline ?? data?.request?.deadline;
    if (deadline !== undefined && !retryFitsDeadline(deadline, delay)) return -1;
    return delay;
  };
}

/** Attempts are bounded by the deadline, not a count; this is only a backstop. */
export const MAX_ATTEMPTS = 1_000;

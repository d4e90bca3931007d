import { BaseError, errorMessage, type Retry } from './errors.js';

export class PollTimeoutError extends BaseError {
  /** What was awaited may still come. */
  static override readonly retry: Retry = 'retry';
  override name = 'PollTimeoutError';
}

export type PollUntilParameters = {
  /** What is awaited, for the error: "the greeter key on chain". */
  label: string;
  timeoutMs?: number;
  intervalMs?: number;
  signal?: AbortSignal;
};

/**
 * Calls `fn` until it returns a truthy value, or throws PollTimeoutError naming what was awaited
 * and the last error `fn` threw (errors count as "not yet": chains and RPCs come and go).
 */
export async function pollUntil<T>(
  fn: () => Promise<T | null | undefined | false>,
  p: PollUntilParameters,
): Promise<T> {
  const timeoutMs = p.timeoutMs ?? 120_000;
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (p.signal?.aborted) throw new PollTimeoutError(`Stopped waiting for ${p.label}.`);
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until)
      throw new PollTimeoutError(`Timed out waiting for ${p.label}.`, {
        details: `after ${timeoutMs} ms${last ? `; last error: ${errorMessage(last)}` : ''}`,
      });
    await new Promise((r) => setTimeout(r, p.intervalMs ?? 250));
  }
}

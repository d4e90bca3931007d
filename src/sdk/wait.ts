import type { Hex } from '../base/bytes.js';
import { pollUntil } from '../base/poll.js';
import type { Origin } from '../protocol/origin.js';
import { type RelayerParameters, type RequestEnd, getRequestEnd, throwRequestEnd } from './relayer-status.js';

export type WaitForAnswerParameters = {
  /** What is awaited, for the timeout error. */
  label: string;
  timeoutMs: number;
  requestId: Hex;
  origin: Origin;
  /** When given, the wait also reads the request's journey and stops as soon as the relayer ends it. */
  relayer?: RelayerParameters | undefined;
};

/**
 * Polls `read` until it gives the answer. With a relayer, each round that finds no answer also
 * asks the relayer whether the request ended without one, and throws RequestRefusedError or
 * RequestEndedError then instead of waiting out the timeout.
 */
export async function waitForAnswer<T>(
  read: () => Promise<T | null>,
  p: WaitForAnswerParameters,
): Promise<T> {
  const { relayer } = p;
  const outcome = await pollUntil<{ value: T } | { end: RequestEnd }>(
    async () => {
      const value = await read();
      if (value) return { value };
      if (!relayer) return null;
      const end = await getRequestEnd(relayer, { origin: p.origin, requestId: p.requestId });
      return end ? { end } : null;
    },
    { label: p.label, timeoutMs: p.timeoutMs, intervalMs: relayer ? 500 : 250 },
  );
  if ('end' in outcome) throwRequestEnd(p.requestId, outcome.end);
  return outcome.value;
}

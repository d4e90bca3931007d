import type { Hex } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import { type Origin, requestJobId } from '../protocol/origin.js';
import { AdminApiError, getJourney } from '../relayer/admin-client.js';

/** What a wait throws when the relayer's admin API does not give the journey (its client's error). */
export { AdminApiError };

/**
 * What a wait reads from the relayer to stop early: the journey of one request on the relayer's
 * admin API (`GET /jobs/<job id>`, src/relayer/admin-routes.ts). Read-only; the token is only
 * ever sent to `url` and never put in an error.
 */
export type RelayerParameters = {
  /** The relayer's admin API (`admin` in its config; the devnet's `relayer.admin.url`). */
  url: string;
  /** Its bearer token (`admin.token`); not needed on loopback when none is configured. */
  token?: string | undefined;
};

const docsPath = '/docs/evm.md#when-a-request-is-refused';

/** The workers refused the request for good: it will never be answered (no retry can help). */
export class RequestRefusedError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'RequestRefusedError';
  readonly requestId: Hex;
  /**
   * The worker's reason code (docs/pruntime-worker.md#rejections): `input-unreadable` (sealed for
   * another requester, end user, contract or response key), `deadline-passed`, `bad-payload`, …
   */
  readonly reason: string;
  readonly detail: string;
  /** Refused as forged or replayed (`RequestNotOnChain`, …) rather than as bad or late. */
  readonly security: boolean;
  constructor(requestId: Hex, refusal: { reason: string; detail: string; security: boolean }) {
    super(`Request ${requestId} was refused: ${refusal.reason}.`, { details: refusal.detail, docsPath });
    this.requestId = requestId;
    this.reason = refusal.reason;
    this.detail = refusal.detail;
    this.security = refusal.security;
  }
}

/**
 * The relayer gave the request up for another reason than a worker's refusal: the destination
 * chain refused its answer, or an operator dropped it (`stage` 'dead'), or it was cancelled.
 */
export class RequestEndedError extends BaseError {
  /** An operator can send a dead request back (`phala-bridge jobs retry`); a cancelled one is over. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'RequestEndedError';
  readonly requestId: Hex;
  readonly stage: 'dead' | 'cancelled';
  constructor(requestId: Hex, stage: 'dead' | 'cancelled', detail: string | undefined) {
    super(`The relayer ended request ${requestId} without an answer (${stage}).`, {
      details: detail,
      docsPath,
      ...(stage === 'cancelled' ? { retry: 'never' as const } : {}),
    });
    this.requestId = requestId;
    this.stage = stage;
  }
}

export type RequestEnd =
  | { kind: 'refused'; reason: string; detail: string; security: boolean }
  | { kind: 'dead' | 'cancelled'; detail: string | undefined };

export type GetRequestEndParameters = { origin: Origin; requestId: Hex };
export type GetRequestEndReturnType = RequestEnd | null;
export type GetRequestEndErrorType = AdminApiError;

/**
 * How the relayer ended a request without an answer, or null while it has not (unknown to the
 * relayer yet, on its way, or answered). A refusal is read from the worker's structured report on
 * the request's job, never from a message text.
 */
export async function getRequestEnd(
  relayer: RelayerParameters,
  p: GetRequestEndParameters,
): Promise<GetRequestEndReturnType> {
  const found = await getJourney(relayer, requestJobId(p.origin, p.requestId));
  if (!found) return null;
  const { state, journey, queues } = found;
  if (state !== 'refused' && state !== 'dead' && state !== 'cancelled') return null;
  const refusal = queues.find((q) => q.refusal)?.refusal;
  if (refusal && state !== 'cancelled') return { kind: 'refused', ...refusal };
  return { kind: state === 'cancelled' ? 'cancelled' : 'dead', detail: journey.at(-1)?.detail };
}

/** Throws the error that says how the relayer ended a request (see `getRequestEnd`). */
export function throwRequestEnd(requestId: Hex, end: RequestEnd): never {
  if (end.kind === 'refused') throw new RequestRefusedError(requestId, end);
  throw new RequestEndedError(requestId, end.kind, end.detail);
}

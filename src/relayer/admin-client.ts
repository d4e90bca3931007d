import { z } from 'zod';
import { BaseError, type BaseErrorParameters, type Retry, retryOfHttpStatus } from '../base/errors.js';
import { redactUrl } from '../base/redact-url.js';
import { jobRefusalSchema } from '../protocol/job-refusal.js';
import { journeyEntrySchema, journeyStages } from './journey.js';

/**
 * Client of the relayer's admin HTTP API (`admin-routes.ts`): what `phala-bridge jobs` and the
 * devnet demo use. Replies are validated: the daemon may be another version.
 */
export class AdminApiError extends BaseError {
  /** No answer at all is worth another try; otherwise as the status says (401/403: fix the token). */
  static override readonly retry: Retry = 'retry';
  override name = 'AdminApiError';
  /** The HTTP status the API answered with; undefined when it did not answer at all. */
  readonly status: number | undefined;
  constructor(shortMessage: string, parameters: BaseErrorParameters & { status?: number } = {}) {
    super(shortMessage, {
      ...(parameters.status === undefined ? {} : { retry: retryOfHttpStatus(parameters.status) }),
      ...parameters,
    });
    this.status = parameters.status;
  }
}

const summarySchema = z.object({
  jobId: z.string(),
  state: z.enum(journeyStages),
  origin: z.string(),
  contractId: z.string(),
  updatedAt: z.number(),
});
export type JobSummary = z.infer<typeof summarySchema>;

const journeySchema = summarySchema.extend({
  journey: z.array(journeyEntrySchema),
  queues: z.array(
    z.object({
      queue: z.string(),
      state: z.string(),
      attempts: z.number(),
      failedReason: z.string().optional(),
      /** The worker's structured refusal of this job, when one refused it. */
      refusal: jobRefusalSchema.shape.refusal.optional(),
    }),
  ),
});
export type JobJourney = z.infer<typeof journeySchema>;

/** Where the API is and its bearer token (admin.token; the devnet makes one per start). */
export type AdminClientParameters = { url: string; token?: string | undefined };

const HINTS: Record<number, string> = {
  401: 'the token is missing or wrong: set PHALA_BRIDGE_ADMIN_TOKEN or pass --config with admin.token',
  403: 'the API refused this Host or Origin: use the address the daemon logs, or add it to admin.allowedHosts',
};

async function call<T>(
  p: AdminClientParameters,
  method: string,
  path: string,
  schema: z.ZodType<T>,
  body?: unknown,
): Promise<T | null> {
  let response: Response;
  // Every write is JSON (the API refuses anything else: a browser's cross-site form cannot send it).
  const sent = method === 'GET' ? undefined : (body ?? {});
  try {
    response = await fetch(new URL(path, p.url), {
      method,
      headers: {
        ...(p.token ? { authorization: `Bearer ${p.token}` } : {}),
        ...(sent === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(sent === undefined ? {} : { body: JSON.stringify(sent) }),
    });
  } catch (error) {
    throw new AdminApiError(`The relayer admin API at ${redactUrl(p.url)} does not answer.`, {
      cause: error,
      details: 'is the relayer running, and is this its admin address?',
    });
  }
  if (response.status === 404) return null;
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const reason = (json as { error?: unknown } | null)?.error;
    const text = typeof reason === 'string' ? reason : undefined;
    const hint = HINTS[response.status];
    throw new AdminApiError(`${method} ${path} failed with HTTP ${response.status}.`, {
      status: response.status,
      details: [text, hint].filter(Boolean).join('; ') || undefined,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new AdminApiError(`${method} ${path}: unexpected reply.`, { details: parsed.error.message });
  return parsed.data;
}

export function listJobs(
  p: AdminClientParameters,
  filter: { state?: string; origin?: string; contract?: string; limit?: number } = {},
): Promise<JobSummary[]> {
  const query = new URLSearchParams(
    Object.entries(filter).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])),
  );
  return call(p, 'GET', `/jobs?${query}`, z.array(summarySchema)).then((r) => r ?? []);
}

export function getJourney(p: AdminClientParameters, jobId: string): Promise<JobJourney | null> {
  return call(p, 'GET', `/jobs/${encodeURIComponent(jobId)}`, journeySchema);
}

/**
 * A job id the relayer does not know as given: not a request's whole id (`<origin key>-<request
 * id>`, e.g. `evm-31337-0x…`), or a request id that more than one origin used.
 */
export class UnknownJobError extends BaseError {
  /** Give a whole job id (`phala-bridge jobs list` shows them). */
  static override readonly retry: Retry = 'after-fix';
  override name = 'UnknownJobError';
  /** Whole job ids the given one could mean (several origins used that request id). */
  readonly candidates: string[];
  constructor(jobId: string, p: { origins: string[]; candidates?: string[] }) {
    const candidates = p.candidates ?? [];
    super(
      candidates.length > 1
        ? `${jobId} is a request id of several origins: ${candidates.join(', ')}.`
        : `No request ${jobId} is known to the relayer.`,
      {
        details:
          candidates.length > 1
            ? 'give the whole job id'
            : p.origins.length > 0
              ? `a job id is <origin>-<request id>; origins with requests: ${p.origins.join(', ')} (e.g. ${p.origins[0]}-0x…). A request id alone is looked up under each of them.`
              : 'a job id is <origin>-<request id> (evm-<chain id>, phala, xcm-<para id>); the relayer lists no requests at all',
        docsPath: '/docs/operations.md#admin-api',
      },
    );
    this.candidates = candidates;
  }
}

/** The origin key of a listed request: its recorded origin, else its job id before `-0x…`. */
function originOf(summary: JobSummary): string | undefined {
  if (summary.origin && summary.jobId.startsWith(`${summary.origin}-`)) return summary.origin;
  return /^(.+)-0x[0-9a-fA-F]+$/.exec(summary.jobId)?.[1];
}

/**
 * A request's journey by its whole job id, or by its request id alone (`0x…`, what a contract's
 * event or the SDK shows): then looked up under each origin the relayer's recent requests (up to
 * 1,000) come from. Throws `UnknownJobError` naming those origins when nothing matches, or the
 * candidates when several origins used the same request id.
 */
export async function findJourney(p: AdminClientParameters, jobId: string): Promise<JobJourney> {
  const direct = await getJourney(p, jobId);
  if (direct) return direct;
  const recent = await listJobs(p, { limit: 1000 });
  const origins = [...new Set(recent.map(originOf).filter((o): o is string => Boolean(o)))].sort();
  if (jobId.includes('-')) throw new UnknownJobError(jobId, { origins });
  const tries = origins.map((o) => `${o}-${jobId.toLowerCase()}`);
  const found = (await Promise.all(tries.map((id) => getJourney(p, id)))).filter(
    (j): j is JobJourney => j !== null,
  );
  if (found.length === 1) return found[0]!;
  throw new UnknownJobError(jobId, { origins, candidates: found.map((j) => j.jobId) });
}

export async function retryJob(p: AdminClientParameters, jobId: string): Promise<boolean> {
  try {
    return (await call(p, 'POST', `/jobs/${encodeURIComponent(jobId)}/retry`, z.unknown())) !== null;
  } catch (error) {
    if (error instanceof AdminApiError && error.status === 409) return false;
    throw error;
  }
}

export function retryMatching(
  p: AdminClientParameters,
  matcher: { state?: string; origin?: string; contract?: string; limit?: number },
): Promise<string[]> {
  return call(p, 'POST', '/retry', z.object({ retried: z.array(z.string()) }), matcher).then(
    (r) => r?.retried ?? [],
  );
}

/**
 * Drops a request; false when the relayer does not know it. A request still waiting for a
 * worker is dropped only with `force` (without it: an AdminApiError with status 409).
 */
export async function dropJob(
  p: AdminClientParameters,
  jobId: string,
  options: { force?: boolean } = {},
): Promise<boolean> {
  const body = options.force ? { force: true } : {};
  return (await call(p, 'DELETE', `/jobs/${encodeURIComponent(jobId)}`, z.unknown(), body)) !== null;
}

/** A journey as lines of text: one per stage, with the time since the first and its transaction. */
export function formatJourney(journey: JobJourney): string[] {
  const start = journey.journey[0]?.at ?? journey.updatedAt;
  const lines = [`${journey.jobId}  ${journey.state}  (contract ${journey.contractId})`];
  for (const e of journey.journey) {
    const parts = [
      e.chain,
      e.blockNumber === undefined ? undefined : `#${e.blockNumber}`,
      e.txHash ? `tx ${e.txHash}` : undefined,
      e.worker ? `worker ${e.worker}` : undefined,
      e.detail,
    ].filter(Boolean);
    const offset = `+${((e.at - start) / 1000).toFixed(2)}s`.padStart(9);
    lines.push(`  ${offset}  ${e.stage.padEnd(16)} ${parts.join(' ')}`.trimEnd());
  }
  return lines;
}

import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { type JourneyEntry, type JourneyStore, type JourneySummary, journeyStages } from '../journey.js';
import { isRefusal } from './security.js';

/**
 * The request list's query: the admin API's filters (state, origin, contract; JourneyStore.list
 * does those) plus the worker and a text search, which need each candidate's journey entries.
 */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
export const requestFilterSchema = z.object({
  state: z.preprocess(blankToUndefined, z.enum(journeyStages).optional()),
  origin: z.preprocess(blankToUndefined, z.string().max(80).optional()),
  contract: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte contract id')
      .optional(),
  ),
  worker: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^0x[0-9a-fA-F]{40}$/, 'a worker address (20 bytes)')
      .optional(),
  ),
  q: z.preprocess(blankToUndefined, z.string().trim().max(140).optional()),
  limit: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(1000).default(100)),
});
export type RequestFilter = z.infer<typeof requestFilterSchema>;

export type RequestRow = JourneySummary & {
  /** When the relayer first saw it (its `observed` entry), else its last move. */
  firstAt: number;
  /** The worker whose result it carries (the last one named), if any. */
  worker?: string | undefined;
  /** Whether any entry is a security refusal. */
  refused: boolean;
};

/** How many requests a worker or text search reads at most (newest first). */
export const SEARCH_SCAN_LIMIT = 10_000;
const CHUNK = 500;

function rowOf(summary: JourneySummary, entries: readonly JourneyEntry[]): RequestRow {
  let worker: string | undefined;
  for (const e of entries) if (e.worker) worker = e.worker;
  return {
    ...summary,
    firstAt: entries.find((e) => e.stage === 'observed')?.at ?? entries[0]?.at ?? summary.updatedAt,
    worker,
    refused: entries.some(isRefusal),
  };
}

function matches(filter: RequestFilter, summary: JourneySummary, entries: readonly JourneyEntry[]): boolean {
  if (filter.worker) {
    const w = filter.worker.toLowerCase();
    if (!entries.some((e) => e.worker?.toLowerCase() === w)) return false;
  }
  if (filter.q) {
    const q = filter.q.toLowerCase();
    const hit =
      summary.jobId.toLowerCase().includes(q) ||
      entries.some((e) => e.txHash?.toLowerCase().includes(q) || String(e.blockNumber ?? '') === q);
    if (!hit) return false;
  }
  return true;
}

/** Requests newest first, as the admin API lists them, narrowed by worker and text when asked. */
export async function findRequests(journeys: JourneyStore, filter: RequestFilter): Promise<RequestRow[]> {
  const base = {
    ...(filter.state ? { state: filter.state } : {}),
    ...(filter.origin ? { origin: filter.origin } : {}),
    ...(filter.contract ? { contractId: filter.contract } : {}),
  };
  const narrowed = Boolean(filter.worker || filter.q);
  const candidates = await journeys.list({ ...base, limit: narrowed ? SEARCH_SCAN_LIMIT : filter.limit });
  const rows: RequestRow[] = [];
  for (let i = 0; i < candidates.length && rows.length < filter.limit; i += CHUNK) {
    const chunk = candidates.slice(i, i + CHUNK);
    const entries = await Promise.all(chunk.map((s) => journeys.entries(s.jobId)));
    chunk.forEach((summary, k) => {
      if (rows.length < filter.limit && matches(filter, summary, entries[k]!))
        rows.push(rowOf(summary, entries[k]!));
    });
  }
  return rows;
}

/** The origin keys this relayer's configuration can produce (src/protocol/origin.ts originKey). */
export function configuredOrigins(config: Config): string[] {
  const out: string[] = [];
  for (const c of config.chains) {
    if (c.kind === 'evm') out.push(`evm-${c.chainId}`);
    else if (c.kind === 'phala') out.push('phala');
    else if (c.kind === 'parachain') out.push(`xcm-${c.paraId}`);
  }
  return out;
}

/** The filter as a query string (for the live refresh and "show more"), blanks left out. */
export function filterQuery(
  filter: RequestFilter,
  extra: Partial<Record<keyof RequestFilter, string>> = {},
): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filter, ...extra }))
    if (v !== undefined && v !== '' && !(k === 'limit' && Number(v) === 100)) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

import type { Hex } from '../../base/bytes.js';
import type { ParsedTrackerEvent, TrackedXcm, XcmMessageStatus, XcmOutcome, XcmStep } from './types.js';

/**
 * Pure merge rules. Every observation is kept or compared so that the result does not depend on
 * the order events arrive in, and applying the same event twice changes nothing but the
 * duplicate count: the earliest sent/delivered step wins; the outcome is the one on the
 * destination chain (success over failure, then earliest), so a retried message that finally
 * succeeds reads as processed.
 */
export function emptyRecord(id: Hex, now: number): TrackedXcm {
  return {
    v: 1,
    id,
    hashes: [],
    status: 'expected',
    outcomes: [],
    duplicates: 0,
    createdAt: now,
    updatedAt: now,
  };
}

export type StepContext = { chain: string; blockNumber: number; blockHash: Hex; at: number };

export function applyEvent(rec: TrackedXcm, event: ParsedTrackerEvent, ctx: StepContext): TrackedXcm {
  const step: XcmStep = {
    chain: ctx.chain,
    blockNumber: ctx.blockNumber,
    blockHash: ctx.blockHash,
    index: event.index,
    at: ctx.at,
    source: event.source,
  };
  const out: TrackedXcm = { ...rec, hashes: [...rec.hashes], outcomes: [...rec.outcomes] };
  switch (event.kind) {
    case 'sent':
      if (event.hash) addHash(out, event.hash);
      out.origin ??= ctx.chain;
      if (event.destination) out.destination ??= event.destination;
      out.sent = earliest(out, out.sent, step);
      break;
    case 'delivered':
      if (event.hash) addHash(out, event.hash);
      out.delivered = earliest(out, out.delivered, step);
      break;
    case 'overweight':
      out.overweight = earliest(out, out.overweight, step);
      break;
    case 'processed': {
      const o: XcmOutcome = { ...step, success: event.success };
      if (event.error !== undefined) o.error = event.error;
      if (event.weightUsed) o.weightUsed = event.weightUsed;
      if (event.from !== undefined) o.from = event.from;
      if (out.outcomes.some((x) => sameStep(x, o))) out.duplicates += 1;
      else out.outcomes.push(o);
      break;
    }
    case 'link':
      addHash(out, event.hash);
      break;
  }
  return settle(out);
}

/** Folds record `b` (found under a transport hash) into `a` (the record of its id). */
export function mergeRecords(a: TrackedXcm, b: TrackedXcm): TrackedXcm {
  const out: TrackedXcm = { ...a, hashes: [...a.hashes], outcomes: [...a.outcomes] };
  for (const h of [b.id, ...b.hashes]) if (h !== a.id) addHash(out, h);
  out.origin ??= b.origin;
  out.destination ??= b.destination;
  if (b.sent) out.sent = earliest(out, out.sent, b.sent);
  if (b.delivered) out.delivered = earliest(out, out.delivered, b.delivered);
  if (b.overweight) out.overweight = earliest(out, out.overweight, b.overweight);
  for (const o of b.outcomes) if (!out.outcomes.some((x) => sameStep(x, o))) out.outcomes.push(o);
  out.duplicates += b.duplicates;
  out.createdAt = Math.min(a.createdAt, b.createdAt);
  out.updatedAt = Math.max(a.updatedAt, b.updatedAt);
  return settle(out);
}

/** Recomputes the derived fields (outcome and status) from the observations. */
export function settle(rec: TrackedXcm): TrackedXcm {
  rec.outcomes.sort(byTime);
  if (rec.outcomes.length > 64) rec.outcomes = rec.outcomes.slice(0, 64);
  const candidates = rec.destination ? rec.outcomes.filter((o) => o.chain === rec.destination) : rec.outcomes;
  const processed = candidates.find((o) => o.success) ?? candidates[0];
  if (processed) rec.processed = processed;
  else delete rec.processed;
  rec.status = statusOf(rec);
  return rec;
}

export function statusOf(rec: TrackedXcm): XcmMessageStatus {
  if (rec.processed) return rec.processed.success ? 'processed' : 'failed';
  if (rec.delivered || rec.overweight) return 'delivered';
  if (rec.sent) return 'sent';
  return 'expected';
}

function addHash(rec: TrackedXcm, hash: Hex): void {
  if (hash !== rec.id && !rec.hashes.includes(hash) && rec.hashes.length < 64) rec.hashes.push(hash);
}

function earliest(rec: TrackedXcm, current: XcmStep | undefined, next: XcmStep): XcmStep {
  if (!current) return next;
  if (sameStep(current, next)) {
    rec.duplicates += 1;
    return current;
  }
  return byTime(next, current) < 0 ? next : current;
}

function sameStep(a: XcmStep, b: XcmStep): boolean {
  return a.chain === b.chain && a.blockHash === b.blockHash && a.index === b.index;
}

/** Time, then chain, block and source: a total order, so merging is order-independent. */
function byTime(a: XcmStep, b: XcmStep): number {
  return (
    a.at - b.at ||
    a.chain.localeCompare(b.chain) ||
    a.blockNumber - b.blockNumber ||
    a.index - b.index ||
    a.blockHash.localeCompare(b.blockHash)
  );
}

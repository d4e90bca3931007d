/** Small text forms shared by the pages: ages, durations, shortened hashes. */

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((abs % 60_000) / 1000)} s`;
  if (abs < 86_400_000)
    return `${Math.floor(ms / 3_600_000)} h ${Math.round((abs % 3_600_000) / 60_000)} min`;
  return `${Math.floor(ms / 86_400_000)} d ${Math.round((abs % 86_400_000) / 3_600_000)} h`;
}

export function age(at: number, now = Date.now()): string {
  return `${duration(Math.max(0, now - at))} ago`;
}

/** ISO time, to the millisecond, UTC: what an operator pastes into a log search. */
export function isoTime(at: number): string {
  return new Date(at).toISOString();
}

/** `0x1234…abcd`: enough to tell apart on screen; the whole value stays in a title and a copy button. */
export function short(value: string, keep = 6): string {
  if (value.length <= keep * 2 + 3) return value;
  const head = value.startsWith('0x') ? keep + 2 : keep;
  return `${value.slice(0, head)}…${value.slice(-keep)}`;
}

/** A request id's job id without its origin prefix would lose the origin: shortened in the middle only. */
export function shortJobId(jobId: string): string {
  const dash = jobId.lastIndexOf('-0x');
  return dash < 0 ? short(jobId, 10) : `${jobId.slice(0, dash)}-${short(jobId.slice(dash + 1))}`;
}

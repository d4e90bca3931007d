import { z } from 'zod';
import type { JourneyStore } from '../journey.js';
import type { AdminActions } from './admin-actions.js';
import { copyable } from './badges.js';
import { age, short, shortJobId } from './format.js';
import { type Html, html } from './html.js';
import { retryButton } from './journey-page.js';

/** The dead-letter filter: the admin API's retry matcher (origin, contract), state fixed to dead. */
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
export const deadFilterSchema = z.object({
  origin: z.preprocess(blank, z.string().max(80).optional()),
  contract: z.preprocess(
    blank,
    z
      .string()
      .trim()
      .regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte contract id')
      .optional(),
  ),
});
export type DeadFilter = z.infer<typeof deadFilterSchema>;

export type DeadLetter = {
  jobId: string;
  origin: string;
  contractId: string;
  updatedAt: number;
  reason: string;
  attempts: number;
};

/** How many dead letters the page lists (the admin API's retry takes up to 1000 by default). */
const SHOWN = 200;

export async function deadLetters(
  journeys: JourneyStore,
  admin: AdminActions,
  filter: DeadFilter,
): Promise<DeadLetter[]> {
  const dead = await journeys.list({
    state: 'dead',
    limit: SHOWN,
    ...(filter.origin ? { origin: filter.origin } : {}),
    ...(filter.contract ? { contractId: filter.contract } : {}),
  });
  return Promise.all(
    dead.map(async (s) => {
      const detail = await admin.show(s.jobId);
      const entries = detail?.journey ?? [];
      const last = [...entries].reverse().find((e) => e.stage === 'dead');
      return {
        jobId: s.jobId,
        origin: s.origin,
        contractId: s.contractId,
        updatedAt: s.updatedAt,
        reason: last?.detail ?? 'no reason recorded',
        attempts: Math.max(0, ...(detail?.queues ?? []).map((q) => q.attempts)),
      };
    }),
  );
}

export function deadLettersBody(p: {
  filter: DeadFilter;
  rows: readonly DeadLetter[];
  origins: readonly string[];
  error?: string | undefined;
}): Html {
  const f = p.filter;
  const matcher = JSON.stringify({
    ...(f.origin ? { origin: f.origin } : {}),
    ...(f.contract ? { contract: f.contract } : {}),
  });
  return html`<h1>Dead letters</h1>
<p class="muted">Requests that stopped for good. Retry sends one back to the stage where it stopped (the admin API's rules);
drop removes it. Refused requests (security) are listed under <a href="/?state=refused">Requests → refused</a>.</p>
<div id="action-status" role="status" aria-live="polite"></div>
<form class="filters" aria-label="Filter dead letters" action="/dead" method="get"
  hx-get="/dead" hx-select="#dead" hx-target="#dead" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change, submit">
  <label for="d-origin">Origin
    <select id="d-origin" name="origin"><option value="">any</option>${p.origins.map(
      (o) => html`<option value="${o}"${o === f.origin ? ' selected' : ''}>${o}</option>`,
    )}</select></label>
  <label for="d-contract">Contract id
    <input id="d-contract" name="contract" value="${f.contract ?? ''}" placeholder="0x… (32 bytes)" size="20" spellcheck="false"></label>
  <button type="submit">Filter</button>
  <a href="/dead">Clear</a>
</form>
<div id="dead" hx-get="/dead${f.origin || f.contract ? `?${new URLSearchParams(Object.entries(f).filter(([, v]) => v) as [string, string][])}` : ''}" hx-select="#dead" hx-swap="outerHTML" hx-trigger="requests-changed from:body" hx-disinherit="*">
${p.error ? html`<p class="message error" role="alert">${p.error}</p>` : ''}
<div class="actions" id="bulk-actions">
  <button type="button" ${p.rows.length === 0 ? 'disabled' : ''} hx-post="/dead/retry" hx-ext="json-enc" hx-vals="${matcher}"
    hx-confirm="Retry every dead letter matching this filter (${String(p.rows.length)} shown)?" hx-target="#action-status" hx-swap="innerHTML">Retry all matching (${p.rows.length})</button>
</div>
<p class="muted" aria-live="polite">${p.rows.length} dead letter${p.rows.length === 1 ? '' : 's'}.</p>
<div class="table-wrap" role="region" aria-label="Dead letters" tabindex="0">
<table>
<thead><tr><th scope="col">Request</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col" class="hide-narrow">Origin</th><th scope="col" class="hide-narrow">Contract</th><th scope="col">Died</th><th scope="col">Actions</th></tr></thead>
<tbody>
${
  p.rows.length === 0
    ? html`<tr><td colspan="7" class="muted">No dead letters.</td></tr>`
    : p.rows.map(
        (r) => html`<tr data-job="${r.jobId}">
<td><a href="/requests/${encodeURIComponent(r.jobId)}" title="${r.jobId}"><code>${shortJobId(r.jobId)}</code></a></td>
<td>${r.reason}</td>
<td class="num">${r.attempts}</td>
<td class="hide-narrow">${r.origin}</td>
<td class="hide-narrow">${copyable(r.contractId, short(r.contractId))}</td>
<td>${age(r.updatedAt)}</td>
<td><div class="actions">${retryButton(r.jobId)}${dropButton(r.jobId, false)}</div></td>
</tr>`,
      )
}
</tbody>
</table>
</div>
</div>`;
}

export function dropButton(jobId: string, force: boolean): Html {
  const question = force
    ? `Drop ${jobId} even though it is not finished? Nobody has seen it fail; it will not be answered.`
    : `Drop ${jobId}? It is removed from the queues and will not be retried.`;
  return html`<button type="button" class="danger" hx-post="/dead/${encodeURIComponent(jobId)}/drop" hx-ext="json-enc"
  hx-vals="${JSON.stringify(force ? { force: 'true' } : {})}" hx-confirm="${question}" hx-target="#action-status" hx-swap="innerHTML">${force ? 'Drop anyway' : 'Drop'}</button>`;
}

/**
 * What a retry or drop answers, shown in the page's status region (outside the list, which the
 * live stream redraws as the request moves), read out by screen readers.
 */
export function actionResult(message: string, ok: boolean, extra?: Html): Html {
  return html`<div class="message${ok ? '' : ' error'}"><p>${message}</p>${extra ? html`<div class="actions">${extra}</div>` : ''}</div>`;
}

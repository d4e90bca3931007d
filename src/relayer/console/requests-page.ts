import { journeyStages } from '../journey.js';
import { stateBadge } from './badges.js';
import { age, short, shortJobId } from './format.js';
import { type Html, html } from './html.js';
import { type RequestFilter, type RequestRow, filterQuery } from './requests-data.js';

/** The request list: filters, then a table that refreshes itself when the server says requests moved. */
export function requestsBody(p: {
  filter: RequestFilter;
  rows: readonly RequestRow[] | null;
  origins: readonly string[];
  error?: string | undefined;
  now?: number;
}): Html {
  const f = p.filter;
  const origins = f.origin && !p.origins.includes(f.origin) ? [...p.origins, f.origin] : p.origins;
  return html`<h1>Requests</h1>
<form class="filters" role="search" aria-label="Filter requests" action="/" method="get"
  hx-get="/" hx-select="#requests" hx-target="#requests" hx-swap="outerHTML" hx-push-url="true"
  hx-trigger="change, submit, input changed delay:500ms from:#f-q">
  <label for="f-state">State
    <select id="f-state" name="state">
      <option value="">any</option>
      ${journeyStages.map((s) => html`<option value="${s}"${s === f.state ? ' selected' : ''}>${s}</option>`)}
    </select></label>
  <label for="f-origin">Origin
    <select id="f-origin" name="origin">
      <option value="">any</option>
      ${origins.map((o) => html`<option value="${o}"${o === f.origin ? ' selected' : ''}>${o}</option>`)}
    </select></label>
  <label for="f-contract">Contract id
    <input id="f-contract" name="contract" value="${f.contract ?? ''}" placeholder="0x… (32 bytes)" size="20" spellcheck="false"></label>
  <label for="f-worker">Worker
    <input id="f-worker" name="worker" value="${f.worker ?? ''}" placeholder="0x… address" size="16" spellcheck="false"></label>
  <label for="f-q">Request id or tx hash
    <input id="f-q" name="q" type="search" value="${f.q ?? ''}" placeholder="search" size="20" spellcheck="false"></label>
  <button type="submit">Filter</button>
  <a href="/">Clear</a>
</form>
${requestsTable(p)}`;
}

export function requestsTable(p: {
  filter: RequestFilter;
  rows: readonly RequestRow[] | null;
  error?: string | undefined;
  now?: number;
}): Html {
  const now = p.now ?? Date.now();
  const rows = p.rows ?? [];
  return html`<div id="requests" hx-get="/requests/rows${filterQuery(p.filter)}" hx-trigger="requests-changed from:body" hx-disinherit="*" hx-swap="outerHTML">
${p.error ? html`<p class="message error" role="alert">${p.error}</p>` : ''}
<p class="muted" aria-live="polite">${rows.length} request${rows.length === 1 ? '' : 's'} shown, newest first.</p>
<div class="table-wrap" role="region" aria-label="Requests" tabindex="0">
<table>
<thead><tr><th scope="col">Request</th><th scope="col">State</th><th scope="col">Origin</th><th scope="col" class="hide-narrow">Contract</th><th scope="col">Age</th><th scope="col" class="hide-narrow">Worker</th></tr></thead>
<tbody>
${
  rows.length === 0
    ? html`<tr><td colspan="6" class="muted">No requests match.</td></tr>`
    : rows.map(
        (r) => html`<tr data-job="${r.jobId}">
<td><a href="/requests/${encodeURIComponent(r.jobId)}" title="${r.jobId}"><code>${shortJobId(r.jobId)}</code></a></td>
<td>${stateBadge(r.state)}${r.refused && r.state !== 'refused' && r.state !== 'result-rejected' ? html` ${stateBadge('result-rejected')}` : ''}</td>
<td>${r.origin}</td>
<td class="hide-narrow" title="${r.contractId}"><code>${short(r.contractId)}</code></td>
<td title="${new Date(r.firstAt).toISOString()}">${age(r.firstAt, now)}</td>
<td class="hide-narrow">${r.worker ? html`<a href="/?worker=${r.worker}" title="${r.worker}"><code>${short(r.worker, 4)}</code></a>` : html`<span class="muted">–</span>`}</td>
</tr>`,
      )
}
</tbody>
</table>
</div>
${rows.length >= p.filter.limit && p.filter.limit < 1000 ? html`<p><a href="/${filterQuery(p.filter, { limit: String(Math.min(1000, p.filter.limit * 5)) })}">Show more</a></p>` : ''}
</div>`;
}

import type { JourneyEntry } from '../journey.js';
import type { JobDetail } from './admin-actions.js';
import { copyable, stateBadge } from './badges.js';
import { duration, isoTime, short } from './format.js';
import { type Html, html } from './html.js';
import { isRefusal } from './security.js';

function entryFacts(e: JourneyEntry): Html {
  const facts: Html[] = [];
  if (e.chain) facts.push(html`<dt>Chain</dt><dd>${e.chain}</dd>`);
  if (e.blockNumber !== undefined)
    facts.push(html`<dt>Block</dt><dd>${copyable(String(e.blockNumber))}</dd>`);
  if (e.txHash) facts.push(html`<dt>Transaction</dt><dd>${copyable(e.txHash, short(e.txHash, 10))}</dd>`);
  if (e.worker)
    facts.push(
      html`<dt>Worker</dt><dd><a href="/?worker=${e.worker}">${short(e.worker, 8)}</a> ${copyable(e.worker, '')}</dd>`,
    );
  if (e.detail) facts.push(html`<dt>${isRefusal(e) ? 'Reason' : 'Detail'}</dt><dd>${e.detail}</dd>`);
  return facts.length ? html`<dl>${facts}</dl>` : html``;
}

/** One request's journey: a timeline across chains with the time between stages, and its queue jobs. */
export function journeyBody(d: JobDetail, canRetry: boolean): Html {
  const first = d.journey[0]?.at;
  const last = d.journey.at(-1)?.at;
  const refusals = d.journey.filter(isRefusal);
  return html`<p><a href="/">← Requests</a></p>
<div id="action-status" role="status" aria-live="polite"></div>
<div id="journey" hx-get="/requests/${encodeURIComponent(d.jobId)}" hx-select="#journey" hx-target="#journey" hx-swap="outerHTML" hx-trigger="requests-changed from:body" hx-disinherit="*">
<h1>Request <code class="mono">${short(d.jobId, 12)}</code></h1>
${
  refusals.length
    ? html`<div class="banner banner-security" role="alert"><strong><span aria-hidden="true">⚠</span> Security refusal${refusals.length > 1 ? 's' : ''}:</strong> ${refusals.map((r) => html`<span>${r.stage}${r.worker ? html` (worker ${short(r.worker, 6)})` : ''}: ${r.detail ?? ''}</span> `)}</div>`
    : ''
}
<div class="card">
<dl class="facts">
  <dt>Job id</dt><dd>${copyable(d.jobId)}</dd>
  <dt>State</dt><dd>${stateBadge(d.state)}</dd>
  <dt>Origin</dt><dd>${d.origin}</dd>
  <dt>Contract</dt><dd>${copyable(d.contractId, short(d.contractId, 10))}</dd>
  <dt>Journey</dt><dd>${d.journey.length} stages${first !== undefined && last !== undefined ? html`, ${duration(last - first)} from first to last` : ''}</dd>
</dl>
${canRetry ? html`<div class="actions" id="journey-actions">${retryButton(d.jobId)}</div>` : ''}
</div>
<h2 id="timeline-title">Timeline</h2>
<ol class="timeline" aria-labelledby="timeline-title">
${d.journey.map((e, i) => {
  const previous = i > 0 ? d.journey[i - 1]!.at : undefined;
  return html`<li class="${isRefusal(e) ? 'refusal' : ''}" data-stage="${e.stage}">
  ${stateBadge(e.stage)} <time datetime="${isoTime(e.at)}">${isoTime(e.at)}</time>
  ${previous !== undefined ? html`<span class="gap">+${duration(e.at - previous)} after ${d.journey[i - 1]!.stage}</span>` : ''}
  ${entryFacts(e)}
</li>`;
})}
</ol>
<h2>Queue jobs</h2>
<div class="table-wrap" role="region" aria-label="Queue jobs" tabindex="0">
<table><thead><tr><th scope="col">Queue</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Failed reason</th></tr></thead>
<tbody>${
    d.queues.length === 0
      ? html`<tr><td colspan="4" class="muted">No queue job (finished and removed, or dropped).</td></tr>`
      : d.queues.map(
          (q) =>
            html`<tr><td><code>${q.queue}</code></td><td>${q.state}</td><td class="num">${q.attempts}</td><td>${q.failedReason ?? ''}</td></tr>`,
        )
  }</tbody></table>
</div>
</div>`;
}

export function retryButton(jobId: string): Html {
  return html`<button type="button" hx-post="/dead/${encodeURIComponent(jobId)}/retry" hx-ext="json-enc" hx-target="#action-status" hx-swap="innerHTML">Retry</button>`;
}

import { copyable, factBadge } from './badges.js';
import { duration, short } from './format.js';
import { type Html, html } from './html.js';
import type { WorkerView, WorkersView } from './workers-data.js';

function approval(w: WorkerView, now: number): Html {
  if (w.revoked !== null) return factBadge(`revoked: ${w.revoked}`, 'security');
  switch (w.status.kind) {
    case 'approved': {
      const until = Number(w.status.expiresAt) * 1000;
      return until > now ? factBadge('approved', 'ok') : factBadge('approval expired', 'bad');
    }
    case 'pending':
      return factBadge('pending approval', 'warn');
    case 'rejected':
      return factBadge(`rejected: ${w.status.reason}`, 'bad');
    case 'revoked':
      return factBadge(`revoked: ${w.status.reason}`, 'security');
  }
}

function workerCard(w: WorkerView, view: WorkersView, now: number): Html {
  const minutes = view.windowMs / 60_000;
  const expires = w.status.kind === 'approved' ? Number(w.status.expiresAt) * 1000 : null;
  return html`<article class="card worker" data-worker="${w.address}" aria-labelledby="w-${w.address}">
<h3 id="w-${w.address}"><code>${short(w.address, 8)}</code> ${approval(w, now)}</h3>
<dl class="facts">
  <dt>Address</dt><dd>${copyable(w.address)}</dd>
  <dt>Identity key</dt><dd>${copyable(w.publicKey, short(w.publicKey, 8))}</dd>
  <dt>Cluster</dt><dd>${copyable(w.cluster, short(w.cluster, 8))}</dd>
  <dt>Measurement</dt><dd>${w.status.kind === 'approved' ? copyable(w.status.measurement, short(w.status.measurement, 8)) : html`<span class="muted">not approved</span>`}</dd>
  <dt>TEE</dt><dd>${w.tee}</dd>
  <dt>TCB status</dt><dd>${w.tcb}</dd>
  <dt>Approval expiry</dt><dd>${expires === null ? html`<span class="muted">–</span>` : html`<time datetime="${new Date(expires).toISOString()}">${new Date(expires).toISOString()}</time> (${expires > now ? `in ${duration(expires - now)}` : `${duration(now - expires)} ago`})`}</dd>
  <dt>Revoked</dt><dd>${w.revoked === null ? 'no' : html`<strong>yes</strong>: ${w.revoked}`}</dd>
  <dt>Gatekeeper approvals</dt><dd>${w.approvedBy.length}${view.threshold !== null ? ` of ${view.threshold} needed` : ''}${w.approvedBy.map((g) => html` <code title="${g}">${short(g, 4)}</code>`)}</dd>
  ${w.gateways.map(
    (g) =>
      html`<dt>Gateway ${g.chain}</dt><dd>${
        g.error
          ? html`${factBadge('read failed', 'bad')} ${g.error}`
          : g.approvedUntil === null
            ? factBadge('not registered', 'warn')
            : html`${g.approvedUntil * 1000 > now ? factBadge('registered', 'ok') : factBadge('expired', 'bad')} until ${new Date(g.approvedUntil * 1000).toISOString()}`
      }</dd>`,
  )}
  <dt>Cluster queue</dt><dd>${
    w.queue === null
      ? html`<span class="muted">unknown</span>`
      : Object.entries(w.queue)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ')
  }</dd>
  <dt>Results (${minutes} min)</dt><dd>${w.results} (${(w.results / minutes).toFixed(2)}/min)</dd>
  <dt>Errors (${minutes} min)</dt><dd>${w.errors > 0 ? factBadge(String(w.errors), 'bad') : '0'} (${(w.errors / minutes).toFixed(2)}/min; contract errors and refused results)</dd>
</dl>
</article>`;
}

export function workersBody(view: WorkersView, now = Date.now()): Html {
  return html`<h1>Workers and gatekeepers</h1>
<div id="workers" hx-get="/workers" hx-select="#workers" hx-swap="outerHTML" hx-trigger="workers-changed from:body" hx-disinherit="*">
${view.errors.map((e) => html`<p class="message error" role="alert">${e}</p>`)}
<p class="muted" aria-live="polite">${view.workers.length} worker${view.workers.length === 1 ? '' : 's'} registered;
${view.workers.filter((w) => w.status.kind === 'approved' && w.revoked === null).length} approved.</p>
<div class="grid">${view.workers.map((w) => workerCard(w, view, now))}</div>
<h2>Gatekeepers</h2>
<div class="table-wrap" role="region" aria-label="Gatekeepers" tabindex="0">
<table><thead><tr><th scope="col">Gatekeeper key</th><th scope="col">Account</th><th scope="col">Added at block</th></tr></thead>
<tbody>${
    view.gatekeepers.length === 0
      ? html`<tr><td colspan="3" class="muted">None read.</td></tr>`
      : view.gatekeepers.map(
          (g) =>
            html`<tr><td>${copyable(g.publicKey, short(g.publicKey, 8))}</td><td>${copyable(g.account, short(g.account, 8))}</td><td class="num">${g.addedAt}</td></tr>`,
        )
  }</tbody></table></div>
<p>Approval threshold on the Phala-style chain: ${view.threshold ?? 'unknown'}.</p>
${view.gatewaySets.map(
  (s) =>
    html`<p>Gateway on <strong>${s.chain}</strong>: ${
      s.error
        ? html`${factBadge('read failed', 'bad')} ${s.error}`
        : html`${s.members.length} gatekeeper${s.members.length === 1 ? '' : 's'} (${s.members.map((m) => html`<code>${m}</code> `)}), threshold ${s.threshold}, epoch ${s.epoch}`
    }</p>`,
)}
</div>`;
}

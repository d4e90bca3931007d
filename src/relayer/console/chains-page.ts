import { copyable, factBadge } from './badges.js';
import type { ChainView } from './chains-data.js';
import { type Html, html, jsonBlock } from './html.js';
import type { QueueSampler } from './samples.js';

function num(n: number | undefined): Html | string {
  return n === undefined ? html`<span class="muted">–</span>` : String(n);
}

export function chainsTables(p: {
  chains: readonly ChainView[];
  sampler: QueueSampler;
  errors: readonly { kind: string; count: number }[];
}): Html {
  const latest = p.sampler.latest;
  const queues = latest ? Object.entries(latest.queues).sort(([a], [b]) => a.localeCompare(b)) : [];
  return html`<div id="chains-tables" hx-get="/chains" hx-select="#chains-tables" hx-swap="outerHTML" hx-trigger="chains-changed from:body" hx-disinherit="*">
<h2>Watched chains</h2>
<div class="table-wrap" role="region" aria-label="Chains" tabindex="0">
<table>
<thead><tr><th scope="col">Chain</th><th scope="col">Status</th><th scope="col">Head</th><th scope="col">Finalized</th><th scope="col">Cursor</th><th scope="col">Lag (blocks)</th><th scope="col">Lag (s)</th><th scope="col">Detail and RPC errors</th></tr></thead>
<tbody>${p.chains.map(
    (c) => html`<tr data-chain="${c.name}">
<th scope="row">${c.name} <span class="muted">(${c.kind}${c.watched ? '' : ', followed for XCM'})</span></th>
<td>${c.readiness ? (c.readiness.ok ? factBadge('ready', 'ok') : factBadge('not ready', 'bad')) : html`<span class="muted">starting</span>`}</td>
<td class="num">${num(c.head)}</td>
<td class="num">${num(c.finalized)}</td>
<td class="num">${num(c.cursor)}</td>
<td class="num">${num(c.lagBlocks)}</td>
<td class="num">${c.lagSeconds === undefined ? num(undefined) : c.lagSeconds.toFixed(0)}</td>
<td>${[...(c.readiness && !c.readiness.ok && c.readiness.detail ? [c.readiness.detail] : []), ...c.errors].map((e) => html`<div>${e}</div>`)}${
      c.readiness?.ok && c.errors.length === 0
        ? html`<span class="muted">${c.readiness.detail ?? 'none'}</span>`
        : ''
    }</td>
</tr>`,
  )}</tbody>
</table></div>
<h2>Signers</h2>
<div class="table-wrap" role="region" aria-label="Signers" tabindex="0">
<table>
<thead><tr><th scope="col">Chain</th><th scope="col">Signer</th><th scope="col">Balance</th><th scope="col">Nonce</th><th scope="col">Pending transactions</th></tr></thead>
<tbody>${p.chains
    .filter((c) => c.signer)
    .map(
      (c) =>
        html`<tr><th scope="row">${c.name}</th><td>${copyable(c.signer!.address)}</td><td>${c.signer!.balance}</td><td class="num">${c.signer!.nonce < 0 ? '?' : c.signer!.nonce}</td><td class="num">${c.signer!.pending < 0 ? '?' : c.signer!.pending}${c.signer!.error ? html` <span class="muted">(${c.signer!.error})</span>` : ''}</td></tr>`,
    )}</tbody>
</table></div>
<h2>Queues</h2>
<div class="table-wrap" role="region" aria-label="Queues" tabindex="0">
<table>
<thead><tr><th scope="col">Queue</th><th scope="col">Waiting</th><th scope="col">Active</th><th scope="col">Delayed</th><th scope="col">Failed</th><th scope="col">Completed</th><th scope="col">Done/min</th></tr></thead>
<tbody>${
    queues.length === 0
      ? html`<tr><td colspan="7" class="muted">No queue open yet.</td></tr>`
      : queues.map(([name, c]) => {
          const rate = p.sampler.ratePerMinute(name);
          return html`<tr><th scope="row"><code>${name}</code></th><td class="num">${c.waiting}</td><td class="num">${c.active}</td><td class="num">${c.delayed}</td><td class="num">${c.failed}</td><td class="num">${c.completed}</td><td class="num">${rate === null ? '–' : rate.toFixed(1)}</td></tr>`;
        })
  }</tbody>
</table></div>
<h2>Errors counted since start</h2>
${
  p.errors.length === 0
    ? html`<p class="muted">None.</p>`
    : html`<ul>${p.errors.map((e) => html`<li><code>${e.kind}</code>: ${e.count}</li>`)}</ul>`
}
</div>`;
}

export function chainsBody(p: {
  chains: readonly ChainView[];
  sampler: QueueSampler;
  errors: readonly { kind: string; count: number }[];
}): Html {
  return html`<h1>Chains and queues</h1>
<section class="card" aria-labelledby="chart-title">
<h2 id="chart-title">Queue depths, last 15 minutes</h2>
<p class="muted">Totals over the relayer's queues, sampled every 10 s; lines differ by dash as well as colour. The table below has the numbers.</p>
<div id="queue-chart" role="img" aria-label="Chart of queue depths over the last 15 minutes"></div>
<script type="application/json" id="chart-data">${jsonBlock(p.sampler.chart())}</script>
</section>
${chainsTables(p)}`;
}

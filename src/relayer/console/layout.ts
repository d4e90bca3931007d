import { type Html, html } from './html.js';
import type { RefusalCount } from './security.js';

/**
 * htmx: no inline styles or eval (the Content-Security-Policy allows neither), requests to this
 * server only, and error replies (409, 401) swapped in like others so their message shows.
 */
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  responseHandling: [
    { code: '204', swap: false },
    { code: '[2345]..', swap: true },
  ],
});

export type Section = 'requests' | 'dead' | 'workers' | 'chains';

const NAV: { id: Section; href: string; label: string }[] = [
  { id: 'requests', href: '/', label: 'Requests' },
  { id: 'dead', href: '/dead', label: 'Dead letters' },
  { id: 'workers', href: '/workers', label: 'Workers' },
  { id: 'chains', href: '/chains', label: 'Chains' },
];

/** The banner every page opens with when anything was refused for security: text and an icon, not colour alone. */
export function refusalBanner(refusals: readonly RefusalCount[]): Html {
  const total = refusals.reduce((n, r) => n + r.count, 0);
  return html`<div id="security-banner" hx-get="/partials/security" hx-trigger="security-changed from:body" hx-disinherit="*" hx-swap="outerHTML">${
    total === 0
      ? ''
      : html`<div class="banner banner-security" role="alert">
  <strong><span aria-hidden="true">⚠</span> Security refusals: ${total}</strong>
  <span>${refusals.map((r) => html`<span class="chip">${r.reason} (${r.role}) × ${r.count}</span> `)}</span>
  <a href="/?state=refused">Refused requests</a> · rows and journey stages marked <span class="badge badge-security"><span aria-hidden="true">⚠ </span>refused</span> or <span class="badge badge-security"><span aria-hidden="true">⚠ </span>result-rejected</span>
</div>`
  }</div>`;
}

export function page(p: {
  title: string;
  section: Section | null;
  body: Html;
  refusals?: readonly RefusalCount[];
  /** Scripts beyond htmx and the console's own (the chart). */
  scripts?: readonly string[];
  styles?: readonly string[];
  live?: boolean;
  /** The journey move the page was rendered with (LiveHub.add). */
  since?: string;
}): string {
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='${HTMX_CONFIG}'>
<title>${p.title} · phala-bridge relayer</title>
<link rel="stylesheet" href="/assets/console.css">
${(p.styles ?? []).map((s) => html`<link rel="stylesheet" href="${s}">`)}
<script src="/assets/htmx.min.js" defer></script>
${(p.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
<script src="/assets/console.js" defer></script>
</head>
<body${p.live === false ? '' : html` data-live="/events" data-since="${p.since ?? ''}"`}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">phala-bridge relayer</span>
  ${
    p.section === null
      ? ''
      : html`<nav aria-label="Console sections"><ul>${NAV.map(
          (n) =>
            html`<li><a href="${n.href}"${n.id === p.section ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
        )}</ul></nav>
  <span class="live" id="live-status" role="status" aria-live="polite">connecting…</span>
  <form class="logout" hx-post="/logout" hx-ext="json-enc"><button type="submit">Log out</button></form>`
  }
</header>
${p.section === null ? '' : refusalBanner(p.refusals ?? [])}
<main id="main" tabindex="-1">
${p.body}
</main>
</body>
</html>`.value
  }`;
}

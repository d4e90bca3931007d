import type { JourneyStage } from '../journey.js';
import { type Html, html } from './html.js';
import { REFUSAL_STAGES } from './security.js';

const DONE: ReadonlySet<string> = new Set(['confirmed', 'already-fulfilled', 'xcm-processed']);
const BAD: ReadonlySet<string> = new Set(['dead']);
const WARN: ReadonlySet<string> = new Set(['cancelled', 'reorged', 'retry']);

/** A state as a badge: its word always, a class for colour, an icon for refusals. */
export function stateBadge(state: JourneyStage | string): Html {
  if (REFUSAL_STAGES.has(state as JourneyStage))
    return html`<span class="badge badge-security"><span aria-hidden="true">⚠ </span>${state}</span>`;
  const kind = DONE.has(state) ? 'ok' : BAD.has(state) ? 'bad' : WARN.has(state) ? 'warn' : 'busy';
  return html`<span class="badge badge-${kind}">${state}</span>`;
}

/** A yes/no fact with its word (approved, revoked...) and a class for colour. */
export function factBadge(text: string, kind: 'ok' | 'warn' | 'bad' | 'busy' | 'security'): Html {
  return html`<span class="badge badge-${kind}">${kind === 'security' ? html`<span aria-hidden="true">⚠ </span>` : ''}${text}</span>`;
}

/** A value with a button that copies it whole (tx hashes, request ids, block numbers). */
export function copyable(value: string, shown = value): Html {
  return html`<code title="${value}">${shown}</code><button type="button" class="copy" data-copy="${value}" aria-label="Copy ${value}">Copy</button>`;
}

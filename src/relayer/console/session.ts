import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { HttpRequestError, type Reply, type Route, sessionOf } from '../http-server.js';
import { html } from './html.js';
import { page } from './layout.js';

/**
 * The console's login: the operator pastes the admin token once; the server answers with an
 * HttpOnly, SameSite=Strict cookie holding `sessionOf(token)` (an HMAC under the token, so not
 * the token itself; a new token ends every session). The admin API's Bearer header keeps working.
 * Anything asked for without either gets this prompt (http-server.ts `loginPage`), never data.
 */
export const SESSION_COOKIE = 'phala_bridge_console';
/** Twelve hours: a working day, after which the token is asked for again. */
const SESSION_SECONDS = 12 * 3600;

const loginBody = z.strictObject({ token: z.string().min(1).max(1024) });

export function loginPage(message?: string): Reply {
  return {
    contentType: 'text/html; charset=utf-8',
    text: page({
      title: 'Log in',
      section: null,
      live: false,
      body: html`<section class="login card" aria-labelledby="login-title">
  <h1 id="login-title">Relayer console: log in</h1>
  <p class="muted">Paste the relayer's admin token (<code>admin.token</code> in its configuration).</p>
  <form id="login-form" hx-post="/login" hx-ext="json-enc" hx-target="#login-message" hx-swap="innerHTML">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <p><button class="primary" type="submit">Log in</button></p>
  </form>
  <div id="login-message" role="alert">${message ? html`<p class="message error">${message}</p>` : ''}</div>
  <noscript><p class="message error">The console needs JavaScript to log in.</p></noscript>
</section>`,
    }),
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(sessionOf(a));
  const y = Buffer.from(sessionOf(b));
  return timingSafeEqual(x, y);
}

const fragment = (
  body: ReturnType<typeof html>,
  status = 200,
  headers: Record<string, string> = {},
): Reply => ({
  status,
  contentType: 'text/html; charset=utf-8',
  text: body.value,
  headers,
});

/** `token`: the admin server's (null when none is configured: then there is nothing to log in to). */
export function sessionRoutes(token: string | null): Route[] {
  return [
    {
      method: 'GET',
      path: '/login',
      access: 'public',
      handler: async () => loginPage(),
    },
    {
      method: 'POST',
      path: '/login',
      access: 'public',
      handler: async ({ body }) => {
        const parsed = loginBody.safeParse(body ?? {});
        if (!parsed.success) throw new HttpRequestError(400, 'invalid body: token');
        if (token === null)
          return fragment(html`<p class="message">No token is configured: the console is open.</p>`, 200, {
            'hx-redirect': '/',
          });
        if (!same(parsed.data.token, token)) {
          // A little slower to answer a wrong token: guessing costs time (the token is long anyway).
          await new Promise((r) => setTimeout(r, 250));
          return fragment(
            html`<p class="message error">That token is not this relayer's admin token.</p>`,
            401,
          );
        }
        return fragment(html`<p class="message">Logged in.</p>`, 200, {
          'set-cookie': `${SESSION_COOKIE}=${sessionOf(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}`,
          'hx-redirect': '/',
        });
      },
    },
    {
      method: 'POST',
      path: '/logout',
      access: 'public',
      handler: async () =>
        fragment(html`<p>Logged out.</p>`, 200, {
          'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
          'hx-redirect': '/login',
        }),
    },
  ];
}

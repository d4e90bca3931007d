import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
} from 'node:http';
import type { Logger } from 'pino';
import { BaseError, type Retry, cliErrorText, retryOfHttpStatus } from '../base/errors.js';
import { hostNameOf, isIpLiteral, isLoopbackHost } from '../base/net-host.js';
import { redactUrl } from '../base/redact-url.js';

/**
 * A small HTTP server: routes are `METHOD /path/:param` patterns. Kept on node:http rather than a
 * framework (fastify, hono): the relayer serves a handful of JSON endpoints and a metrics page,
 * and every rule below (token, Host, Origin, content type, body cap, error hiding) is a few lines
 * here that a framework would need plugins and configuration for, plus a new dependency.
 *
 * Rules, in order: the Host header must name an allowed host (DNS rebinding) and a browser's
 * Origin must be the server's own (both when `allowedHosts` is given); the bearer token (or the
 * console's session cookie derived from it) must match when one is configured, and no token is
 * accepted when none is — except on routes marked public (static files, the login prompt), and a
 * page refused for its token gets the login prompt instead of JSON; writes must be
 * `application/json` (415) and small (413); a handler's `HttpRequestError` is its reply, and any
 * other failure is a 500 with an error id, its details only in the log.
 */
export type Route = {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** 'public': answered without the token (the console's login prompt and its static files). */
  access?: 'public';
  handler: (req: RouteRequest) => Promise<Reply>;
};
export type RouteRequest = {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  headers: IncomingHttpHeaders;
};
/** An open server-sent event stream: `send` writes one event; `closed` fires when the client leaves. */
export type EventStream = { send(event: string, data: string): void; onClose(listener: () => void): void };
export type Reply = {
  status?: number;
  json?: unknown;
  text?: string;
  /** Raw bytes (static files). */
  body?: Buffer;
  contentType?: string;
  /** Extra headers (Set-Cookie, htmx's HX-Redirect, Cache-Control of static files). */
  headers?: Record<string, string>;
  /** A server-sent event stream (text/event-stream) kept open until the client leaves. */
  events?: (stream: EventStream) => void;
};

export type HttpServerParameters = {
  host: string;
  port: number;
  routes: Route[];
  logger: Logger;
  /**
   * A string: every request must carry `Authorization: Bearer <token>`. `null`: no token is
   * configured, and a request that carries one is refused (never "any token will do").
   * Undefined: the server does not look at Authorization (the metrics page).
   */
  token?: string | null | undefined;
  /**
   * When set, the Host header must be one of these names, `localhost`, an IP literal or the
   * listening host; and a request with an Origin header must come from that same host.
   */
  allowedHosts?: readonly string[] | undefined;
  /** Largest request body accepted (413 above it); default 16 KiB. */
  maxBodyBytes?: number | undefined;
  /**
   * A cookie that stands for the token (the console's login, src/relayer/console/session.ts): its
   * value must be `sessionOf(token)`. Only with a string token; the Bearer header keeps working.
   */
  sessionCookie?: string | undefined;
  /**
   * What a page (a browser navigation or an htmx request) refused for its token gets instead of
   * the JSON 401: the console's login prompt, never data.
   */
  loginPage?: (() => Reply) | undefined;
};

/**
 * The session cookie's value for a token: an HMAC of a fixed label under the token, so the cookie
 * is not the token itself and a new token ends every session.
 */
export function sessionOf(token: string): string {
  return createHmac('sha256', token).update('phala-bridge console session v1').digest('base64url');
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Content-Security-Policy of every reply: scripts and styles from this server only, no frames. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** What a handler throws to answer with a client error: its short message is the public reply. */
export class HttpRequestError extends BaseError {
  /** As its status says: a client error is "not this request". */
  static override readonly retry: Retry = 'never';
  override name = 'HttpRequestError';
  readonly status: number;
  constructor(status: number, shortMessage: string, parameters: { details?: string } = {}) {
    super(shortMessage, { ...parameters, retry: retryOfHttpStatus(status) });
    this.status = status;
  }
}

const DEFAULT_MAX_BODY = 16 * 1024;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(':')) {
      try {
        params[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
      } catch {
        throw new HttpRequestError(400, 'malformed path');
      }
    } else if (a[i] !== b[i]) return null;
  }
  return params;
}

async function readJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new HttpRequestError(413, `request body over ${max} bytes`);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new HttpRequestError(413, `request body over ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpRequestError(400, 'request body is not valid JSON');
  }
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compared at equal length so the time taken does not tell how much of the token matched.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The first rule a request breaks (its reply), or null when it may go on to its route. */
function refusal(req: IncomingMessage, p: HttpServerParameters, isPublic: boolean): HttpRequestError | null {
  if (p.allowedHosts) {
    const hostHeader = req.headers.host ?? '';
    const name = hostNameOf(hostHeader);
    const allowed =
      name !== '' &&
      (isIpLiteral(name) ||
        isLoopbackHost(name) ||
        name === p.host.toLowerCase() ||
        p.allowedHosts.some((h) => h.toLowerCase() === name));
    if (!allowed) return new HttpRequestError(403, 'host not allowed');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${hostHeader}` && origin !== `https://${hostHeader}`)
      return new HttpRequestError(403, 'cross-origin request refused');
    if (req.headers['sec-fetch-site'] === 'cross-site')
      return new HttpRequestError(403, 'cross-origin request refused');
  }
  const authorization = req.headers.authorization;
  const session = p.sessionCookie ? cookieOf(req, p.sessionCookie) : undefined;
  if (isPublic) {
    // Static files and the login prompt: no token needed, nothing to read without one.
  } else if (typeof p.token === 'string') {
    const byHeader = authorization !== undefined && sameToken(authorization, `Bearer ${p.token}`);
    const bySession = session !== undefined && sameToken(session, sessionOf(p.token));
    if (!byHeader && !bySession) return new HttpRequestError(401, 'unauthorized');
  } else if (p.token === null && authorization !== undefined) {
    // A caller that believes it authenticates is told it does not, rather than let through.
    return new HttpRequestError(401, 'unauthorized: this server has no token configured');
  }
  if (req.method && WRITE_METHODS.has(req.method)) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return new HttpRequestError(415, 'writes must be application/json');
  }
  return null;
}

/** A browser navigation or an htmx request: answered with a page, not JSON. */
function isPage(req: IncomingMessage): boolean {
  return req.headers['hx-request'] === 'true' || (req.headers.accept ?? '').includes('text/html');
}

export async function startHttpServer(
  parameters: HttpServerParameters,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const maxBody = parameters.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const send = (reply: Reply) => {
        if (res.headersSent) return;
        const status = reply.status ?? 200;
        const common = {
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          ...SECURITY_HEADERS,
          ...reply.headers,
        };
        if (reply.events) {
          res.writeHead(status, { ...common, 'content-type': 'text/event-stream', connection: 'keep-alive' });
          // A comment first, so the browser's EventSource reports the stream open at once.
          res.write(': open\n\n');
          reply.events({
            send: (event, data) => {
              res.write(
                `event: ${event}\n${data
                  .split('\n')
                  .map((l) => `data: ${l}\n`)
                  .join('')}\n`,
              );
            },
            onClose: (listener) => res.once('close', listener),
          });
        } else if (reply.body !== undefined) {
          res.writeHead(status, {
            ...common,
            'content-type': reply.contentType ?? 'application/octet-stream',
          });
          res.end(reply.body);
        } else if (reply.text !== undefined) {
          res.writeHead(status, {
            ...common,
            'content-type': reply.contentType ?? 'text/plain; charset=utf-8',
          });
          res.end(reply.text);
        } else {
          res.writeHead(status, { ...common, 'content-type': 'application/json' });
          res.end(JSON.stringify(reply.json ?? null, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
        }
      };
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        // The route is looked up first (whether it is public decides the token rule); a malformed
        // path is still answered only after the rules, as before.
        let found: { route: Route; params: Record<string, string> } | undefined;
        let malformed: unknown;
        for (const route of parameters.routes) {
          if (route.method !== req.method) continue;
          try {
            const params = match(route.path, url.pathname);
            if (params) {
              found = { route, params };
              break;
            }
          } catch (error) {
            malformed ??= error;
          }
        }
        const refused = refusal(req, parameters, found?.route.access === 'public');
        if (refused) throw refused;
        if (!found && malformed) throw malformed;
        if (!found) return send({ status: 404, json: { error: 'not found' } });
        const body = req.method === 'GET' ? undefined : await readJsonBody(req, maxBody);
        const { route, params } = found;
        return send(await route.handler({ params, query: url.searchParams, body, headers: req.headers }));
      } catch (error) {
        if (error instanceof HttpRequestError && error.status === 401 && parameters.loginPage && isPage(req))
          return send({ ...parameters.loginPage(), status: 401 });
        if (error instanceof HttpRequestError) {
          if (error.status === 413) res.setHeader('connection', 'close');
          return send({ status: error.status, json: { error: error.shortMessage } });
        }
        // The caller learns that it failed and the id to quote; the details stay in the log.
        const errorId = randomBytes(6).toString('hex');
        parameters.logger.error(
          { errorId, method: req.method, path: url.pathname, err: redactUrl(cliErrorText(error)) },
          'http handler failed',
        );
        send({ status: 500, json: { error: 'internal error', errorId } });
      }
    })();
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parameters.port, parameters.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : parameters.port;
  const host = parameters.host.includes(':') ? `[${parameters.host}]` : parameters.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
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
 * Origin must be the server's own (both when `allowedHosts` is given); the bearer token must
 * match when one is configured, and no token is accepted when none is; writes must be
 * `application/json` (415) and small (413); a handler's `HttpRequestError` is its reply, and any
 * other failure is a 500 with an error id, its details only in the log.
 */
export type Route = {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  handler: (req: { params: Record<string, string>; query: URLSearchParams; body: unknown }) => Promise<Reply>;
};
export type Reply = { status?: number; json?: unknown; text?: string; contentType?: string };

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
function refusal(req: IncomingMessage, p: HttpServerParameters): HttpRequestError | null {
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
  if (typeof p.token === 'string') {
    if (authorization === undefined || !sameToken(authorization, `Bearer ${p.token}`))
      return new HttpRequestError(401, 'unauthorized');
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

export async function startHttpServer(
  parameters: HttpServerParameters,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const maxBody = parameters.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const send = (reply: Reply) => {
        if (res.headersSent) return;
        const status = reply.status ?? 200;
        const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
        if (reply.text !== undefined) {
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
        const refused = refusal(req, parameters);
        if (refused) throw refused;
        for (const route of parameters.routes) {
          if (route.method !== req.method) continue;
          const params = match(route.path, url.pathname);
          if (!params) continue;
          const body = req.method === 'GET' ? undefined : await readJsonBody(req, maxBody);
          return send(await route.handler({ params, query: url.searchParams, body }));
        }
        send({ status: 404, json: { error: 'not found' } });
      } catch (error) {
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

import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../base/errors.js';

/**
 * A small HTTP server: routes are `METHOD /path/:param` patterns. Kept in-house because the
 * relayer needs four JSON endpoints and a metrics text page, not a framework; bodies are capped
 * and every handler error becomes a JSON error response, never a crash.
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
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string | undefined;
};

const MAX_BODY = 64 * 1024;

function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(':')) params[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startHttpServer(
  parameters: HttpServerParameters,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const send = (reply: Reply) => {
        const status = reply.status ?? 200;
        if (reply.text !== undefined) {
          res.writeHead(status, { 'content-type': reply.contentType ?? 'text/plain; charset=utf-8' });
          res.end(reply.text);
        } else {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply.json ?? null, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
        }
      };
      try {
        if (!authorized(req, parameters.token)) return send({ status: 401, json: { error: 'unauthorized' } });
        const url = new URL(req.url ?? '/', 'http://localhost');
        for (const route of parameters.routes) {
          if (route.method !== req.method) continue;
          const params = match(route.path, url.pathname);
          if (!params) continue;
          const body = req.method === 'GET' ? undefined : await readBody(req);
          return send(await route.handler({ params, query: url.searchParams, body }));
        }
        send({ status: 404, json: { error: 'not found' } });
      } catch (error) {
        parameters.logger.warn({ path: req.url, err: errorMessage(error) }, 'http handler failed');
        send({ status: 400, json: { error: errorMessage(error) } });
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
  return {
    server,
    url: `http://${parameters.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

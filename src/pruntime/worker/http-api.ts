import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BaseError, type Retry, errorMessage, retryOfHttpStatus } from '../../base/errors.js';
import type { Logger } from '../../log/logger.js';
import { type QueryBody, QueryError, type QueryResponse, queryBodySchema } from './direct-query.js';

/**
 * The worker's small HTTP API (docs/pruntime-worker.md#http-api):
 *
 *   GET  /info     public keys, measurement, quote, cluster, registration and approval status, keys held
 *   GET  /healthz  200 when the worker's connections (chain, Redis) are up, 503 otherwise
 *   GET  /metrics  Prometheus text: security refusals by reason (docs/operations.md#alerts)
 *   POST /query    a direct confidential query, sealed end to end (direct-query.ts)
 *
 * Every body is size-capped and validated; errors are `{ error, detail }` with a status that
 * says what was wrong. Queries run at most `maxConcurrentQueries` at a time (429 beyond), and each
 * contract within its share of the engine (429 `contract-busy`, from the handler).
 */
export type HttpApiHandlers = {
  info(): unknown;
  health(): { ok: boolean } & Record<string, unknown>;
  query(body: QueryBody): Promise<QueryResponse>;
  metrics(): Promise<{ contentType: string; text: string }>;
};

export type HttpApiParameters = {
  host: string;
  /** 0 picks a free port. */
  port: number;
  handlers: HttpApiHandlers;
  logger: Logger;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Queries answered at once (default 8); more get 429. */
  maxConcurrentQueries?: number;
};

export type HttpApi = { url: string; close(): Promise<void> };

class HttpError extends BaseError {
  /** As its HTTP status says (429: retry shortly; other 4xx: not this request). */
  static override readonly retry: Retry = 'never';
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`, { retry: retryOfHttpStatus(status) });
  }
}

export async function startHttpApi(p: HttpApiParameters): Promise<HttpApi> {
  const maxBody = p.maxBodyBytes ?? 1024 * 1024;
  const maxQueries = p.maxConcurrentQueries ?? 8;
  let activeQueries = 0;

  const route = async (request: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    const path = new URL(request.url ?? '/', 'http://worker').pathname;
    const method = request.method ?? 'GET';
    if (path === '/metrics') {
      if (method !== 'GET') throw new HttpError(405, 'method-not-allowed', `${method} ${path}`);
      return { status: 200, body: new PlainText(await p.handlers.metrics()) };
    }
    if (path === '/info' || path === '/healthz') {
      if (method !== 'GET' && method !== 'HEAD')
        throw new HttpError(405, 'method-not-allowed', `${method} ${path}`);
      if (path === '/info') return { status: 200, body: p.handlers.info() };
      const health = p.handlers.health();
      return { status: health.ok ? 200 : 503, body: health };
    }
    if (path !== '/query') throw new HttpError(404, 'not-found', path);
    if (method !== 'POST') throw new HttpError(405, 'method-not-allowed', `${method} ${path}`);
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type))
      throw new HttpError(415, 'unsupported-media-type', 'send application/json');
    const text = await readBody(request, maxBody);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'bad-request', 'the body is not JSON');
    }
    const parsed = queryBodySchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(400, 'bad-request', `${issue.path.join('.') || '(body)'}: ${issue.message}`);
    }
    if (activeQueries >= maxQueries)
      throw new HttpError(429, 'busy', 'too many queries at once; retry shortly');
    activeQueries++;
    try {
      return { status: 200, body: await p.handlers.query(parsed.data) };
    } finally {
      activeQueries--;
    }
  };

  const server: Server = createServer((request, response) => {
    route(request)
      .then(({ status, body }) => send(response, status, body, request.method === 'HEAD'))
      .catch((error: unknown) => {
        if (error instanceof HttpError || error instanceof QueryError) {
          const code = error instanceof HttpError ? error.code : error.code;
          const detail = error instanceof HttpError ? error.detail : error.shortMessage;
          send(response, error.status, { error: code, detail });
          // Drain nothing more from a body that was too large: close once the reply is out.
          if (error.status === 413) response.once('finish', () => request.destroy());
          return;
        }
        p.logger.warn({ path: request.url, err: errorMessage(error) }, 'http request failed');
        send(response, 500, { error: 'internal', detail: 'the worker could not answer; retry' });
      });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.port, p.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** A body sent as it is (Prometheus' text format), not as JSON. */
class PlainText {
  constructor(readonly value: { contentType: string; text: string }) {}
}

function send(response: ServerResponse, status: number, body: unknown, headOnly = false): void {
  if (response.headersSent) return;
  const plain = body instanceof PlainText ? body.value : null;
  const text = plain
    ? plain.text
    : `${JSON.stringify(body, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
  response.writeHead(status, {
    'content-type': plain ? plain.contentType : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(headOnly ? undefined : text);
}

function readBody(request: IncomingMessage, max: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > max) return Promise.reject(new HttpError(413, 'payload-too-large', `at most ${max} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        reject(new HttpError(413, 'payload-too-large', `at most ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

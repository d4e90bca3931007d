import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { errorMessage } from '../../../base/errors.js';
import type { ChainLogger, DevChain } from '../chain/chain.js';
import { callCost } from './cost.js';
import { RpcError, RpcErrors } from './errors.js';
import { InvalidJson, JsonBodyParser } from './json-parse.js';
import { RPC_LIMIT_FLAGS, type RpcLimits, resolveRpcLimits } from './limits.js';
import {
  type Emit,
  type MethodDef,
  type NodeInfo,
  type SubscriptionHandle,
  createMethods,
} from './methods.js';
import { WorkScheduler } from './work.js';

/**
 * JSON-RPC 2.0 over WebSocket and HTTP on one port, as a Substrate node serves it: batches,
 * subscriptions with notifications `{ method, params: { subscription, result } }`, and the limits
 * that keep one hostile client from taking the node down or making it slow for everyone else
 * (see limits.ts): sizes, connections, subscriptions per connection and in total, batch length,
 * a cost budget per call and per batch, request bodies received at once, and long work and
 * notification fan-out run in slices that give the event loop back.
 */

export type RpcServerOptions = Partial<RpcLimits> & {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Expose dev_* helpers (new block, time travel, finality lag); off unless asked (`--dev`). */
  dev?: boolean;
  node?: NodeInfo;
  logger?: ChainLogger;
};

export type RpcServer = {
  readonly port: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly connections: number;
  close(): Promise<void>;
};

type Json = Record<string, unknown>;
type Id = string | number | null;

/** Subscriptions of all connections, against `maxSubscriptions`. */
type SubscriptionCount = { total: number };

class Connection {
  readonly #subscriptions = new Map<string, SubscriptionHandle>();
  closed = false;
  constructor(
    readonly ws: WebSocket,
    readonly maxBuffered: number,
    readonly count: SubscriptionCount,
  ) {}

  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  hasSubscription(id: string): boolean {
    return this.#subscriptions.has(id);
  }

  addSubscription(id: string, handle: SubscriptionHandle): void {
    this.#subscriptions.set(id, handle);
    this.count.total++;
  }

  /** Stops and forgets a subscription; false if there was none with this id. */
  removeSubscription(id: string): boolean {
    const handle = this.#subscriptions.get(id);
    if (!handle) return false;
    this.#subscriptions.delete(id);
    this.count.total--;
    handle.stop();
    return true;
  }

  send(text: string): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.maxBuffered) {
      // The client is not reading: drop it rather than buffer without bound.
      this.ws.close(1013, 'send buffer full');
      return;
    }
    this.ws.send(text);
  }

  dispose(): void {
    this.closed = true;
    for (const id of [...this.#subscriptions.keys()]) this.removeSubscription(id);
  }
}

function subscriptionId(): string {
  // jsonrpsee's RandomStringIdProvider: 16 alphanumeric characters.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(16);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

function errorResponse(id: Id, error: RpcError): Json {
  const body: Json = { code: error.code, message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return { jsonrpc: '2.0', error: body, id };
}

const COMMA = 0x2c;

/**
 * Commas bound the number of values in a JSON text; counted (up to `max + 1`) before it is
 * parsed, with the native byte search, so a body of one long string costs next to nothing.
 */
function jsonValues(chunks: readonly Buffer[], max: number): number {
  let n = 1;
  for (const bytes of chunks)
    for (let i = bytes.indexOf(COMMA); i !== -1 && n <= max; i = bytes.indexOf(COMMA, i + 1)) n++;
  return n;
}

function validId(id: unknown): id is Id {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

export async function startRpcServer(chain: DevChain, options: RpcServerOptions = {}): Promise<RpcServer> {
  const { host = '127.0.0.1', port: listenPort = 0, dev = false, node, logger, ...overrides } = options;
  const limits = resolveRpcLimits(overrides);
  const work = new WorkScheduler(limits.sliceMs, limits.maxConcurrentHeavy);
  const methods = createMethods(chain, node ?? { name: 'phala-bridge dev node', version: '0.1.0' }, {
    dev,
    work,
  });
  const unsubscribeMethods = new Map<string, string>();
  for (const [name, m] of methods)
    if (m.kind === 'subscribe') for (const u of m.unsubscribe) unsubscribeMethods.set(u, name);
  const connections = new Set<Connection>();
  const subscriptions: SubscriptionCount = { total: 0 };
  const parser = new JsonBodyParser();

  /** A response as text, or the oversized-response error in its place. */
  function serialize(response: Json, id: Id): string {
    const text = JSON.stringify(response);
    if (text.length <= limits.maxResponseBytes) return text;
    return JSON.stringify(errorResponse(id, RpcErrors.oversizedResponse(limits.maxResponseBytes)));
  }

  /** What a request object asks for, or why it is not a valid request. */
  function parseRequest(
    request: unknown,
  ):
    | { ok: true; id: Id; hasId: boolean; method: string; params: unknown[] }
    | { ok: false; response: Json | null } {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return { ok: false, response: errorResponse(null, RpcErrors.invalidRequest()) };
    }
    const r = request as Json;
    const hasId = 'id' in r;
    const id = hasId && validId(r.id) ? r.id : null;
    if (r.jsonrpc !== '2.0' || typeof r.method !== 'string' || (hasId && !validId(r.id))) {
      return { ok: false, response: errorResponse(id, RpcErrors.invalidRequest()) };
    }
    const params = r.params === undefined ? [] : r.params;
    if (!Array.isArray(params)) {
      return {
        ok: false,
        response: hasId ? errorResponse(id, RpcErrors.invalidParams('params must be an array')) : null,
      };
    }
    return { ok: true, id, hasId, method: r.method, params };
  }

  /** Handles one request object; returns the response text, or null for a notification. */
  async function handle(request: unknown, conn: Connection | null): Promise<string | null> {
    const parsed = parseRequest(request);
    if (!parsed.ok) return parsed.response ? JSON.stringify(parsed.response) : null;
    const { id, hasId, method, params } = parsed;
    try {
      const cost = callCost(chain, method, params);
      if (cost > limits.maxRequestCost) {
        throw RpcErrors.tooCostly(method, cost, limits.maxRequestCost, RPC_LIMIT_FLAGS.maxRequestCost);
      }
      const result =
        cost >= limits.heavyCost
          ? await work.heavy(() => dispatch(method, params, conn, id))
          : await dispatch(method, params, conn, id);
      if (!hasId || result === SUBSCRIBED) return null;
      return serialize({ jsonrpc: '2.0', result, id }, id);
    } catch (error) {
      if (!hasId) return null;
      if (error instanceof RpcError) return JSON.stringify(errorResponse(id, error));
      logger?.error({ method, error: errorMessage(error) }, 'rpc handler failed');
      return JSON.stringify(errorResponse(id, RpcErrors.internal(errorMessage(error))));
    }
  }

  async function dispatch(
    method: string,
    params: unknown[],
    conn: Connection | null,
    id: Id,
  ): Promise<unknown> {
    const unsubscribeOf = unsubscribeMethods.get(method);
    if (unsubscribeOf) {
      if (!conn) throw RpcErrors.methodNotFound();
      const subId = params[0];
      if (typeof subId !== 'string' && typeof subId !== 'number')
        throw RpcErrors.invalidParams('subscription id');
      return conn.removeSubscription(String(subId));
    }
    const def: MethodDef | undefined = methods.get(method);
    if (!def) throw RpcErrors.methodNotFound();
    if (def.kind === 'call') return await def.handler(params);
    // Subscriptions need a WebSocket connection.
    if (!conn) throw RpcErrors.methodNotFound();
    if (conn.subscriptionCount >= limits.maxSubscriptionsPerConnection)
      throw RpcErrors.tooManySubscriptions(limits.maxSubscriptionsPerConnection);
    if (subscriptions.total >= limits.maxSubscriptions)
      throw RpcErrors.tooManySubscriptionsInTotal(limits.maxSubscriptions);
    const handle = def.subscribe(params);
    const subId = subscriptionId();
    conn.addSubscription(subId, handle);
    const prefix = `{"jsonrpc":"2.0","method":${JSON.stringify(def.notification)},"params":{"subscription":"${subId}","result":`;
    const emit: Emit = (result, opts) => {
      if (!conn.hasSubscription(subId)) return;
      // Sends go through the scheduler: a new block fans out to thousands of subscriptions in
      // slices, not in one long turn of the loop.
      work.defer(() => conn.send(`${prefix}${serializedResult(result)}}}`));
      if (opts?.final) conn.removeSubscription(subId);
    };
    // The subscription id is answered first; notifications follow it.
    queueMicrotask(() => {
      try {
        conn.send(JSON.stringify({ jsonrpc: '2.0', result: subId, id }));
        handle.start(emit);
      } catch (error) {
        logger?.error({ method, error: errorMessage(error) }, 'subscription failed');
      }
    });
    return SUBSCRIBED;
  }

  /** Parses a frame or body and answers it (one object or a batch). */
  async function handleBody(
    chunks: readonly Buffer[],
    size: number,
    conn: Connection | null,
  ): Promise<string | null> {
    // Parsing starts in a slice of its own, not in the I/O callback that brought the body.
    await work.pause();
    // A body of many small values costs long to parse, and parsing cannot be paused: refuse it
    // before parsing.
    if (size > limits.maxJsonValues) {
      const values = jsonValues(chunks, limits.maxJsonValues);
      if (values > limits.maxJsonValues)
        return JSON.stringify(errorResponse(null, RpcErrors.tooManyJsonValues(limits.maxJsonValues)));
    }
    let parsed: unknown;
    try {
      parsed = await parser.parse(chunks, size);
    } catch (error) {
      if (error instanceof InvalidJson) return JSON.stringify(errorResponse(null, RpcErrors.parse()));
      throw error;
    }
    if (!Array.isArray(parsed)) return handle(parsed, conn);
    if (parsed.length === 0)
      return JSON.stringify(errorResponse(null, RpcErrors.invalidRequest('empty batch')));
    if (parsed.length > limits.maxBatch)
      return JSON.stringify(errorResponse(null, RpcErrors.batchTooLong(parsed.length, limits.maxBatch)));
    // The batch's budget is the sum of its calls' costs, checked before any of them runs.
    let total = 0;
    for (const item of parsed) {
      const request = parseRequest(item);
      if (request.ok) total += callCost(chain, request.method, request.params);
    }
    if (total > limits.maxBatchCost) {
      return JSON.stringify(
        errorResponse(
          null,
          RpcErrors.tooCostly(
            `a batch of ${parsed.length} calls`,
            total,
            limits.maxBatchCost,
            RPC_LIMIT_FLAGS.maxBatchCost,
          ),
        ),
      );
    }
    const responses: string[] = [];
    let responseBytes = 2;
    for (const item of parsed) {
      await work.pause();
      const response = await handle(item, conn);
      if (response === null) continue;
      responses.push(response);
      responseBytes += response.length + 1;
    }
    if (responseBytes > limits.maxResponseBytes)
      return JSON.stringify(errorResponse(null, RpcErrors.batchResponseTooBig(limits.maxResponseBytes)));
    return responses.length ? `[${responses.join(',')}]` : null;
  }

  /** Results shared by many subscriptions (a new head) are serialized once. */
  const serializedResults = new WeakMap<object, string>();
  function serializedResult(result: unknown): string {
    if (typeof result !== 'object' || result === null) return JSON.stringify(result ?? null);
    let text = serializedResults.get(result);
    if (text === undefined) {
      text = JSON.stringify(result);
      serializedResults.set(result, text);
    }
    return text;
  }

  // ------------------------------------------------------------------------------ HTTP
  // Bodies being received and their bytes, node-wide: a flood of large POSTs is refused (503)
  // instead of buffered.
  let bodiesInFlight = 0;
  let bufferedBodyBytes = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, text: string | undefined) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text ?? '');
    };
    /** Answers with an error and stops reading the body: the connection is closed after it. */
    const refuse = (status: 413 | 503, error: RpcError) => {
      if (res.headersSent) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        connection: 'close',
        ...(status === 503 ? { 'retry-after': '1' } : {}),
      });
      res.end(JSON.stringify(errorResponse(null, error)));
      res.once('finish', () => setImmediate(() => req.destroy()));
    };
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/health/readiness')) {
      reply(200, JSON.stringify({ peers: 0, isSyncing: false, shouldHavePeers: false }));
      return;
    }
    if (req.method !== 'POST') {
      reply(405, undefined);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > limits.maxRequestBytes) {
      refuse(413, RpcErrors.oversizedRequest(limits.maxRequestBytes));
      return;
    }
    if (bodiesInFlight >= limits.maxConcurrentBodies) {
      refuse(
        503,
        RpcErrors.busy(
          `${bodiesInFlight} request bodies are being received, the limit (${RPC_LIMIT_FLAGS.maxConcurrentBodies}) is ${limits.maxConcurrentBodies}`,
        ),
      );
      return;
    }
    const bufferedBusy = () =>
      RpcErrors.busy(
        `request bodies being received would take more than ${limits.maxBufferedBodyBytes} bytes (${RPC_LIMIT_FLAGS.maxBufferedBodyBytes})`,
      );
    // The declared length is reserved up front, so parallel bodies cannot all start.
    let counted = Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
    if (bufferedBodyBytes + counted > limits.maxBufferedBodyBytes) {
      refuse(503, bufferedBusy());
      return;
    }
    bodiesInFlight++;
    bufferedBodyBytes += counted;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      bodiesInFlight--;
      bufferedBodyBytes -= counted;
    };
    res.once('close', release);
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > counted) {
        bufferedBodyBytes += size - counted;
        counted = size;
      }
      if (size > limits.maxRequestBytes) {
        aborted = true;
        refuse(413, RpcErrors.oversizedRequest(limits.maxRequestBytes));
      } else if (bufferedBodyBytes > limits.maxBufferedBodyBytes) {
        aborted = true;
        refuse(503, bufferedBusy());
      }
      if (aborted) {
        chunks.length = 0;
        release();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      aborted = true;
      release();
    });
    req.on('end', () => {
      if (aborted) return;
      handleBody(chunks, size, null)
        .then((response) => reply(200, response ?? undefined))
        .catch((error) =>
          reply(500, JSON.stringify(errorResponse(null, RpcErrors.internal(errorMessage(error))))),
        )
        .finally(release);
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });

  // ------------------------------------------------------------------------------ WebSocket
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxRequestBytes });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (connections.size >= limits.maxConnections) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws: WebSocket) => {
    const conn = new Connection(ws, limits.maxSendBufferBytes, subscriptions);
    connections.add(conn);
    // Requests of one connection are answered in order; a flood beyond the cap is refused.
    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    ws.on('message', (data: RawData) => {
      const chunks = Array.isArray(data)
        ? data
        : [Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)];
      const size = chunks.reduce((sum, c) => sum + c.length, 0);
      if (pending >= limits.maxPendingPerConnection) {
        const busy = RpcErrors.busy(
          `${pending} requests of this connection are waiting (limit ${limits.maxPendingPerConnection})`,
        );
        conn.send(JSON.stringify(errorResponse(null, busy)));
        return;
      }
      pending++;
      queue = queue.then(async () => {
        try {
          const response = await handleBody(chunks, size, conn);
          if (response !== null) conn.send(response);
        } catch (error) {
          logger?.error({ error: errorMessage(error) }, 'rpc message failed');
        } finally {
          pending--;
        }
      });
    });
    ws.on('error', () => {
      // Protocol errors (oversized or malformed frames) close this connection only.
    });
    ws.on('close', () => {
      conn.dispose();
      connections.delete(conn);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger?.error({ error: errorMessage(error) }, 'rpc server error'));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    wsUrl: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    get connections() {
      return connections.size;
    },
    async close() {
      for (const conn of connections) {
        conn.dispose();
        conn.ws.terminate();
      }
      connections.clear();
      await parser.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}

const SUBSCRIBED = Symbol('subscribed');

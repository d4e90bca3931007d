import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { errorMessage } from '../../../base/errors.js';
import type { ChainLogger, DevChain } from '../chain/chain.js';
import { RpcError, RpcErrors } from './errors.js';
import {
  type Emit,
  type MethodDef,
  type NodeInfo,
  type SubscriptionHandle,
  createMethods,
} from './methods.js';

/**
 * JSON-RPC 2.0 over WebSocket and HTTP on one port, as a Substrate node serves it: batches,
 * subscriptions with notifications `{ method, params: { subscription, result } }`, and the limits
 * that keep one hostile client from taking the node down (frame and body size, connections,
 * subscriptions per connection, batch size, a bounded send buffer).
 */

export type RpcServerOptions = {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxConnections?: number;
  maxRequestBytes?: number;
  maxSubscriptionsPerConnection?: number;
  maxBatch?: number;
  /** A connection whose unsent data exceeds this is closed (a client that stopped reading). */
  maxBufferedBytes?: number;
  /** Requests of one connection waiting to be answered; beyond it, `-32009 Server is busy`. */
  maxPendingPerConnection?: number;
  /** Expose dev_* helpers (new block, time travel, finality lag). */
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

class Connection {
  readonly subscriptions = new Map<string, SubscriptionHandle>();
  closed = false;
  constructor(
    readonly ws: WebSocket,
    readonly maxBuffered: number,
  ) {}

  send(message: unknown): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.maxBuffered) {
      // The client is not reading: drop it rather than buffer without bound.
      this.ws.close(1013, 'send buffer full');
      return;
    }
    this.ws.send(JSON.stringify(message));
  }

  dispose(): void {
    this.closed = true;
    for (const handle of this.subscriptions.values()) handle.stop();
    this.subscriptions.clear();
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

function validId(id: unknown): id is Id {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

export async function startRpcServer(chain: DevChain, options: RpcServerOptions = {}): Promise<RpcServer> {
  const host = options.host ?? '127.0.0.1';
  const maxConnections = options.maxConnections ?? 100;
  const maxRequestBytes = options.maxRequestBytes ?? 15 * 1024 * 1024;
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? 1024;
  const maxBatch = options.maxBatch ?? 256;
  const maxBuffered = options.maxBufferedBytes ?? 64 * 1024 * 1024;
  const maxPending = options.maxPendingPerConnection ?? 4096;
  const logger = options.logger;
  const methods = createMethods(
    chain,
    options.node ?? { name: 'phala-bridge dev node', version: '0.1.0' },
    options.dev ?? true,
  );
  const unsubscribeMethods = new Map<string, string>();
  for (const [name, m] of methods)
    if (m.kind === 'subscribe') for (const u of m.unsubscribe) unsubscribeMethods.set(u, name);
  const connections = new Set<Connection>();

  /** Handles one request object; returns the response, or null for a notification. */
  async function handle(request: unknown, conn: Connection | null): Promise<Json | null> {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return errorResponse(null, RpcErrors.invalidRequest());
    }
    const r = request as Json;
    const hasId = 'id' in r;
    const id = hasId && validId(r.id) ? r.id : null;
    if (r.jsonrpc !== '2.0' || typeof r.method !== 'string' || (hasId && !validId(r.id))) {
      return errorResponse(id, RpcErrors.invalidRequest());
    }
    const params = r.params === undefined ? [] : r.params;
    if (!Array.isArray(params)) {
      return hasId ? errorResponse(id, RpcErrors.invalidParams('params must be an array')) : null;
    }
    try {
      const result = await dispatch(r.method, params, conn, id);
      return hasId ? { jsonrpc: '2.0', result, id } : null;
    } catch (error) {
      if (!hasId) return null;
      if (error instanceof RpcError) return errorResponse(id, error);
      logger?.error({ method: r.method, error: errorMessage(error) }, 'rpc handler failed');
      return errorResponse(id, RpcErrors.internal(errorMessage(error)));
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
      const handle = conn.subscriptions.get(String(subId));
      if (!handle) return false;
      conn.subscriptions.delete(String(subId));
      handle.stop();
      return true;
    }
    const def: MethodDef | undefined = methods.get(method);
    if (!def) throw RpcErrors.methodNotFound();
    if (def.kind === 'call') return await def.handler(params);
    // Subscriptions need a WebSocket connection.
    if (!conn) throw RpcErrors.methodNotFound();
    if (conn.subscriptions.size >= maxSubscriptions) throw RpcErrors.tooManySubscriptions(maxSubscriptions);
    const handle = def.subscribe(params);
    const subId = subscriptionId();
    conn.subscriptions.set(subId, handle);
    const emit: Emit = (result, opts) => {
      if (!conn.subscriptions.has(subId)) return;
      conn.send({ jsonrpc: '2.0', method: def.notification, params: { subscription: subId, result } });
      if (opts?.final) {
        conn.subscriptions.delete(subId);
        handle.stop();
      }
    };
    // The subscription id is answered first; notifications follow it.
    queueMicrotask(() => {
      try {
        conn.send({ jsonrpc: '2.0', result: subId, id });
        handle.start(emit);
      } catch (error) {
        logger?.error({ method, error: errorMessage(error) }, 'subscription failed');
      }
    });
    return SUBSCRIBED;
  }

  /** Parses a frame or body and answers it (one object or a batch). */
  async function handleText(text: string, conn: Connection | null): Promise<unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return errorResponse(null, RpcErrors.parse());
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) return errorResponse(null, RpcErrors.invalidRequest('empty batch'));
      if (parsed.length > maxBatch)
        return errorResponse(null, RpcErrors.invalidRequest(`batch of more than ${maxBatch}`));
      const responses: Json[] = [];
      for (const item of parsed) {
        const response = await handle(item, conn);
        if (response && response.result !== SUBSCRIBED) responses.push(response);
      }
      return responses.length ? responses : null;
    }
    const response = await handle(parsed, conn);
    return response && response.result !== SUBSCRIBED ? response : null;
  }

  // ------------------------------------------------------------------------------ HTTP
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/health/readiness')) {
      reply(200, { peers: 0, isSyncing: false, shouldHavePeers: false });
      return;
    }
    if (req.method !== 'POST') {
      reply(405, undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > maxRequestBytes) {
        aborted = true;
        reply(413, errorResponse(null, RpcErrors.invalidRequest('request too large')));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      aborted = true;
    });
    req.on('end', () => {
      if (aborted) return;
      handleText(Buffer.concat(chunks).toString('utf8'), null)
        .then((response) => (response === null ? reply(200, undefined) : reply(200, response)))
        .catch((error) => reply(500, errorResponse(null, RpcErrors.internal(errorMessage(error)))));
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });

  // ------------------------------------------------------------------------------ WebSocket
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxRequestBytes });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (connections.size >= maxConnections) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws: WebSocket) => {
    const conn = new Connection(ws, maxBuffered);
    connections.add(conn);
    // Requests of one connection are answered in order; a flood beyond the cap is refused.
    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    ws.on('message', (data: RawData) => {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      if (pending >= maxPending) {
        conn.send(errorResponse(null, new RpcError(-32009, 'Server is busy, try again later')));
        return;
      }
      pending++;
      queue = queue.then(async () => {
        try {
          const response = await handleText(text, conn);
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
    server.listen(options.port ?? 0, host, () => {
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
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}

const SUBSCRIBED = Symbol('subscribed');

import { ApiPromise, WsProvider } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import WebSocket from 'ws';
import { type DevNode, type StartDevNodeParameters, startDevNode } from '../../src/devnet/substrate/node.js';
import { type PhalaClient, createPhalaClient } from '../../src/phala/client.js';
import { devSigner } from '../../src/phala/signers.js';

/** A Phala dev node on a free port, with a polkadot-js ApiPromise and a PhalaClient on it. */
export type TestNode = {
  node: DevNode;
  api: ApiPromise;
  client: PhalaClient;
  alice: KeyringPair;
  bob: KeyringPair;
  charlie: KeyringPair;
  stop(): Promise<void>;
};

/** Errors the node logged (pallet code that threw, failed block production): tests expect none. */
export const nodeErrors: string[] = [];
const testLogger = {
  info() {},
  warn() {},
  error(obj: object, msg?: string) {
    const line = `${msg ?? ''} ${JSON.stringify(obj)}`;
    nodeErrors.push(line);
    console.error(`[devnode] ${line}`);
  },
};

export async function startTestNode(parameters: Partial<StartDevNodeParameters> = {}): Promise<TestNode> {
  const node = await startDevNode({ chain: 'phala', logger: testLogger, ...parameters });
  const api = await ApiPromise.create({
    provider: new WsProvider(node.wsUrl),
    throwOnConnect: true,
    noInitWarn: true,
  });
  const client = await createPhalaClient({ api, timeoutMs: 20_000 });
  const [alice, bob, charlie] = await Promise.all([
    devSigner('Alice', 30),
    devSigner('Bob', 30),
    devSigner('Charlie', 30),
  ]);
  return {
    node,
    api,
    client,
    alice,
    bob,
    charlie,
    async stop() {
      await api.disconnect().catch(() => {});
      await node.stop();
    },
  };
}

type RpcResponse = {
  jsonrpc: string;
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
};

/** A bare JSON-RPC WebSocket client, for what polkadot-js would not send. */
export class RawRpc {
  readonly ws: WebSocket;
  readonly messages: unknown[] = [];
  #waiters: ((m: unknown) => void)[] = [];
  #id = 1;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      this.messages.push(message);
      for (const w of this.#waiters.splice(0)) w(message);
    });
  }

  sendText(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Sends a request and waits for the response with its id. */
  async call(method: string, params: unknown[] = []): Promise<RpcResponse> {
    await this.opened;
    const id = this.#id++;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return (await this.waitFor((m) => (m as RpcResponse).id === id)) as RpcResponse;
  }

  /** Waits for a message matching `predicate` (already received or future). */
  waitFor(predicate: (m: unknown) => boolean, timeoutMs = 10_000): Promise<unknown> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      const check = (m: unknown) => {
        if (predicate(m)) {
          clearTimeout(timer);
          resolve(m);
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Posts JSON-RPC over HTTP. */
export async function httpRpc(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** The `params` of a subscription notification, or null for anything else. */
export function notificationOf(message: unknown): { subscription: unknown; result: unknown } | null {
  const params = (message as { params?: { subscription?: unknown; result?: unknown } } | null)?.params;
  return params && 'subscription' in params
    ? { subscription: params.subscription, result: params.result }
    : null;
}

/** The status name of an author_extrinsicUpdate result (`ready`, `inBlock`, ...). */
export function statusName(result: unknown): string {
  return typeof result === 'string' ? result : Object.keys(result as object)[0]!;
}

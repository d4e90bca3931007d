import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawRpc, httpRpc } from './helpers.js';

/**
 * The dev node's RPC stays responsive under the loads of issue 14, against real node processes
 * (`phala-bridge node`, default limits): a batch of 25 state_queryStorage calls, 100 connections
 * × 1024 subscriptions, 40 parallel 14 MiB POST bodies. During each, `system_health` (and
 * `chain_getHeader`) on a separate connection answers within 200 ms, and what is over a limit
 * is refused with an error naming the limit. dev_* exist only with `--dev`.
 */

type NodeProcess = { child: ChildProcess; wsUrl: string; httpUrl: string; exited: Promise<number | null> };

async function startNodeProcess(args: string[]): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    ['bin/phala-bridge.js', 'node', '--rpc-port', '0', '--json', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void exited.then((code) => reject(new Error(`node exited with ${code}`)));
  });
  const info = JSON.parse(line) as { wsUrl: string; httpUrl: string };
  return { child, wsUrl: info.wsUrl, httpUrl: info.httpUrl, exited };
}

async function stopNodeProcess(node: NodeProcess | undefined): Promise<void> {
  if (!node) return;
  node.child.kill('SIGTERM');
  await node.exited;
}

/**
 * Asks `system_health` and `chain_getHeader` in turn on its own connection while `load` runs,
 * and returns the slowest answer in ms (and how many answers there were).
 */
async function slowestAnswerDuring(
  wsUrl: string,
  load: () => Promise<void>,
): Promise<{ slowestMs: number; answers: number }> {
  const probe = new RawRpc(wsUrl);
  await probe.opened;
  await probe.call('system_health'); // connected and warm
  let running = true;
  let slowest = 0;
  let answers = 0;
  const probing = (async () => {
    while (running) {
      for (const method of ['system_health', 'chain_getHeader']) {
        const started = performance.now();
        const response = await probe.call(method);
        expect(response.error).toBeUndefined();
        slowest = Math.max(slowest, performance.now() - started);
        answers++;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    await load();
  } finally {
    running = false;
    await probing;
    probe.close();
  }
  return { slowestMs: slowest, answers };
}

type RpcErrorBody = { code: number; message: string; data?: string };

/**
 * The heavy loads run in a worker thread, so the probe's timings measure the node and not this
 * process sending 100 000 requests or 560 MiB of bodies. Plain JavaScript, evaluated in the
 * worker.
 */
const LOAD_SCRIPT = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const WebSocket = require('ws');
const turn = () => new Promise((resolve) => setImmediate(resolve));
const waitUntil = async (condition, ms) => {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
};
const post = async (url, body) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();

const tasks = {
  // connections × perConnection chain_subscribeNewHeads (batches of 64), then two new blocks.
  async subscriptions({ wsUrl, httpUrl, connections, perConnection }) {
    const frames = [];
    for (let i = 0; i < perConnection; i += 64) {
      const batch = [];
      for (let j = i; j < Math.min(i + 64, perConnection); j++)
        batch.push('{"jsonrpc":"2.0","id":' + j + ',"method":"chain_subscribeNewHeads","params":[]}');
      frames.push('[' + batch.join(',') + ']');
    }
    const clients = [];
    for (let i = 0; i < connections; i++) {
      const ws = new WebSocket(wsUrl);
      const c = { ws, accepted: 0, heads: 0, answered: 0, refusals: {} };
      c.opened = new Promise((resolve) => { ws.once('open', () => resolve(true)); ws.once('error', () => resolve(false)); });
      c.closed = new Promise((resolve) => ws.once('close', resolve));
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.includes('"method":"chain_newHead"')) { c.heads++; return; }
        const message = JSON.parse(text);
        for (const m of Array.isArray(message) ? message : [message]) {
          c.answered++;
          if (m.error) { const key = m.error.code + ' ' + m.error.data; c.refusals[key] = (c.refusals[key] || 0) + 1; }
          else c.accepted++;
        }
      });
      clients.push(c);
    }
    const opened = await Promise.all(clients.map((c) => c.opened));
    const open = clients.filter((_, i) => opened[i]);
    for (const c of open) { for (const frame of frames) c.ws.send(frame); await turn(); }
    const allAnswered = await waitUntil(() => open.every((c) => c.answered === perConnection), 120000);
    const accepted = open.reduce((sum, c) => sum + c.accepted, 0);
    await post(httpUrl, { jsonrpc: '2.0', id: 1, method: 'dev_newBlock', params: [{ count: 2 }] });
    const heads = () => open.reduce((sum, c) => sum + c.heads, 0);
    await waitUntil(() => heads() >= 3 * accepted, 120000);
    const refusals = {};
    for (const c of open) for (const [k, n] of Object.entries(c.refusals)) refusals[k] = (refusals[k] || 0) + n;
    const result = { refusedConnections: connections - open.length, open: open.length, allAnswered, accepted, heads: heads(), refusals,
      mostOnOneConnection: Math.max(...open.map((c) => c.accepted)) };
    for (const c of open) c.ws.close();
    await Promise.all(open.map((c) => c.closed));
    return result;
  },
  // count parallel POSTs of one body of size bytes.
  async bodies({ httpUrl, count, size }) {
    const prefix = '{"jsonrpc":"2.0","id":1,"method":"author_submitExtrinsic","params":["0x';
    const suffix = '"]}';
    const body = Buffer.alloc(size, 'ab');
    body.write(prefix, 0);
    body.write(suffix, size - suffix.length);
    const outcomes = [];
    let resets = 0;
    const one = () => new Promise((resolve) => {
      let settled = false;
      const settle = (outcome) => { if (settled) return; settled = true; if (outcome) outcomes.push(outcome); else resets++; resolve(); };
      const req = http.request(httpUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': size } }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => settle({ status: res.statusCode, error: text ? JSON.parse(text).error : undefined }));
        res.on('error', () => settle(null));
      });
      // A refused body is cut off: the write may fail once the node closes the connection,
      // before or after its answer was read.
      req.on('error', () => settle(null));
      req.end(body);
    });
    await Promise.all(Array.from({ length: count }, one));
    return { outcomes, resets };
  },
};
parentPort.once('message', async ({ task, args }) => {
  try { parentPort.postMessage({ ok: true, result: await tasks[task](args) }); }
  catch (error) { parentPort.postMessage({ ok: false, error: String((error && error.stack) || error) }); }
});
`;

async function inWorker<T>(task: 'subscriptions' | 'bodies', args: Record<string, unknown>): Promise<T> {
  const worker = new Worker(LOAD_SCRIPT, { eval: true });
  try {
    const reply = await new Promise<{ ok: boolean; result?: T; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ task, args });
    });
    if (!reply.ok) throw new Error(`load worker failed: ${reply.error}`);
    return reply.result as T;
  } finally {
    await worker.terminate();
  }
}

let node: NodeProcess;
let plain: NodeProcess;
let blocks: string[];

beforeAll(async () => {
  [node, plain] = await Promise.all([startNodeProcess(['--dev', '--manual-seal']), startNodeProcess([])]);
  // 200 blocks to query storage across (dev_newBlock: cost 100 a block, within the budget).
  const made = await httpRpc(node.httpUrl, {
    jsonrpc: '2.0',
    id: 1,
    method: 'dev_newBlock',
    params: [{ count: 200 }],
  });
  expect((made.json as { result: string }).result).toMatch(/^0x[0-9a-f]{64}$/);
  const hashes = await httpRpc(node.httpUrl, {
    jsonrpc: '2.0',
    id: 2,
    method: 'chain_getBlockHash',
    params: [Array.from({ length: 201 }, (_, i) => i)],
  });
  blocks = (hashes.json as { result: string[] }).result;
  expect(blocks).toHaveLength(201);
}, 120_000);

afterAll(async () => {
  await Promise.all([stopNodeProcess(node), stopNodeProcess(plain)]);
});

const keys = (n: number) => Array.from({ length: n }, () => `0x${randomBytes(32).toString('hex')}`);
const queryStorage = (id: number, n: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'state_queryStorage',
  params: [keys(n), blocks[0], blocks[200]],
});

describe('cost budget: state_queryStorage is keys × blocks', () => {
  it('refuses the 25-call batch and an over-budget call with errors naming the limit; system_health answers within 200 ms throughout', async () => {
    // 25 × 1000 keys × 201 blocks: the batch that froze the node for 15 s.
    const batch = Array.from({ length: 25 }, (_, i) => queryStorage(i, 1000));
    const single = queryStorage(99, 1000);
    // Within budget: 2 × 400 keys × 201 blocks = 160 800 ≤ 200 000, sent on 4 connections at once.
    const affordable = () => [queryStorage(1, 400), queryStorage(2, 400)];

    let batchError: RpcErrorBody | undefined;
    let singleError: RpcErrorBody | undefined;
    let answered = 0;
    const { slowestMs, answers } = await slowestAnswerDuring(node.wsUrl, async () => {
      const tooMuch = await httpRpc(node.httpUrl, batch);
      batchError = (tooMuch.json as { error: RpcErrorBody }).error;
      const tooMuchAlone = await httpRpc(node.httpUrl, single);
      singleError = (tooMuchAlone.json as { error: RpcErrorBody }).error;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let round = 0; round < 2; round++) {
            const response = await httpRpc(node.httpUrl, affordable());
            const results = response.json as { result: { block: string }[] }[];
            expect(results).toHaveLength(2);
            for (const r of results) expect(r.result[0]!.block).toBe(blocks[0]);
            answered += results.length;
          }
        }),
      );
    });
    expect(batchError).toMatchObject({ code: -32012, message: 'Request too costly' });
    expect(batchError!.data).toMatch(
      /a batch of 25 calls costs 5025000, over the limit of 200000 \(--rpc-max-batch-cost\)/,
    );
    expect(singleError!.code).toBe(-32012);
    expect(singleError!.data).toMatch(
      /state_queryStorage costs 201000, over the limit of 100000 \(--rpc-max-request-cost\)/,
    );
    expect(answered).toBe(16);
    expect(answers).toBeGreaterThan(2);
    console.info(`queryStorage load: slowest probe ${slowestMs.toFixed(0)} ms over ${answers} answers`);
    expect(slowestMs).toBeLessThan(200);
  }, 180_000);

  it('refuses a batch longer than --rpc-max-batch-request-len (64)', async () => {
    const batch = Array.from({ length: 65 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'system_health' }));
    const response = await httpRpc(node.httpUrl, batch);
    expect((response.json as { error: RpcErrorBody }).error).toMatchObject({
      code: -32010,
      data: '65 calls exceed max limit of 64 (--rpc-max-batch-request-len)',
    });
  });
});

describe('subscriptions: per connection and in total', () => {
  /** Opens a connection that counts what it gets: subscription ids, refusals, new heads. */
  function counter(url: string) {
    const ws = new WebSocket(url);
    const state = { ws, accepted: 0, heads: 0, refusals: new Map<string, number>(), answered: 0 };
    const opened = new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.includes('"method":"chain_newHead"')) {
        state.heads++;
        return;
      }
      const message = JSON.parse(text) as
        | { result?: unknown; error?: RpcErrorBody }
        | { error: RpcErrorBody }[];
      for (const m of Array.isArray(message) ? message : [message]) {
        state.answered++;
        if (m.error) {
          const key = `${m.error.code} ${m.error.data}`;
          state.refusals.set(key, (state.refusals.get(key) ?? 0) + 1);
        } else state.accepted++;
      }
    });
    return { state, opened };
  }
  /** `n` chain_subscribeNewHeads requests as batches of 64 (the batch limit). */
  const subscribeFrames = (n: number) => {
    const frames: string[] = [];
    for (let i = 0; i < n; i += 64) {
      const batch = Array.from(
        { length: Math.min(64, n - i) },
        (_, j) => `{"jsonrpc":"2.0","id":${i + j},"method":"chain_subscribeNewHeads","params":[]}`,
      );
      frames.push(`[${batch.join(',')}]`);
    }
    return frames;
  };
  const waitUntil = async (condition: () => boolean, ms = 60_000) => {
    const until = Date.now() + ms;
    while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    return condition();
  };
  const TOTAL =
    '-32006 Exceeded max limit of 8192 subscriptions of all connections (--rpc-max-subscriptions)';
  const PER_CONNECTION = '-32006 Exceeded max limit of 1024 (--rpc-max-subscriptions-per-connection)';

  it('100 connections × 1024 subscriptions: the caps hold, new heads reach every subscription, system_health answers within 200 ms', async () => {
    type Outcome = {
      refusedConnections: number;
      open: number;
      allAnswered: boolean;
      accepted: number;
      heads: number;
      refusals: Record<string, number>;
      mostOnOneConnection: number;
    };
    let outcome: Outcome | undefined;
    const { slowestMs, answers } = await slowestAnswerDuring(node.wsUrl, async () => {
      // The probe holds one connection: of 100 more, 99 open and one is refused (503).
      outcome = await inWorker<Outcome>('subscriptions', {
        wsUrl: node.wsUrl,
        httpUrl: node.httpUrl,
        connections: 100,
        perConnection: 1024,
      });
    });
    expect(outcome).toMatchObject({ refusedConnections: 1, open: 99, allAnswered: true, accepted: 8192 });
    expect(outcome!.mostOnOneConnection).toBeLessThanOrEqual(1024);
    // Every subscription got the current head, then the two new ones.
    expect(outcome!.heads).toBe(3 * 8192);
    const refused = Object.entries(outcome!.refusals);
    expect(refused.reduce((sum, [, n]) => sum + n, 0)).toBe(99 * 1024 - 8192);
    for (const [key] of refused) expect([TOTAL, PER_CONNECTION]).toContain(key);
    expect(answers).toBeGreaterThan(2);
    console.info(
      `100 × 1024 subscriptions: slowest probe ${slowestMs.toFixed(0)} ms over ${answers} answers`,
    );
    expect(slowestMs).toBeLessThan(200);

    // Those connections are closed and their subscriptions released: one connection now gets
    // 1024, and its 1025th is refused by the per-connection cap.
    const one = counter(node.wsUrl);
    expect(await one.opened).toBe(true);
    for (const frame of subscribeFrames(1025)) one.state.ws.send(frame);
    expect(await waitUntil(() => one.state.answered === 1025)).toBe(true);
    expect(one.state.accepted).toBe(1024);
    expect(one.state.refusals.get(PER_CONNECTION)).toBe(1);
    one.state.ws.close();
  }, 240_000);
});

describe('request bodies: at most 8 received at once, 32 MiB in all', () => {
  it('40 parallel 14 MiB POST bodies: most are refused with 503 naming the limit; system_health answers within 200 ms', async () => {
    type Outcome = { outcomes: { status: number; error?: RpcErrorBody }[]; resets: number };
    let outcome: Outcome | undefined;
    const { slowestMs, answers } = await slowestAnswerDuring(node.wsUrl, async () => {
      outcome = await inWorker<Outcome>('bodies', {
        httpUrl: node.httpUrl,
        count: 40,
        size: 14 * 1024 * 1024,
      });
    });
    const busy = outcome!.outcomes.filter((o) => o.status === 503);
    const served = outcome!.outcomes.filter((o) => o.status === 200);
    expect(busy.length).toBeGreaterThan(0);
    for (const o of busy) {
      expect(o.error!.code).toBe(-32009);
      expect(o.error!.data).toMatch(/--rpc-max-concurrent-bodies|--rpc-max-buffered-body-size/);
    }
    // Served ones are answered by the method: the extrinsic is over 5 MiB.
    for (const o of served)
      expect(o.error).toMatchObject({ code: -32602, data: 'extrinsic: at most 5242880 bytes' });
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThan(40);
    expect(busy.length + served.length + outcome!.resets).toBe(40);
    expect(answers).toBeGreaterThan(2);
    console.info(
      `40 × 14 MiB bodies: ${served.length} served, ${busy.length} refused 503, ${outcome!.resets} cut off; slowest probe ${slowestMs.toFixed(0)} ms`,
    );
    expect(slowestMs).toBeLessThan(200);
  }, 180_000);

  it('refuses a body over --rpc-max-request-size (15 MiB) from its declared length with 413', async () => {
    let req: ReturnType<typeof request> | undefined;
    const response = await new Promise<{ status: number; error: RpcErrorBody }>((resolve, reject) => {
      req = request(
        node.httpUrl,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': 16 * 1024 * 1024 },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, error: JSON.parse(text).error }));
        },
      );
      req.on('error', reject);
      req.write('{"jsonrpc":"2.0"');
    });
    req?.destroy();
    expect(response.status).toBe(413);
    expect(response.error).toMatchObject({
      code: -32007,
      data: 'Exceeded max limit of 15728640 bytes (--rpc-max-request-size)',
    });
  });
});

describe('dev_* only with --dev', () => {
  it('a node started without --dev does not know dev_*; with --dev it does', async () => {
    for (const [method, params] of [
      ['dev_newBlock', []],
      ['dev_timeTravel', [Date.now() + 60_000]],
      ['dev_setFinalityLag', [0]],
    ] as const) {
      const refused = await httpRpc(plain.httpUrl, { jsonrpc: '2.0', id: 1, method, params });
      expect((refused.json as { error: RpcErrorBody }).error).toMatchObject({ code: -32601 });
      const accepted = await httpRpc(node.httpUrl, { jsonrpc: '2.0', id: 1, method, params });
      expect((accepted.json as { error?: unknown }).error).toBeUndefined();
      expect((accepted.json as { result?: unknown }).result).toBeDefined();
    }
  });
});

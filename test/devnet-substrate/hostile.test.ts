import { randomBytes } from 'node:crypto';
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawRpc, type TestNode, httpRpc, nodeErrors, startTestNode } from './helpers.js';

/**
 * Hostile input: malformed frames, bad requests and parameters, oversized frames and bodies,
 * floods of subscriptions and connections, random frames and fuzzed extrinsics. The node answers
 * each with a JSON-RPC error or closes that one connection, and keeps serving everyone else.
 */

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({
    rpc: {
      maxRequestBytes: 256 * 1024,
      maxSubscriptionsPerConnection: 20,
      maxConnections: 12,
      maxBatch: 16,
      maxPendingPerConnection: 64,
    },
  });
});
afterAll(async () => {
  await t?.stop();
});

async function stillServing(): Promise<void> {
  const hash = await t.api.rpc.chain.getBlockHash(0);
  expect(hash.toHex()).toBe(t.api.genesisHash.toHex());
}

describe('malformed requests', () => {
  it('answers bad JSON, bad requests, unknown methods and bad params with JSON-RPC errors', async () => {
    const raw = new RawRpc(t.node.wsUrl);
    await raw.opened;
    const cases: [string | Buffer, number][] = [
      ['{not json', -32700],
      [Buffer.from([0xff, 0x00, 0x13]), -32700],
      ['{}', -32600],
      ['{"jsonrpc":"1.0","id":1,"method":"system_name"}', -32600],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"system_name"}', -32600],
      ['{"jsonrpc":"2.0","id":2,"method":42}', -32600],
      ['[]', -32600],
      ['{"jsonrpc":"2.0","id":3,"method":"no_such_method"}', -32601],
      ['{"jsonrpc":"2.0","id":4,"method":"chain_getBlockHash","params":[{"x":1}]}', -32602],
      ['{"jsonrpc":"2.0","id":5,"method":"state_getStorage","params":[12]}', -32602],
      ['{"jsonrpc":"2.0","id":6,"method":"state_getStorage","params":{"key":"0x00"}}', -32602],
      ['{"jsonrpc":"2.0","id":7,"method":"state_getKeysPaged","params":["0x",5000]}', 4002],
      ['{"jsonrpc":"2.0","id":8,"method":"state_getStorage","params":["0x00","0x1234"]}', -32602],
      [`{"jsonrpc":"2.0","id":9,"method":"state_getStorage","params":["0x00","0x${'ab'.repeat(32)}"]}`, 4003],
      ['{"jsonrpc":"2.0","id":10,"method":"system_accountNextIndex","params":["not an address"]}', -32602],
      ['{"jsonrpc":"2.0","id":11,"method":"chain_getBlockHash","params":[1,2,3]}', -32602],
    ];
    for (const [frame, code] of cases) {
      const before = raw.messages.length;
      raw.sendText(frame);
      const response = (await raw.waitFor((_m) => raw.messages.length > before)) as {
        error?: { code: number };
      };
      expect(response.error?.code, String(frame)).toBe(code);
    }
    // Notifications (no id) get no answer, even when bad.
    raw.sendText('{"jsonrpc":"2.0","method":"no_such_method"}');
    const batch = await (async () => {
      const before = raw.messages.length;
      raw.sendText(
        JSON.stringify([
          { jsonrpc: '2.0', id: 'a', method: 'system_name' },
          { jsonrpc: '2.0', id: 'b', method: 'nope' },
          5,
        ]),
      );
      return (await raw.waitFor(() => raw.messages.length > before)) as unknown[];
    })();
    expect(batch).toHaveLength(3);
    expect(batch[0]).toMatchObject({ id: 'a', result: 'phala-bridge dev node' });
    expect(batch[1]).toMatchObject({ id: 'b', error: { code: -32601 } });
    expect(batch[2]).toMatchObject({ id: null, error: { code: -32600 } });
    const tooMany = (await (async () => {
      const before = raw.messages.length;
      raw.sendText(
        JSON.stringify(
          Array.from({ length: 17 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'system_name' })),
        ),
      );
      return raw.waitFor(() => raw.messages.length > before);
    })()) as { error: { code: number } };
    expect(tooMany.error.code).toBe(-32010); // jsonrpsee's "The batch request was too large"
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    raw.close();
    await stillServing();
  });

  it('closes a connection that sends an oversized frame, and only that one', async () => {
    const raw = new RawRpc(t.node.wsUrl);
    await raw.opened;
    raw.sendText(
      `{"jsonrpc":"2.0","id":1,"method":"author_submitExtrinsic","params":["0x${'00'.repeat(300 * 1024)}"]}`,
    );
    expect(await raw.closed).toBe(1009);
    await stillServing();
    const body = `{"jsonrpc":"2.0","id":1,"method":"system_name","params":["${'x'.repeat(300 * 1024)}"]}`;
    const res = await fetch(t.node.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).catch((error) => ({ status: -1, error }));
    expect([413, -1]).toContain(res.status);
    const ok = await httpRpc(t.node.httpUrl, { jsonrpc: '2.0', id: 1, method: 'system_name' });
    expect(ok.json).toMatchObject({ result: 'phala-bridge dev node' });
    const get = await fetch(t.node.httpUrl);
    expect(get.status).toBe(405);
  });

  it('caps subscriptions per connection and connections per node', async () => {
    const raw = new RawRpc(t.node.wsUrl);
    await raw.opened;
    const ids: unknown[] = [];
    for (let i = 0; i < 20; i++) ids.push((await raw.call('chain_subscribeNewHeads')).result);
    const refused = await raw.call('chain_subscribeNewHeads');
    expect(refused.error).toMatchObject({ code: -32006 });
    expect((await raw.call('chain_unsubscribeNewHeads', [ids[0]])).result).toBe(true);
    expect((await raw.call('chain_unsubscribeNewHeads', [ids[0]])).result).toBe(false);
    expect(typeof (await raw.call('chain_subscribeNewHeads')).result).toBe('string');
    raw.close();

    const open: RawRpc[] = [];
    let rejected = 0;
    for (let i = 0; i < 15; i++) {
      const c = new RawRpc(t.node.wsUrl);
      try {
        await c.opened;
        open.push(c);
      } catch {
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
    for (const c of open) c.close();
    await Promise.all(open.map((c) => c.closed));
    await stillServing();
  });
});

describe('request floods', () => {
  it('answers requests beyond the pending cap with -32009 and keeps the connection', async () => {
    const raw = new RawRpc(t.node.wsUrl);
    await raw.opened;
    const frames = Array.from({ length: 600 }, (_, i) =>
      JSON.stringify({ jsonrpc: '2.0', id: i, method: 'system_name' }),
    );
    // One write: the frames arrive together, faster than they are answered.
    for (const f of frames) raw.sendText(f);
    await raw.waitFor(() => raw.messages.length >= 600, 20_000);
    const busy = raw.messages.filter(
      (m) => (m as { error?: { code: number } }).error?.code === -32009,
    ).length;
    const answered = raw.messages.filter(
      (m) => (m as { result?: unknown }).result === 'phala-bridge dev node',
    ).length;
    expect(busy + answered).toBe(600);
    expect(answered).toBeGreaterThanOrEqual(64);
    expect(busy).toBeGreaterThan(0);
    expect((await raw.call('system_name')).result).toBe('phala-bridge dev node');
    raw.close();
  });
});

describe('fuzzing', () => {
  it('survives random frames and random requests to every method', async () => {
    const methods = ((await new RawRpc(t.node.wsUrl).call('rpc_methods')).result as { methods: string[] })
      .methods;
    const raw = new RawRpc(t.node.wsUrl);
    await raw.opened;
    const randomValue = (depth = 0): unknown => {
      const r = Math.random();
      if (depth > 2 || r < 0.2) return Math.floor(Math.random() * 2 ** 40) * (Math.random() < 0.5 ? -1 : 1);
      if (r < 0.4) return u8aToHex(randomBytes(Math.floor(Math.random() * 40)));
      if (r < 0.5) return null;
      if (r < 0.6) return 'x'.repeat(Math.floor(Math.random() * 100));
      if (r < 0.8) return Array.from({ length: Math.floor(Math.random() * 4) }, () => randomValue(depth + 1));
      return { a: randomValue(depth + 1) };
    };
    let answered = 0;
    for (let i = 0; i < 400; i++) {
      const method = methods[Math.floor(Math.random() * methods.length)]!;
      if (method.startsWith('author_submit') || method === 'dev_newBlock') continue;
      const params = Array.from({ length: Math.floor(Math.random() * 4) }, () => randomValue());
      const response = await raw.call(method, params);
      answered++;
      // Never an internal error: every bad input is named as such.
      expect(response.error?.code, `${method} ${JSON.stringify(params)}`).not.toBe(-32603);
      if (i % 40 === 0) raw.sendText(randomBytes(64));
    }
    expect(answered).toBeGreaterThan(300);
    raw.close();
    await stillServing();
    expect(nodeErrors).toEqual([]);
  });

  it('answers fuzzed extrinsic bytes with transaction errors and keeps making blocks', async () => {
    const raw = new RawRpc(t.node.wsUrl);
    await raw.opened;
    const valid = (await t.api.tx.balances.transferKeepAlive(t.bob.address, 1n).signAsync(t.charlie)).toU8a();
    const codes = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      let bytes: Uint8Array;
      if (i % 3 === 0) {
        const body = randomBytes(Math.floor(Math.random() * 200));
        bytes = Math.random() < 0.5 ? u8aConcat(compactToU8a(body.length), body) : new Uint8Array(body);
      } else {
        bytes = new Uint8Array(valid);
        for (let k = 0; k < 1 + (i % 4); k++)
          bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
      }
      const response = await raw.call('author_submitExtrinsic', [u8aToHex(bytes)]);
      const code = response.error?.code ?? 0;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      expect(
        [0, 1001, 1002, 1010, 1011, 1013, 1014],
        `${u8aToHex(bytes)} → ${JSON.stringify(response.error)}`,
      ).toContain(code);
    }
    expect(codes.get(1001)).toBeGreaterThan(0);
    raw.close();
    const before = (await t.api.rpc.chain.getHeader()).number.toNumber();
    await new Promise<void>((resolve, reject) => {
      t.api.tx.balances
        .transferKeepAlive(t.bob.address, 5n)
        .signAndSend(t.alice, (r) => {
          if (r.status.isInBlock) resolve();
        })
        .catch(reject);
    });
    expect((await t.api.rpc.chain.getHeader()).number.toNumber()).toBeGreaterThan(before);
    expect(nodeErrors).toEqual([]);
  });
});

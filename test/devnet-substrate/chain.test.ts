import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevNode } from '../../src/devnet/substrate/node.js';
import { balances, createPhalaClient, registry } from '../../src/phala/index.js';
import { RawRpc, notificationOf, startTestNode, statusName } from './helpers.js';

/** Block production, finality, subscriptions and persistence. */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'phala-devnode-'));
  dirs.push(dir);
  return dir;
}

describe('subscriptions', () => {
  it('deliver every block exactly once, in order (new, all and finalized heads)', async () => {
    const t = await startTestNode({ manualSeal: true, finalityDelayMs: 0 });
    try {
      const seen = { newHeads: [] as number[], allHeads: [] as number[], finalized: [] as number[] };
      const unsubs = await Promise.all([
        t.api.rpc.chain.subscribeNewHeads((h) => {
          seen.newHeads.push(h.number.toNumber());
        }),
        t.api.rpc.chain.subscribeAllHeads((h) => {
          seen.allHeads.push(h.number.toNumber());
        }),
        t.api.rpc.chain.subscribeFinalizedHeads((h) => {
          seen.finalized.push(h.number.toNumber());
        }),
      ]);
      // Blocks made back to back, some with transactions.
      for (let i = 0; i < 25; i++) {
        if (i % 5 === 0) await t.api.tx.system.remark('0x01').signAndSend(t.alice, { nonce: -1 });
        await t.node.chain.produceBlock();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const unsub of unsubs) unsub();
      const expected = Array.from({ length: 26 }, (_, i) => i);
      // Each starts with the current head (genesis here), as Substrate's subscribe_headers does.
      expect(seen.newHeads).toEqual(expected);
      expect(seen.finalized).toEqual(expected);
      expect(seen.allHeads).toEqual(expected);
    } finally {
      await t.stop();
    }
  });

  it('delivers storage changes for the subscribed keys', async () => {
    const t = await startTestNode();
    try {
      const values: bigint[] = [];
      const unsub = await t.api.query.system.account(t.bob.address, (info: unknown) =>
        values.push((info as { data: { free: { toBigInt(): bigint } } }).data.free.toBigInt()),
      );
      await balances.transfer(t.client, { signer: t.alice, to: t.bob.address, amount: 777n });
      await new Promise((resolve) => setTimeout(resolve, 100));
      (unsub as unknown as () => void)();
      expect(values.length).toBe(2);
      expect(values[1]! - values[0]!).toBe(777n);
    } finally {
      await t.stop();
    }
  });
});

describe('finality', () => {
  it('lags N blocks behind the best block when asked', async () => {
    const t = await startTestNode({ manualSeal: true, finalityLag: 3, finalityDelayMs: 0 });
    const raw = new RawRpc(t.node.wsUrl);
    try {
      const tx = await t.api.tx.system.remark('0x02').signAsync(t.alice);
      const subId = (await raw.call('author_submitAndWatchExtrinsic', [tx.toHex()])).result;
      const included = await t.node.chain.produceBlock();
      expect(t.node.chain.finalized.number).toBe(0);
      for (let i = 0; i < 2; i++) await t.node.chain.produceBlock();
      expect(t.node.chain.finalized.number).toBe(0);
      await t.node.chain.produceBlock();
      expect(t.node.chain.finalized.number).toBe(included.number);
      expect((await t.api.rpc.chain.getFinalizedHead()).toHex()).toBe(included.hashHex);
      const mine = (m: unknown) => notificationOf(m)?.subscription === subId;
      await raw.waitFor((m) => mine(m) && statusName(notificationOf(m)!.result) === 'finalized');
      const statuses = raw.messages.filter(mine).map((m) => notificationOf(m)!.result);
      expect(statuses).toEqual(['ready', { inBlock: included.hashHex }, { finalized: included.hashHex }]);
    } finally {
      raw.close();
      await t.stop();
    }
  });

  it('makes blocks on an interval, with increasing timestamps', async () => {
    const t = await startTestNode({ blockTime: 100 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 750));
      const best = t.node.chain.best.number;
      expect(best).toBeGreaterThanOrEqual(3);
      const stamps: number[] = [];
      for (let n = 1; n <= best; n++) stamps.push(t.node.chain.blockByNumber(n)!.timestamp);
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    } finally {
      await t.stop();
    }
  });
});

describe('--data-dir', () => {
  it('keeps the chain across a restart, and refuses another chain', async () => {
    const dataDir = tempDir();
    const worker = new Keyring({ type: 'sr25519', ss58Format: 30 }).addFromUri('//Persisted');
    let first = await startTestNode({ dataDir });
    const measurement = `0x${'ab'.repeat(32)}` as const;
    let genesis: string;
    let best: number;
    let bobFree: bigint;
    try {
      await balances.transfer(first.client, { signer: first.alice, to: worker.address, amount: 10n ** 13n });
      await registry.addMeasurement(first.client, { sudo: first.alice, measurement });
      await balances.transfer(first.client, { signer: first.alice, to: first.bob.address, amount: 42n });
      genesis = first.node.chain.genesis.hashHex;
      best = first.node.chain.best.number;
      bobFree = await balances.freeBalance(first.client, first.bob.address);
    } finally {
      await first.stop();
    }
    // A torn write at the end of the log (a crash mid-append) is dropped on restart.
    appendFileSync(path.join(dataDir, 'chain.jsonl'), '{"kind":"block","number":');

    first = await startTestNode({ dataDir });
    try {
      expect(first.node.chain.genesis.hashHex).toBe(genesis);
      expect(first.node.chain.best.number).toBe(best);
      expect(await balances.freeBalance(first.client, first.bob.address)).toBe(bobFree);
      expect(await balances.freeBalance(first.client, worker.address)).toBe(10n ** 13n);
      expect(await registry.isMeasurementAllowed(first.client, measurement)).toBe(true);
      // Old blocks and their events are still there.
      const hash = await first.api.rpc.chain.getBlockHash(best);
      const events = await (await first.api.at(hash)).query.system.events();
      expect((events as unknown as unknown[]).length).toBeGreaterThan(0);
      // The chain continues: nonces and block numbers carry on.
      const result = await balances.transfer(first.client, {
        signer: first.alice,
        to: first.bob.address,
        amount: 1n,
      });
      expect(result.blockNumber).toBe(best + 1);
    } finally {
      await first.stop();
    }
    await expect(
      startDevNode({
        chain: 'phala',
        dataDir,
        phala: { endowed: [[new Uint8Array(32).fill(7), 10n ** 12n]] },
      }),
    ).rejects.toThrow(/data dir holds chain/);
  });

  it('keeps what the CLI node wrote (child process, stopped with SIGTERM)', async () => {
    const dataDir = tempDir();
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      ['bin/phala-bridge.js', 'node', '--rpc-port', '0', '--json', '--data-dir', dataDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let info: { wsUrl: string; genesisHash: string };
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        void exited.then((code) => reject(new Error(`node exited with ${code}`)));
      });
      info = JSON.parse(line);
      const client = await createPhalaClient({ url: info.wsUrl });
      const alice = new Keyring({ type: 'sr25519', ss58Format: 30 }).addFromUri('//Alice');
      const eve = new Keyring({ type: 'sr25519', ss58Format: 30 }).addFromUri('//Eve');
      await balances.transfer(client, { signer: alice, to: eve.address, amount: 5n });
      await client.api.disconnect();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const again = await startTestNode({ dataDir });
    try {
      expect(again.node.chain.genesis.hashHex).toBe(info.genesisHash);
      expect(again.node.chain.best.number).toBe(1);
      const eve = new Keyring({ type: 'sr25519', ss58Format: 30 }).addFromUri('//Eve');
      expect(await balances.freeBalance(again.client, eve.address)).toBe(10n ** 18n + 5n);
    } finally {
      await again.stop();
    }
  });
});

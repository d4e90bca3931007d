import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { BenchReport } from '../index.js';

/**
 * The Phala-style dev node under load, run as its own process (`phala-bridge node`, as in a
 * devnet) and driven by unmodified @polkadot/api from this one:
 * - signed transfers: pre-signed by several accounts, submitted at once with author_submitExtrinsic,
 *   timed until every one is in a block (the node batches what arrives together into one block);
 * - state_getStorage round trips, one at a time (latency) and 64 in flight (throughput).
 */

export const name = 'substrate';

const SENDERS = 8;
const TX_PER_SENDER = 150;
const READS = 3_000;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function startNodeProcess(): Promise<{ child: ChildProcess; wsUrl: string }> {
  const child = spawn(process.execPath, ['bin/phala-bridge.js', 'node', '--rpc-port', '0', '--json'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const wsUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line!) as { wsUrl: string }).wsUrl);
    });
    child.once('exit', (code) => reject(new Error(`dev node exited with ${code}`)));
  });
  return { child, wsUrl };
}

export async function run(): Promise<BenchReport> {
  const { child, wsUrl } = await startNodeProcess();
  const api = await ApiPromise.create({ provider: new WsProvider(wsUrl), noInitWarn: true });
  try {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 30 });
    const alice = keyring.addFromUri('//Alice');
    const senders = Array.from({ length: SENDERS }, (_, i) => keyring.addFromUri(`//Bench${i}`));
    // Fund the senders (one block).
    const aliceNonce = (await api.rpc.system.accountNextIndex(alice.address)).toNumber();
    await Promise.all(
      senders.map(async (s, i) =>
        api.rpc.author.submitExtrinsic(
          await api.tx.balances
            .transferKeepAlive(s.address, 10n ** 16n)
            .signAsync(alice, { nonce: aliceNonce + i }),
        ),
      ),
    );
    await waitForAsync(
      async () => ((await api.rpc.author.pendingExtrinsics()) as unknown as unknown[]).length === 0,
    );

    const dest = keyring.addFromUri('//BenchDest').address;
    const signStart = performance.now();
    const txs = [];
    for (const sender of senders) {
      for (let n = 0; n < TX_PER_SENDER; n++) {
        txs.push(
          (
            await api.tx.balances
              .transferKeepAlive(dest, 10n ** 10n + BigInt(n))
              .signAsync(sender, { nonce: n, era: 0 })
          ).toHex(),
        );
      }
    }
    const signMs = performance.now() - signStart;
    const startBlock = (await api.rpc.chain.getHeader()).number.toNumber();
    let included = 0;
    let best = startBlock;
    // Count inclusions from the blocks themselves (each has the timestamp inherent first).
    const off = await api.rpc.chain.subscribeNewHeads((header) => {
      const number = header.number.toNumber();
      if (number <= best) return;
      best = number;
      void api.rpc.chain.getBlock(header.hash).then((b) => {
        included += b.block.extrinsics.length - 1;
      });
    });
    const submitStart = performance.now();
    await Promise.all(txs.map((tx) => api.rpc.author.submitExtrinsic(tx)));
    const submitMs = performance.now() - submitStart;
    await waitFor(() => included >= txs.length, 120_000);
    const totalMs = performance.now() - submitStart;
    off();
    const blocks = best - startBlock;

    // Storage reads of System.Account keys, all different (polkadot-js would merge identical
    // requests in flight).
    const keys = Array.from({ length: READS }, (_, i) =>
      api.query.system.account.key(keyring.addFromSeed(seed(i)).address),
    );
    const seqStart = performance.now();
    for (let i = 0; i < READS / 3; i++) await api.rpc.state.getStorage(keys[i]!);
    const seqMs = performance.now() - seqStart;
    const parStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < READS) {
          await api.rpc.state.getStorage(keys[next++]!);
        }
      }),
    );
    const parMs = performance.now() - parStart;

    const figures = {
      transfers: txs.length,
      signPerSec: round(txs.length / (signMs / 1000)),
      submittedPerSec: round(txs.length / (submitMs / 1000)),
      includedPerSec: round(txs.length / (totalMs / 1000)),
      blocks,
      getStorageSequentialPerSec: round(READS / 3 / (seqMs / 1000)),
      getStorageSequentialMeanMs: round(seqMs / (READS / 3), 3),
      getStorageConcurrentPerSec: round(READS / (parMs / 1000)),
    };
    return {
      table: [
        { measure: 'signed transfers signed by @polkadot/api', value: `${figures.signPerSec}/s` },
        {
          measure: `transfers submitted (${txs.length}, author_submitExtrinsic)`,
          value: `${figures.submittedPerSec}/s`,
        },
        { measure: `transfers included (in ${blocks} blocks)`, value: `${figures.includedPerSec}/s` },
        {
          measure: 'state_getStorage, one at a time',
          value: `${figures.getStorageSequentialPerSec}/s (${figures.getStorageSequentialMeanMs} ms)`,
        },
        { measure: 'state_getStorage, 64 in flight', value: `${figures.getStorageConcurrentPerSec}/s` },
      ],
      figures,
    };
  } finally {
    await api.disconnect();
    child.kill('SIGTERM');
  }
}

function seed(i: number): Uint8Array {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, i + 1);
  return s;
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function waitForAsync(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('bench: timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('bench: timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

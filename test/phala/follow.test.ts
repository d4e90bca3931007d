import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRpcServer } from '../../src/devnet/substrate/rpc/server.js';
import { type FinalizedBlock, createPhalaClient, followFinalizedBlocks } from '../../src/phala/index.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';

/** followFinalizedBlocks: every finalized block once, in order, across finality jumps and reconnects. */

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({ manualSeal: true, finalityDelayMs: 0 });
});
afterAll(async () => {
  await t?.stop();
});

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('followFinalizedBlocks', () => {
  it('delivers blocks finalized together one by one, with their events', async () => {
    const seen: FinalizedBlock[] = [];
    const follower = followFinalizedBlocks(t.api, { from: 1, onBlock: (b) => void seen.push(b) });
    await follower.ready;
    // Finality jumps by 5 blocks at once.
    t.node.chain.setFinalityLag(5);
    for (let i = 0; i < 5; i++) await t.node.chain.produceBlock();
    const sent = t.api.tx.balances.transferKeepAlive(t.bob.address, 9n);
    await sent.signAndSend(t.alice);
    await t.node.chain.produceBlock();
    t.node.chain.setFinalityLag(0);
    await until(() => seen.length >= t.node.chain.best.number);
    await follower.stop();
    expect(seen.map((b) => b.number)).toEqual(
      Array.from({ length: t.node.chain.best.number }, (_, i) => i + 1),
    );
    for (const b of seen) {
      expect(b.hash).toBe(t.node.chain.blockByNumber(b.number)!.hashHex);
      expect(b.events[0]).toMatchObject({ pallet: 'System', name: 'ExtrinsicSuccess' }); // the timestamp inherent
    }
    const transfer = seen
      .flatMap((b) => b.events)
      .find((e) => e.name === 'Transfer' && e.fields.amount === '9');
    expect(transfer).toMatchObject({ pallet: 'Balances', fields: { amount: '9' } });
  });

  it('backfills what was finalized while disconnected, and retries a failing handler', async () => {
    const seen: number[] = [];
    let failOnce = true;
    const errors: number[] = [];
    const start = t.node.chain.best.number + 1;
    // A client of its own: its connection is the one that drops.
    const client = await createPhalaClient({ url: t.node.wsUrl });
    const follower = followFinalizedBlocks(client.api, {
      from: start,
      retryDelayMs: 20,
      onBlock: (b) => {
        if (b.number === start + 1 && failOnce) {
          failOnce = false;
          throw new Error('handler failed once');
        }
        seen.push(b.number);
      },
      onError: (_e, n) => errors.push(n),
    });
    await follower.ready;
    for (let i = 0; i < 3; i++) await t.node.chain.produceBlock();
    await until(() => seen.length === 3);
    // The RPC server goes away; blocks go on being made and finalized.
    const port = t.node.port;
    await t.node.server.close();
    for (let i = 0; i < 4; i++) await t.node.chain.produceBlock();
    const server = await startRpcServer(t.node.chain, { port });
    try {
      await until(() => seen.length === 7, 20_000);
      expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => start + i));
      expect(errors).toEqual([start + 1]);
      expect(follower.cursor).toBe(start + 6);
    } finally {
      await follower.stop();
      await client.api.disconnect();
      await server.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { ResultJob } from '../../../src/protocol/result-job.js';
import { ResultBatcher } from '../../../src/pruntime/worker/result-batcher.js';

/**
 * When a worker's results join one signed batch: at its size, after maxDelayMs while other jobs
 * still run, or a short linger after the last running job ended (a stream of requests a few
 * milliseconds apart still shares a transaction; a lone request is not held back).
 */
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const;
function result(n: number): ResultJob {
  // Only what the batcher reads: origin, proof kind, outputs, state root (no state commit).
  return {
    requestId: hex32(n),
    origin: { kind: 'evm', chainId: 31337, gateway: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
    proof: { kind: 'eip712', signature: '0x' },
    publicOutput: '0x01',
    sealedOutput: '0x02',
    stateRoot: hex32(0),
  } as unknown as ResultJob;
}

function batcher(
  running: { n: number },
  p: { maxSize?: number; maxDelayMs?: number; lingerMs?: number } = {},
) {
  const published: { id: string; batch?: { count: number }; at: number }[] = [];
  const start = Date.now();
  const b = new ResultBatcher({
    maxSize: p.maxSize ?? 8,
    maxDelayMs: p.maxDelayMs ?? 200,
    ...(p.lingerMs === undefined ? {} : { lingerMs: p.lingerMs }),
    running: () => running.n,
    sign: ({ leaves }) => ({ root: hex32(1), count: leaves.length, signature: '0xsig' as `0x${string}` }),
    publish: async (r) => {
      published.push({ id: r.requestId, ...(r.batch ? { batch: r.batch } : {}), at: Date.now() - start });
    },
  });
  return { b, published };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker result batcher', () => {
  it('a lone result goes after the linger, unbatched', async () => {
    const { b, published } = batcher({ n: 0 }, { maxDelayMs: 5_000 });
    await b.add(result(1));
    expect(published).toHaveLength(1);
    expect(published[0]!.batch).toBeUndefined();
    expect(published[0]!.at).toBeLessThan(2_000);
  });

  it('results a few milliseconds apart with nothing running share one batch', async () => {
    const { b, published } = batcher({ n: 0 }, { lingerMs: 30 });
    const first = b.add(result(1));
    await sleep(5);
    const second = b.add(result(2));
    await sleep(5);
    const third = b.add(result(3));
    await Promise.all([first, second, third]);
    expect(published.map((p) => p.batch?.count)).toEqual([3, 3, 3]);
  });

  it('waits up to maxDelayMs while jobs still run, and goes at once when full', async () => {
    const running = { n: 2 };
    const { b, published } = batcher(running, { maxSize: 3, maxDelayMs: 600, lingerMs: 10 });
    const a = b.add(result(1));
    await sleep(30);
    expect(published).toHaveLength(0); // still running: held past the linger
    await a;
    expect(published).toHaveLength(1);
    expect(published[0]!.at).toBeGreaterThanOrEqual(590);
    const full = [b.add(result(2)), b.add(result(3)), b.add(result(4))];
    await Promise.all(full);
    expect(published.slice(1).map((p) => p.batch?.count)).toEqual([3, 3, 3]);
  });

  it('when the last running job ends, the waiting group goes after the linger, not maxDelayMs', async () => {
    const running = { n: 1 };
    const { b, published } = batcher(running, { maxDelayMs: 5_000, lingerMs: 10 });
    const pending = b.add(result(1));
    await sleep(20);
    running.n = 0;
    b.settle();
    await pending;
    expect(published[0]!.at).toBeLessThan(2_000);
  });
});

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTape } from '../../src/protocol/tape.js';
import { type Devnet, replay, startDevnet } from '../../src/testing/index.js';

// One fresh seeded devnet replays the tapes recorded by scripts/record-tapes.ts, in the order they
// were recorded (Phala-style and XCM requests share the Phala chain's request nonces).
const tapes = path.join(import.meta.dirname, '..', 'tapes');
let devnet: Devnet;
const dir = mkdtempSync(path.join(os.tmpdir(), 'replay-tapes-'));

beforeAll(async () => {
  devnet = await startDevnet();
}, 120_000);
afterAll(async () => {
  await devnet?.stop();
});

describe('recorded tapes replay against a fresh devnet', () => {
  for (const flow of ['evm', 'phala', 'xcm'] as const) {
    it(`${flow}: the same requests land with the same outputs as the golden tape`, async () => {
      const out = path.join(dir, `${flow}.out.ndjson`);
      const result = await replay(path.join(tapes, `${flow}.ndjson`), {
        devnet,
        out,
        compare: path.join(tapes, `${flow}.golden.ndjson`),
      });
      expect(result.differences).toEqual([]);
      expect(result.outcomes.length).toBe(2);
      // Request ids are re-made by the origin chain from sender, nonce and sealed input: equal to the recording's.
      const golden = readTape(path.join(tapes, `${flow}.golden.ndjson`));
      expect(readTape(out).length).toBe(golden.length);
      for (const o of result.outcomes)
        expect(new TextDecoder().decode(Buffer.from(o.publicOutput.slice(2), 'hex'))).toMatch(/^hello, /);
    }, 240_000);
  }

  it('a golden tape that differs is reported entry by entry', async () => {
    const result = await replay(path.join(tapes, 'evm.ndjson'), {
      devnet,
      compare: path.join(tapes, 'evm.golden.ndjson'),
    }).catch((error: unknown) => error);
    // Replaying the same tape twice on one devnet: the gateway's nonces moved on, so the ids differ.
    expect(result).not.toBeInstanceOf(Error);
    const differences = (result as Awaited<ReturnType<typeof replay>>).differences;
    expect(differences.length).toBe(2);
    expect(differences[0]).toMatch(/entry 1 .*requestId is 0x[0-9a-f]{64}, golden 0x/);
  }, 120_000);
});

import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeAbiParameters } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTape } from '../../src/protocol/tape.js';
import { type Devnet, compareOutcomes, outcomeOf, replay, startDevnet } from '../../src/testing/index.js';

// One fresh seeded devnet replays the tapes recorded by scripts/record-tapes.ts, in the order they
// were recorded (Phala-style and XCM requests share the Phala chain's request nonces). It deploys
// the recording devnet's contracts: the greeter and examples, and the auction the tape bids in.
const tapes = path.join(import.meta.dirname, '..', 'tapes');
let devnet: Devnet;
const dir = mkdtempSync(path.join(os.tmpdir(), 'replay-tapes-'));

beforeAll(async () => {
  devnet = await startDevnet({
    contracts: { 'open-auction': readFileSync(path.join(tapes, 'open-auction.js'), 'utf8') },
  });
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
      const golden = readTape(path.join(tapes, `${flow}.golden.ndjson`));
      expect(readTape(out).length).toBe(golden.length);
      // The n-th outcome answers the n-th request replay made (an XCM request is known by its query).
      for (const [i, r] of result.requests.entries())
        if (r.ref.kind !== 'xcm') expect(result.outcomes[i]!.requestId).toBe(r.ref.requestId);
      // Phala-style and XCM ids come from sender, the Phala chain's nonce counter and sealed input:
      // the recording's again. EVM ids name the block the request was mined in (compared by place).
      if (flow !== 'evm')
        expect(result.outcomes.map((o) => o.requestId)).toEqual(
          golden.map((g) => outcomeOf(g, devnet).requestId),
        );
      for (const o of result.outcomes)
        expect(new TextDecoder().decode(Buffer.from(o.publicOutput.slice(2), 'hex'))).toMatch(/^hello, /);
    }, 240_000);
  }

  it('auction: EVM and XCM bids in one sealed state, an early settle refused, the same winner and price', async () => {
    const result = await replay(path.join(tapes, 'auction.ndjson'), {
      devnet,
      compare: path.join(tapes, 'auction.golden.ndjson'),
    });
    expect(result.differences).toEqual([]);
    // In recorded order: EVM bid, XCM bid, EVM settle by a bidder, EVM bid, XCM zero bid, settle.
    expect(result.outcomes.map((o) => o.kind)).toEqual([
      'evm.log',
      'xcm.message',
      'evm.log',
      'evm.log',
      'xcm.message',
      'evm.log',
    ]);
    const abi = (types: string[], o: { publicOutput: `0x${string}` }) =>
      decodeAbiParameters(
        types.map((type) => ({ type })),
        o.publicOutput,
      );
    const bid = (i: number) => abi(['uint8', 'bool'], result.outcomes[i]!)[1];
    expect([bid(0), bid(1), bid(3), bid(4)]).toEqual([true, true, true, false]);
    // Only the auctioneer settles: the bidder's settle is a contract error, named in the clear.
    expect(Buffer.from(result.outcomes[2]!.publicOutput.slice(2), 'hex').toString()).toMatch(/^[A-Za-z]+$/);
    // The sibling's bid of 700 wins at the second price, 650 (an EVM bid).
    const [, winner, price] = abi(['uint8', 'bytes32', 'uint256'], result.outcomes[5]!);
    expect(winner).toBe(result.outcomes[1]!.requestId);
    expect(price).toBe(650n);
  }, 600_000);

  it('consumer: requests made by the Solidity examples are sent again through them, from the same accounts', async () => {
    const entries = readTape(path.join(tapes, 'consumer.ndjson'));
    // The tape holds each account's transaction to the consumer contract, not to the gateway.
    for (const e of entries) {
      expect(e.transaction?.to?.toLowerCase()).not.toBe(devnet.chains.evm.gateway.toLowerCase());
      expect(e.call).toMatch(/^0x[0-9a-f]+$/);
    }
    const result = await replay(entries, { devnet, compare: path.join(tapes, 'consumer.golden.ndjson') });
    expect(result.differences).toEqual([]);
    const publicOf = (i: number, types: string[]) =>
      decodeAbiParameters(
        types.map((type) => ({ type })),
        result.outcomes[i]!.publicOutput,
      );
    // PrivateCheck 700 passes, 600 does not; both auction bids are accepted.
    expect([publicOf(0, ['bool'])[0], publicOf(2, ['bool'])[0]]).toEqual([true, false]);
    expect([publicOf(1, ['uint8', 'bool'])[1], publicOf(3, ['uint8', 'bool'])[1]]).toEqual([true, true]);
    // Recorded as check, bid, check, bid: each account's transaction to its consumer contract.
    const { privateCheck, sealedBidAuction } = devnet.examples!;
    expect(entries.map((e) => e.transaction!.to!.toLowerCase())).toEqual(
      [privateCheck, sealedBidAuction, privateCheck, sealedBidAuction].map((a) => a.toLowerCase()),
    );
  }, 300_000);

  it('EVM outcomes are matched by place, not id: the same tape again agrees, a golden tape in another order does not', async () => {
    const golden = readTape(path.join(tapes, 'evm.golden.ndjson'));
    // A second replay on this devnet, blocks later: new request ids, the same outcomes in the same places.
    const result = await replay(path.join(tapes, 'evm.ndjson'), { devnet, compare: golden });
    expect(result.differences).toEqual([]);
    const goldenOutcomes = golden.map((g) => outcomeOf(g, devnet));
    for (const [i, o] of result.outcomes.entries())
      expect(o.requestId).not.toBe(goldenOutcomes[i]!.requestId);
    // The golden answers swapped: each entry is reported where its output differs.
    const differences = compareOutcomes(result.outcomes, [...goldenOutcomes].reverse());
    expect(differences).toEqual([
      expect.stringMatching(
        /^entry 1 \(EVM request 1, golden 0x[0-9a-f]{64}\): publicOutput is 0x[0-9a-f]+, golden 0x/,
      ),
      expect.stringMatching(
        /^entry 2 \(EVM request 2, golden 0x[0-9a-f]{64}\): publicOutput is 0x[0-9a-f]+, golden 0x/,
      ),
    ]);
    // A Phala-style answer where the golden tape has an EVM one: its kind, chain and output differ.
    const mixed = compareOutcomes(result.outcomes.slice(0, 1), [
      outcomeOf(readTape(path.join(tapes, 'phala.golden.ndjson'))[0]!, devnet),
    ]);
    expect(mixed.map((d) => d.replace(/ is .*/, ''))).toEqual([
      expect.stringMatching(/^entry 1 \(0x[0-9a-f]{64}\): kind$/),
      expect.stringMatching(/^entry 1 \(0x[0-9a-f]{64}\): chain$/),
      expect.stringMatching(/^entry 1 \(0x[0-9a-f]{64}\): result$/),
      expect.stringMatching(/^entry 1 \(0x[0-9a-f]{64}\): publicOutput$/),
    ]);
  }, 120_000);
});

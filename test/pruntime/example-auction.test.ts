import { decodeAbiParameters, encodeAbiParameters, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ContractOrigin,
  auctionContract,
  exampleContract,
} from '../../src/devnet/orchestrator/contracts.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { SEED, expectFailure, expectOk, text } from './helpers.js';

/**
 * examples/contracts/sealed-bid-auction.js in the real engine: who may bid and who may settle is
 * fixed by the settings written into its code, compared with ctx.origin as the worker builds it.
 */
const GATEWAY = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const SOLIDITY: ContractOrigin = {
  kind: 'evm',
  chainId: 31337,
  gateway: GATEWAY,
  requester: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
};
const lower = (o: ContractOrigin) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v.toLowerCase() : v]));
const EOA: ContractOrigin = { ...SOLIDITY, requester: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' };
const XCM: ContractOrigin = {
  kind: 'xcm',
  paraId: 2000,
  location: '0x0101',
  requester: `0x${'d4'.repeat(32)}`,
};

let engine: ContractEngine;
beforeAll(async () => {
  engine = await ContractEngine.start();
});
afterAll(async () => {
  await engine?.close();
});

const bytes = (hex: Hex) => new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
const bidInput = (amount: bigint) =>
  bytes(encodeAbiParameters([{ type: 'uint8' }, { type: 'uint256' }], [1, amount]));
const settleInput = () => bytes(encodeAbiParameters([{ type: 'uint8' }], [2]));
const requestId = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

/** One auction instance: its code and the state the chain would hold between requests. */
function auction(code: string) {
  let state: Uint8Array | null = null;
  let n = 0;
  const run = async (input: Uint8Array, origin: ContractOrigin) => {
    const outcome = await engine.run({
      code,
      input,
      state,
      requestId: requestId(++n),
      origin: lower(origin),
      randomSeed: SEED,
    });
    if (outcome.ok) state = outcome.state;
    return outcome;
  };
  return {
    async bid(amount: bigint, origin: ContractOrigin) {
      const ok = expectOk(await run(bidInput(amount), origin));
      const [, accepted] = decodeAbiParameters(
        [{ type: 'uint8' }, { type: 'bool' }],
        `0x${Buffer.from(ok.public).toString('hex')}`,
      );
      return { accepted, requestId: requestId(n), detail: JSON.parse(text(ok.sealed)) };
    },
    settle: (origin: ContractOrigin) => run(settleInput(), origin),
  };
}

function settled(outcome: Awaited<ReturnType<ReturnType<typeof auction>['settle']>>) {
  const [, winner, price] = decodeAbiParameters(
    [{ type: 'uint8' }, { type: 'bytes32' }, { type: 'uint256' }],
    `0x${Buffer.from(expectOk(outcome).public).toString('hex')}`,
  );
  return { winner, price };
}

describe('the sealed-bid auction example contract', () => {
  it('bound to its Solidity contract: takes bids and the settlement from it alone', async () => {
    const a = auction(auctionContract({ auctioneer: SOLIDITY, bidders: [SOLIDITY] }));
    const first = await a.bid(100n, SOLIDITY);
    const second = await a.bid(300n, SOLIDITY);
    expect([first.accepted, second.accepted]).toEqual([true, true]);
    // A bid placed around the escrow (straight through the gateway) holds no deposit: refused.
    const around = await a.bid(1_000n, EOA);
    expect(around.accepted).toBe(false);
    expect(around.detail).toMatchObject({ reason: 'not a bidder', bidsSoFar: 2 });
    // Nobody settles early around the Solidity contract.
    const early = expectFailure(await a.settle(EOA));
    expect(early.error.message).toMatch(/only the auctioneer may settle/);
    expect(settled(await a.settle(SOLIDITY))).toEqual({ winner: second.requestId, price: 100n });
    // Settled: later bids are refused, and settling again gives the same answer.
    expect((await a.bid(500n, SOLIDITY)).detail).toMatchObject({ accepted: false, reason: 'settled' });
    expect(settled(await a.settle(SOLIDITY))).toEqual({ winner: second.requestId, price: 100n });
  });

  it('open to any bidder: EVM and XCM bids compete, the auctioneer settles at the second price', async () => {
    const a = auction(auctionContract({ auctioneer: EOA, bidders: 'any' }));
    const evm = await a.bid(500n, SOLIDITY);
    const xcm = await a.bid(700n, XCM);
    const zero = await a.bid(0n, XCM);
    expect([evm.accepted, xcm.accepted, zero.accepted]).toEqual([true, true, false]);
    expect(zero.detail.reason).toBe('no amount');
    expect(expectFailure(await a.settle(XCM)).error.message).toMatch(/only the auctioneer/);
    expect(settled(await a.settle(EOA))).toEqual({ winner: xcm.requestId, price: 500n });
  });

  it('as shipped, without an auctioneer written in, can never be settled', async () => {
    const a = auction(exampleContract('sealed-bid-auction'));
    expect((await a.bid(10n, EOA)).accepted).toBe(true);
    expect(expectFailure(await a.settle(EOA)).error.message).toMatch(/only the auctioneer/);
  });

  it('writes origins in lower case, so a checksummed address still matches ctx.origin', () => {
    const code = auctionContract({ auctioneer: SOLIDITY, bidders: 'any' });
    expect(code).toContain(`"requester":"${SOLIDITY.requester.toLowerCase()}"`);
    expect(code).not.toContain(SOLIDITY.requester);
  });
});

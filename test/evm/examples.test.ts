import { type Address, type Hex, encodeAbiParameters, encodeFunctionData, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevnetClients, deployExamples } from '../../src/devnet/evm/index.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { privateCheckAbi } from '../../src/evm/artifacts/PrivateCheck.js';
import { sealedBidAuctionAbi } from '../../src/evm/artifacts/SealedBidAuction.js';
import { encodeFulfillBatch } from '../../src/evm/gateway/fulfill.js';
import { signFulfillmentBatch } from '../../src/evm/sign.js';
import { fulfillResultName } from '../../src/evm/types.js';
import type { FulfillmentInput, RequestRef } from '../../src/evm/types.js';
import { type GatewayFixture, contractErrorOf, gatewayFixture, rand32, randBytes } from './fixture.js';

/**
 * The two example consumers end to end on a real node. The confidential contracts behind them run
 * in pRuntime workers (another part of the project); here the test plays the worker and writes
 * its public outputs in the format each example documents.
 */
let f: GatewayFixture;
let auction: Address;
let check: Address;
let biddingEnds: bigint;

beforeAll(async () => {
  f = await gatewayFixture();
  biddingEnds = (await f.now()) + 1_000n;
  const deployed = await deployExamples(f.clients, {
    gateway: f.dev.gateway,
    auction: { contractId: f.contractId, biddingEnds, answerWindow: 1_000n, settleWindow: 1_000n },
    privateCheck: { contractId: f.contractId, answerWindow: 600n },
  });
  auction = deployed.sealedBidAuction.address;
  check = deployed.privateCheck.address;
});
afterAll(async () => {
  await f?.stop();
});

async function sendAs(c: DevnetClients, to: Address, data: Hex, value = 0n) {
  const hash = await c.walletClient.sendTransaction({ to, data, value });
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  expect(receipt.status).toBe('success');
  return receipt;
}

/** Fulfils requests in one batch signed by the fixture's worker; returns the per-item results. */
async function answer(items: FulfillmentInput[]) {
  const { signature } = signFulfillmentBatch(f.dev.domain, items, f.worker.secretKey);
  const receipt = await f.send(f.dev.gateway, encodeFulfillBatch({ items, signature }), 3_000_000n);
  return { receipt };
}

function ref(requestId: Hex, requester: Address, callbackGasLimit: number, deadline: bigint): RequestRef {
  return { requestId, contractId: f.contractId, requester, callbackGasLimit, deadline };
}

const abi = (types: string[], values: unknown[]) =>
  encodeAbiParameters(
    types.map((type) => ({ type })),
    values as never,
  );

describe('SealedBidAuction', () => {
  it('takes sealed bids, settles at the second price, and pays everyone out', async () => {
    const [alice, bob, carol] = [f.dev.clientsFor(1), f.dev.clientsFor(2), f.dev.clientsFor(3)];
    const answerBy = biddingEnds + 1_000n;
    const bids: Record<string, Hex> = {};
    for (const [name, c, deposit] of [
      ['alice', alice, 100n],
      ['bob', bob, 200n],
      ['carol', carol, 300n],
    ] as const) {
      const receipt = await sendAs(
        c,
        auction,
        encodeFunctionData({
          abi: sealedBidAuctionAbi,
          functionName: 'bid',
          args: [randBytes(120), rand32()],
        }),
        deposit,
      );
      const [placed] = parseEventLogs({
        abi: sealedBidAuctionAbi,
        logs: receipt.logs,
        eventName: 'BidPlaced',
      });
      bids[name] = placed!.args.requestId;
    }
    const settleData = encodeFunctionData({
      abi: sealedBidAuctionAbi,
      functionName: 'settle',
      args: [randBytes(80), rand32()],
    });
    const settleCall = f.clients.publicClient.call({
      account: f.clients.walletClient.account,
      to: auction,
      data: settleData,
    });
    expect(await contractErrorOf(settleCall, sealedBidAuctionAbi)).toBe('BiddingOpen');

    // The confidential contract accepts alice's and bob's bids and rejects carol's (above her deposit, say).
    const gas = await f.clients.publicClient.readContract({
      address: auction,
      abi: sealedBidAuctionAbi,
      functionName: 'CALLBACK_GAS',
    });
    const bidAnswer = (id: Hex, accepted: boolean): FulfillmentInput => ({
      request: ref(id, auction, gas, answerBy),
      publicOutput: abi(['uint8', 'bool'], [1, accepted]),
      sealedOutput: randBytes(90),
      stateRoot: rand32(),
    });
    const { receipt: answered } = await answer([
      bidAnswer(bids.alice!, true),
      bidAnswer(bids.bob!, true),
      bidAnswer(bids.carol!, false),
    ]);
    const answeredEvents = parseEventLogs({
      abi: sealedBidAuctionAbi,
      logs: answered.logs,
      eventName: 'BidAnswered',
    });
    expect(answeredEvents.map((e) => [e.args.bidder, e.args.accepted])).toEqual([
      [alice.walletClient.account.address, true],
      [bob.walletClient.account.address, true],
      [carol.walletClient.account.address, false],
    ]);
    // Carol's rejected deposit is hers again at once.
    const carolOut = await sendAs(
      carol,
      auction,
      encodeFunctionData({ abi: sealedBidAuctionAbi, functionName: 'withdraw' }),
    );
    expect(
      parseEventLogs({ abi: sealedBidAuctionAbi, logs: carolOut.logs, eventName: 'Withdrawn' })[0]?.args
        .amount,
    ).toBe(300n);

    await f.increaseTime(Number(biddingEnds - (await f.now())) + 1);
    const settled = await f.send(auction, settleData);
    const [requested] = parseEventLogs({
      abi: sealedBidAuctionAbi,
      logs: settled.logs,
      eventName: 'SettlementRequested',
    });
    // Bob bid highest, Alice second at 80: Bob wins and pays 80.
    const { receipt: done } = await answer([
      {
        request: ref(requested!.args.requestId, auction, gas, answerBy + 1_000n),
        publicOutput: abi(['uint8', 'bytes32', 'uint256'], [2, bids.bob, 80n]),
        sealedOutput: randBytes(150),
        stateRoot: rand32(),
      },
    ]);
    const [result] = parseEventLogs({ abi: sealedBidAuctionAbi, logs: done.logs, eventName: 'Settled' });
    expect(result?.args).toMatchObject({
      winningBid: bids.bob,
      winner: bob.walletClient.account.address,
      price: 80n,
    });

    const withdrawn = async (c: DevnetClients) => {
      const r = await sendAs(
        c,
        auction,
        encodeFunctionData({ abi: sealedBidAuctionAbi, functionName: 'withdraw' }),
      );
      return parseEventLogs({ abi: sealedBidAuctionAbi, logs: r.logs, eventName: 'Withdrawn' })[0]?.args
        .amount;
    };
    expect(await withdrawn(bob)).toBe(120n);
    expect(await withdrawn(alice)).toBe(100n);
    expect(await withdrawn(f.clients)).toBe(80n); // the seller (deployer)
    const again = f.clients.publicClient.call({
      account: alice.walletClient.account,
      to: auction,
      data: encodeFunctionData({ abi: sealedBidAuctionAbi, functionName: 'withdraw' }),
    });
    expect(await contractErrorOf(again, sealedBidAuctionAbi)).toBe('NothingToWithdraw');
  });
});

describe('PrivateCheck', () => {
  it('publishes only pass/fail, hands the sealed detail to the account, and ignores malformed outputs', async () => {
    const users = [f.dev.clientsFor(4), f.dev.clientsFor(5), f.dev.clientsFor(6)];
    const gas = await f.clients.publicClient.readContract({
      address: check,
      abi: privateCheckAbi,
      functionName: 'CALLBACK_GAS',
    });
    const refs: RequestRef[] = [];
    for (const u of users) {
      const receipt = await sendAs(
        u,
        check,
        encodeFunctionData({ abi: privateCheckAbi, functionName: 'check', args: [randBytes(200), rand32()] }),
      );
      const [requested] = parseEventLogs({
        abi: privateCheckAbi,
        logs: receipt.logs,
        eventName: 'CheckRequested',
      });
      const block = await f.clients.publicClient.getBlock({ blockNumber: receipt.blockNumber });
      refs.push(ref(requested!.args.requestId, check, gas, block.timestamp + 600n));
    }
    const details = [randBytes(120), randBytes(120), randBytes(120)];
    const outputs: Hex[] = [abi(['bool'], [true]), abi(['bool'], [false]), '0x01'];
    const { receipt } = await answer(
      refs.map((r, i) => ({
        request: r,
        publicOutput: outputs[i]!,
        sealedOutput: details[i]!,
        stateRoot: rand32(),
      })),
    );
    const answers = parseEventLogs({ abi: privateCheckAbi, logs: receipt.logs, eventName: 'CheckAnswered' });
    expect(answers.map((a) => [a.args.account, a.args.passed, a.args.sealedDetail])).toEqual(
      users.map((u, i) => [u.walletClient.account.address, i === 0, details[i]]),
    );
    const passed = await Promise.all(
      users.map((u) =>
        f.clients.publicClient.readContract({
          address: check,
          abi: privateCheckAbi,
          functionName: 'hasPassed',
          args: [u.walletClient.account.address, 0n],
        }),
      ),
    );
    expect(passed).toEqual([true, false, false]);
    // Every callback ran within the example's gas budget.
    const results = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: 'RequestFulfilled',
    });
    expect(results.map((r) => fulfillResultName(r.args.result))).toEqual([
      'Delivered',
      'Delivered',
      'Delivered',
    ]);
  });

  it('lets the account cancel an unanswered check after its deadline', async () => {
    const u = f.dev.clientsFor(7);
    const receipt = await sendAs(
      u,
      check,
      encodeFunctionData({ abi: privateCheckAbi, functionName: 'check', args: [randBytes(64), rand32()] }),
    );
    const [requested] = parseEventLogs({
      abi: privateCheckAbi,
      logs: receipt.logs,
      eventName: 'CheckRequested',
    });
    const cancel = encodeFunctionData({
      abi: privateCheckAbi,
      functionName: 'cancel',
      args: [requested!.args.requestId],
    });
    expect(
      await contractErrorOf(
        f.clients.publicClient.call({ account: u.walletClient.account, to: check, data: cancel }),
        privateCheckAbi,
      ),
    ).toBe('NotCancellable');
    await f.increaseTime(601);
    const done = await sendAs(u, check, cancel);
    expect(
      parseEventLogs({ abi: privateCheckAbi, logs: done.logs, eventName: 'CheckCancelled' }),
    ).toHaveLength(1);
  });
});

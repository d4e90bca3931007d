import {
  type Address,
  type Hex,
  type PublicClient,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  http,
  parseEventLogs,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/base/poll.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { privateCheckAbi } from '../../src/evm/artifacts/PrivateCheck.js';
import { sealedBidAuctionAbi } from '../../src/evm/artifacts/SealedBidAuction.js';
import { openOutput, requestFromEvm, sealInputForEvm } from '../../src/sdk/index.js';
import { expectFulfilled } from '../../src/testing/index.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The two Solidity examples with their confidential halves (examples/contracts/*.js) on the
 * devnet: requests made by consumer contracts, answered through callbacks by the real relayer and
 * workers (sim TEE only).
 */
const BIDDING_SECONDS = 20;
let devnet: Devnet;
let publicClient: PublicClient;
const abi = (types: string, values: unknown[]) =>
  encodeAbiParameters(
    types.split(',').map((type) => ({ type: type.trim() })),
    values as never,
  );

beforeAll(async () => {
  devnet = await startDevnet({
    redisUrl: REDIS_URL,
    redisPrefix: `{${uniquePrefix('examples')}}`,
    examples: { auctionBiddingSeconds: BIDDING_SECONDS },
  });
  publicClient = createPublicClient({ transport: http(devnet.chains.evm.rpcUrl) });
}, 120_000);

afterAll(async () => {
  await devnet?.stop();
});

function wallet(index: number) {
  const account = privateKeyToAccount(devnet.chains.evm.accounts[index]!.privateKey);
  return createWalletClient({ account, transport: http(devnet.chains.evm.rpcUrl) });
}

/** Seals for `consumer` as requester and the account `index` (who will call it) as end user. */
async function sealFor(
  consumer: Address,
  contract: 'private-check' | 'sealed-bid-auction',
  input: Uint8Array | string,
  index: number,
) {
  return sealInputForEvm(publicClient, {
    gateway: devnet.chains.evm.gateway,
    contractId: devnet.contracts[contract]!.contractId,
    requester: consumer,
    endUser: wallet(index).account.address,
    input,
  });
}

type EventArgs = Record<string, unknown>;

/** Waits until `pick` finds what it needs among the consumer's decoded events of one name. */
function eventsUntil<T>(address: Address, eventName: string, pick: (args: EventArgs[]) => T | null) {
  return pollUntil(
    async () => {
      const logs = await publicClient.getLogs({ address, fromBlock: 0n, toBlock: 'latest' });
      const parsed = parseEventLogs({ abi: [...privateCheckAbi, ...sealedBidAuctionAbi], logs });
      return pick(parsed.filter((l) => l.eventName === eventName).map((l) => l.args as unknown as EventArgs));
    },
    { label: `${eventName} from ${address}`, timeoutMs: 60_000, intervalMs: 300 },
  );
}

describe('Solidity examples with their confidential contracts (sim TEE)', () => {
  it('PrivateCheck: a sealed score gives a public yes/no and a sealed detail for the account', async () => {
    const check = devnet.examples!.privateCheck;
    const outcomes: { passed: boolean; detail: unknown }[] = [];
    for (const [index, score] of [
      [4, 700],
      [5, 600],
    ] as const) {
      const w = wallet(index);
      const sealed = await sealFor(check, 'private-check', JSON.stringify({ score }), index);
      const hash = await w.writeContract({
        address: check,
        abi: privateCheckAbi,
        chain: null,
        functionName: 'check',
        args: [sealed.sealedInput, sealed.responseKey.publicKey],
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const [requested] = parseEventLogs({
        abi: privateCheckAbi,
        logs: receipt.logs,
        eventName: 'CheckRequested',
      });
      const requestId = requested!.args.requestId;
      const answered = await eventsUntil(
        check,
        'CheckAnswered',
        (all) => all.find((a) => a.requestId === requestId) ?? null,
      );
      const detail = JSON.parse(
        new TextDecoder().decode(
          openOutput({
            sealedOutput: answered.sealedDetail as Hex,
            responseSecretKey: sealed.responseKey.secretKey,
            requestId,
          }),
        ),
      );
      outcomes.push({ passed: answered.passed as boolean, detail });
      expect(
        await publicClient.readContract({
          address: check,
          abi: privateCheckAbi,
          functionName: 'hasPassed',
          args: [w.account.address, 0n],
        }),
      ).toBe(score >= 650);
    }
    // The answer is for the account that called check(): the end user, not the PrivateCheck contract.
    const account = (index: number) => wallet(index).account.address.toLowerCase();
    expect(outcomes).toEqual([
      { passed: true, detail: { passed: true, score: 700, threshold: 650, margin: 50, account: account(4) } },
      {
        passed: false,
        detail: { passed: false, score: 600, threshold: 650, margin: -50, account: account(5) },
      },
    ]);
  }, 120_000);

  it('SealedBidAuction: sealed bids kept in encrypted state, settled at the second price', async () => {
    const auction = devnet.examples!.sealedBidAuction;
    const bidders = [
      { index: 6, amount: 100n },
      { index: 7, amount: 300n },
      { index: 8, amount: 200n },
    ];
    const requestIds: Hex[] = [];
    for (const b of bidders) {
      const sealed = await sealFor(
        auction,
        'sealed-bid-auction',
        new Uint8Array(Buffer.from(abi('uint8, uint256', [1, b.amount]).slice(2), 'hex')),
        b.index,
      );
      const hash = await wallet(b.index).writeContract({
        address: auction,
        abi: sealedBidAuctionAbi,
        chain: null,
        functionName: 'bid',
        args: [sealed.sealedInput, sealed.responseKey.publicKey],
        value: 1_000n,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const [placed] = parseEventLogs({
        abi: sealedBidAuctionAbi,
        logs: receipt.logs,
        eventName: 'BidPlaced',
      });
      requestIds.push(placed!.args.requestId);
    }
    const answered = await eventsUntil(auction, 'BidAnswered', (all) =>
      all.length === bidders.length ? all : null,
    );
    expect(answered.map((a) => a.accepted)).toEqual([true, true, true]);

    // A bid placed around the escrow, straight through the gateway, carries no deposit: the
    // confidential contract takes bids from the Solidity auction only.
    const bidder = wallet(9);
    const around = await requestFromEvm(bidder, {
      publicClient,
      gateway: devnet.chains.evm.gateway,
      contractId: devnet.contracts['sealed-bid-auction']!.contractId,
      input: new Uint8Array(Buffer.from(abi('uint8, uint256', [1, 10_000n]).slice(2), 'hex')),
    });
    const refused = await expectFulfilled(devnet, around);
    expect(refused.publicOutput).toBe(abi('uint8, bool', [1, false]));

    // Bidding closes on the chain's clock.
    await pollUntil(
      async () => {
        if ((await publicClient.getBlock()).timestamp >= devnet.examples!.auctionBiddingEnds) return true;
        // Hardhat mines on transactions only: a block now carries the clock forward.
        await publicClient.request({ method: 'evm_mine' as never });
        return false;
      },
      {
        label: 'the end of bidding',
        timeoutMs: (BIDDING_SECONDS + 30) * 1000,
        intervalMs: 1_000,
      },
    );
    const sealed = await sealFor(
      auction,
      'sealed-bid-auction',
      new Uint8Array(Buffer.from(abi('uint8', [2]).slice(2), 'hex')),
      9,
    );
    await publicClient.waitForTransactionReceipt({
      hash: await wallet(9).writeContract({
        address: auction,
        abi: sealedBidAuctionAbi,
        chain: null,
        functionName: 'settle',
        args: [sealed.sealedInput, sealed.responseKey.publicKey],
      }),
    });
    const settled = await eventsUntil(auction, 'Settled', (all) => all[0] ?? null);
    expect(settled.winningBid).toBe(requestIds[1]);
    expect(settled.winner).toBe(wallet(7).account.address);
    expect(settled.price).toBe(200n);
    expect(
      await publicClient.readContract({ address: auction, abi: sealedBidAuctionAbi, functionName: 'price' }),
    ).toBe(200n);
  }, 180_000);
});

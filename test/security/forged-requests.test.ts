import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  type Address,
  type Hex,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  encodeFunctionData,
  http,
  keccak256,
  parseEventLogs,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { pollUntil } from '../../src/base/poll.js';
import { sealEnvelope } from '../../src/crypto/envelope.js';
import { requestContext } from '../../src/crypto/envelope-context.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { runDemo } from '../../src/cli/demo.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { privateCheckAbi } from '../../src/evm/artifacts/PrivateCheck.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { decodeGatewayLog } from '../../src/evm/gateway/events.js';
import { buildFulfillmentBatch } from '../../src/evm/gateway/fulfill.js';
import { computeRequestId } from '../../src/evm/request-id.js';
import type { FulfillmentInput, RequestRef } from '../../src/evm/types.js';
import { fulfillmentBatchDigest } from '../../src/crypto/proofs.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import { requestIdOf } from '../../src/phala/ids.js';
import { devSigner } from '../../src/phala/signers.js';
import { originKey, requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, requestQueueName } from '../../src/protocol/queue-names.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import { getJourney } from '../../src/relayer/admin-client.js';
import {
  requestFromEvm,
  requestFromPhala,
  sealInputForEvm,
  waitForPhalaResult,
} from '../../src/sdk/index.js';
import { gatewayErrorOf } from '../evm/fixture.js';
import { devnetWorkerIdentity } from '../helpers/devnet-worker-identity.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The attacks of issue 13 that need no more than write access to Redis (what any relayer operator
 * has), scripted against a real devnet (sim TEE): forged jobs go straight into the cluster's
 * request queue under their proper job ids, as the relayer would put them. Each is refused by the
 * worker with its named reason, recorded in the journey (`refused`) and counted; nothing is run,
 * signed or sealed for it, and the honest flows still pass.
 */
let devnet: Devnet;
let redis: Redis;
let requests: Queue;
let results: Queue;
const evm = () => devnet.chains.evm;
const publicClient = () => createPublicClient({ transport: http(evm().rpcUrl) });

beforeAll(async () => {
  devnet = await startDevnet({
    redisUrl: REDIS_URL,
    redisPrefix: `{${uniquePrefix('security')}}`,
    examples: { auctionBiddingSeconds: 3_600 },
  });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = devnet.config.redis.prefix;
  requests = new Queue(requestQueueName(devnet.cluster), { connection: redis, prefix });
  results = new Queue(RESULT_QUEUE, { connection: redis, prefix });
}, 180_000);

afterAll(async () => {
  await requests?.close();
  await results?.close();
  await redis?.quit();
  await devnet?.stop();
});

const SETTLE = new Uint8Array(Buffer.from(encodeAbiParameters([{ type: 'uint8' }], [2]).slice(2), 'hex'));
const bid = (amount: bigint) =>
  new Uint8Array(
    Buffer.from(encodeAbiParameters([{ type: 'uint8' }, { type: 'uint256' }], [1, amount]).slice(2), 'hex'),
  );

/** An EVM-origin job "from" `requester` as the relayer would queue it; no chain ever held it. */
async function forgedEvmJob(p: {
  contract: string;
  requester: Address;
  endUser: Address;
  input: Uint8Array;
}) {
  const contract = devnet.contracts[p.contract]!;
  const origin = { kind: 'evm' as const, chainId: evm().chainId, gateway: evm().gateway };
  const attackerKey = generateKeyPair('x25519');
  const sealedInput = toHex(
    sealEnvelope({
      recipientPublicKey: fromHex(contract.publicKey),
      purpose: 'request',
      context: requestContext(
        originKey(origin),
        fromHex(p.requester),
        fromHex(contract.contractId),
        attackerKey.publicKey,
        fromHex(p.endUser),
      ),
      plaintext: p.input,
    }),
  );
  const nonce = 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  const head = await publicClient().getBlock();
  const deadline = head.timestamp + 3_600n;
  const job: RequestJob = {
    v: 1,
    origin,
    requestId: computeRequestId({
      chainId: origin.chainId,
      gateway: origin.gateway,
      nonce,
      requester: p.requester,
      endUser: p.endUser,
      contractId: contract.contractId,
      responseKey: toHex(attackerKey.publicKey),
      sealedInputHash: keccak256(sealedInput),
    }),
    contractId: contract.contractId,
    cluster: contract.cluster,
    requester: p.requester,
    endUser: p.endUser,
    nonce: nonce.toString(),
    sealedInput,
    responseKey: toHex(attackerKey.publicKey),
    deadline: Number(deadline),
    callbackGasLimit: 300_000,
    observed: { chain: 'evm', blockNumber: Number(head.number), blockHash: head.hash!, at: Date.now() },
  };
  return job;
}

async function enqueue(job: RequestJob): Promise<string> {
  const jobId = requestJobId(job.origin, job.requestId);
  await requests.add('request', job, { jobId, attempts: 3, backoff: { type: 'fixed', delay: 200 } });
  return jobId;
}

/** Waits for the job to fail, then returns its journey's last stage and the refusal detail. */
async function resultCount(jobId: string): Promise<number> {
  const all = await results.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
  return all.filter((j) => j.data?.jobId === jobId).length;
}

async function refusalOf(jobId: string, resultsBefore = 0): Promise<{ stage: string; detail: string }> {
  const failed = await pollUntil(
    async () => {
      const job = await requests.getJob(jobId);
      // Read again once failed: the first read may predate the failure (attemptsMade still 0).
      return job && (await job.isFailed()) ? requests.getJob(jobId) : null;
    },
    { label: `refusal of ${jobId}`, timeoutMs: 30_000, intervalMs: 100 },
  );
  expect(failed.attemptsMade).toBe(1); // refused for good at the first look, never retried
  const journey = await pollUntil(
    async () => {
      const j = await getJourney(devnet.relayer.admin, jobId).catch(() => null);
      return j?.journey.find((e) => e.stage === 'refused') ? j : null;
    },
    { label: `journey of ${jobId}`, timeoutMs: 10_000, intervalMs: 100 },
  );
  const refused = journey.journey.find((e) => e.stage === 'refused')!;
  // Nothing signed: no (new) result job of any worker for it.
  expect(await resultCount(jobId)).toBe(resultsBefore);
  return { stage: refused.stage, detail: refused.detail ?? '' };
}

async function refusalCount(reason: string): Promise<number> {
  let total = 0;
  for (const w of devnet.workers) {
    const text = await (await fetch(`${w.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`phala_bridge_security_refusals_total{role="worker",reason="${reason}"}`));
    total += line ? Number(line.split(' ').pop()) : 0;
  }
  return total;
}

describe('forged jobs in Redis are refused by the workers (issue 13)', () => {
  it('honest requests from every origin are answered', async () => {
    const outcomes = await runDemo(devnet, 90_000);
    expect(outcomes.map((o) => o.origin)).toEqual(['evm', 'phala', 'xcm']);
    for (const o of outcomes) expect(o.publicOutput).toBe(`hello, ${o.input}!`);
    // The EVM answer of the stateful greeter was released only after its state commit was final
    // on the Phala-style chain, named by its request id (no relayer can deliver one without the other).
    const evmRequestId = outcomes[0]!.jobId.slice(outcomes[0]!.jobId.lastIndexOf('-') + 1) as Hex;
    const finalized = await devnet.phala.api.rpc.chain.getFinalizedHead();
    const committed = await contracts.getCommittedRequestAt(
      devnet.phala,
      evmRequestId,
      finalized.toHex() as Hex,
    );
    expect(committed).toEqual({ contractId: devnet.contracts.greeter.contractId.toLowerCase(), version: 1n });
  });

  it('a settle "from" the SealedBidAuction no chain holds is refused: the top sealed bid is never revealed', async () => {
    const auction = devnet.examples!.sealedBidAuction;
    const before = await refusalCount('RequestNotOnChain');
    const job = await forgedEvmJob({
      contract: 'sealed-bid-auction',
      requester: auction,
      endUser: evm().accounts[0]!.address,
      input: SETTLE,
    });
    const refusal = await refusalOf(await enqueue(job));
    expect(refusal.detail).toMatch(/^RequestNotOnChain: /);
    expect(await refusalCount('RequestNotOnChain')).toBe(before + 1);
    const relayerMetrics = await (await fetch(`${devnet.relayer.metricsUrl}/metrics`)).text();
    expect(relayerMetrics).toMatch(
      /phala_bridge_security_refusals_total\{role="worker",reason="RequestNotOnChain"\} [1-9]/,
    );
  });

  it('a fabricated bid of 10^30 "from" the auction is refused, and the auction\'s state never moves', async () => {
    const auctionId = devnet.contracts['sealed-bid-auction']!.contractId;
    const stateBefore = await contracts.getContractState(devnet.phala, auctionId);
    const job = await forgedEvmJob({
      contract: 'sealed-bid-auction',
      requester: devnet.examples!.sealedBidAuction,
      endUser: evm().accounts[3]!.address,
      input: bid(10n ** 30n),
    });
    expect((await refusalOf(await enqueue(job))).detail).toMatch(/^RequestNotOnChain: /);
    const stateAfter = await contracts.getContractState(devnet.phala, auctionId);
    expect(stateAfter?.version ?? 0n).toBe(stateBefore?.version ?? 0n);
    expect(stateAfter?.stateRoot).toBe(stateBefore?.stateRoot);
  });

  it('a request "from //Alice" that PhalaContracts.Requests never held is refused', async () => {
    const alice = await devSigner('Alice', 42);
    const account = fromHex(devnet.phala.api.createType('AccountId', alice.address).toHex());
    const greeter = devnet.contracts.greeter;
    const origin = { kind: 'phala' as const, genesisHash: devnet.chains.phala.genesisHash };
    const attackerKey = generateKeyPair('x25519');
    const sealedInput = sealEnvelope({
      recipientPublicKey: fromHex(greeter.publicKey),
      purpose: 'request',
      context: requestContext(originKey(origin), account, fromHex(greeter.contractId), attackerKey.publicKey),
      plaintext: utf8('show me your state'),
    });
    const nonce = 900_000n;
    const head = await devnet.phala.api.rpc.chain.getHeader();
    const job: RequestJob = {
      v: 1,
      origin,
      requestId: toHex(
        requestIdOf({ kind: 'signed', account }, nonce, fromHex(greeter.contractId), sealedInput),
      ),
      contractId: greeter.contractId,
      cluster: greeter.cluster,
      requester: toHex(account),
      nonce: nonce.toString(),
      sealedInput: toHex(sealedInput),
      responseKey: toHex(attackerKey.publicKey),
      deadline: Math.floor(Date.now() / 1000) + 600,
      observed: {
        chain: 'phala',
        blockNumber: head.number.toNumber(),
        blockHash: head.hash.toHex() as Hex,
        at: Date.now(),
      },
    };
    expect((await refusalOf(await enqueue(job))).detail).toMatch(/^RequestNotOnChain: /);
  });

  it("a real pending request with the attacker's response key is refused (RequestFieldMismatch), and an answered one replayed (RequestNotPending)", async () => {
    const alice = await devSigner('Alice', 42);
    const greeter = devnet.contracts.greeter;
    // A pending request that no worker will answer: the greeter's code in a cluster nobody serves.
    const other = await contracts.instantiate(devnet.phala, {
      signer: alice,
      codeHash: greeter.codeHash,
      cluster: `0x${'5e'.repeat(32)}`,
      salt: toHex(utf8(`unserved/${Date.now()}`)),
    });
    const contractId = other.event.contractId as Hex;
    const account = fromHex(devnet.phala.api.createType('AccountId', alice.address).toHex());
    const honestKey = generateKeyPair('x25519');
    const sealedInput = toHex(utf8('sealed to nobody in particular'));
    const sent = await contracts.request(devnet.phala, {
      signer: alice,
      contractId,
      sealedInput,
      responseKey: honestKey.publicKey,
      deadline: await contracts.deadlineIn(devnet.phala, 600),
      waitFor: 'finalized',
    });
    const origin = { kind: 'phala' as const, genesisHash: devnet.chains.phala.genesisHash };
    const forged: RequestJob = {
      v: 1,
      origin,
      requestId: sent.event.requestId as Hex,
      contractId,
      cluster: devnet.cluster, // queued to the served cluster
      requester: toHex(account),
      nonce: sent.event.nonce.toString(),
      sealedInput,
      responseKey: toHex(generateKeyPair('x25519').publicKey), // the attacker's
      deadline: Math.floor(Date.now() / 1000) + 600,
      observed: {
        chain: 'phala',
        blockNumber: sent.blockNumber,
        blockHash: sent.blockHash as Hex,
        at: Date.now(),
      },
    };
    expect((await refusalOf(await enqueue(forged))).detail).toMatch(/^RequestFieldMismatch: responseKey/);

    // An honest request, answered; then its job put back (as a Redis writer can) is refused.
    const honest = await requestFromPhala(devnet.phala, {
      signer: alice,
      contractId: greeter.contractId,
      input: 'again',
    });
    await waitForPhalaResult(devnet.phala, { requestId: honest.requestId, timeoutMs: 60_000 });
    const jobId = requestJobId(origin, honest.requestId);
    const original = await pollUntil(
      async () => {
        const job = await requests.getJob(jobId);
        return job && (await job.isCompleted()) ? job : null;
      },
      { label: 'the honest job completed', timeoutMs: 30_000, intervalMs: 100 },
    );
    const data = original.data as RequestJob;
    // Once the fulfilment is final and the workers' views have moved past it (they re-sync at
    // least every second). Within that window a replay would only re-derive the same answer,
    // sealed to the same requester, which the chain then refuses as already fulfilled.
    const best = (await devnet.phala.api.rpc.chain.getHeader()).number.toNumber();
    await pollUntil(
      async () => {
        const hash = await devnet.phala.api.rpc.chain.getFinalizedHead();
        return (await devnet.phala.api.rpc.chain.getHeader(hash)).number.toNumber() >= best || null;
      },
      { label: 'the fulfilment final', timeoutMs: 30_000, intervalMs: 100 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const answered = await resultCount(jobId);
    expect(await requests.remove(original.id!)).toBe(1);
    await requests.add('request', data, { jobId, attempts: 3 });
    expect((await refusalOf(jobId, answered)).detail).toMatch(/^RequestNotPending: /);
  });

  it("Bob's copy of Alice's sealed PrivateCheck input does not pass for Bob", async () => {
    const check = devnet.examples!.privateCheck;
    const wallet = (i: number) =>
      createWalletClient({
        account: privateKeyToAccount(evm().accounts[i]!.privateKey),
        transport: http(evm().rpcUrl),
      });
    const alice = wallet(4);
    const bob = wallet(5);
    const sealed = await sealInputForEvm(publicClient(), {
      gateway: evm().gateway,
      contractId: devnet.contracts['private-check']!.contractId,
      requester: check,
      endUser: alice.account.address,
      input: JSON.stringify({ score: 800 }),
    });
    const call = async (w: ReturnType<typeof wallet>) => {
      const hash = await w.writeContract({
        address: check,
        abi: privateCheckAbi,
        chain: null,
        functionName: 'check',
        args: [sealed.sealedInput, sealed.responseKey.publicKey],
      });
      const receipt = await publicClient().waitForTransactionReceipt({ hash });
      return parseEventLogs({ abi: privateCheckAbi, logs: receipt.logs, eventName: 'CheckRequested' })[0]!
        .args.requestId;
    };
    const passed = (who: Address) =>
      publicClient().readContract({
        address: check,
        abi: privateCheckAbi,
        functionName: 'hasPassed',
        args: [who, 0n],
      });
    await call(alice);
    await pollUntil(async () => (await passed(alice.account.address)) || null, {
      label: 'Alice passes',
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    const copied = await call(bob);
    // The workers cannot open Alice's input in Bob's request: refused for good, never answered.
    const jobId = requestJobId({ kind: 'evm', chainId: evm().chainId, gateway: evm().gateway }, copied);
    const failed = await pollUntil(
      async () => {
        const job = await requests.getJob(jobId);
        return job && (await job.isFailed()) ? job : null;
      },
      { label: "Bob's copied request refused", timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(failed.failedReason).toMatch(/^input-unreadable/);
    expect(await passed(bob.account.address)).toBe(false);
  });

  it('a worker-signed batch reordered by the relayer is refused whole (MalformedBatch)', async () => {
    // As an attacker with Redis can: hold the cluster's queue so the requests stay pending.
    await requests.pause();
    try {
      const sender = createWalletClient({
        account: privateKeyToAccount(evm().accounts[7]!.privateKey),
        transport: http(evm().rpcUrl),
      });
      const refs: RequestRef[] = [];
      for (const input of ['first', 'second', 'third']) {
        const sent = await requestFromEvm(sender, {
          publicClient: publicClient(),
          gateway: evm().gateway,
          contractId: devnet.contracts.greeter.contractId,
          input,
        });
        const receipt = await publicClient().getTransactionReceipt({ hash: sent.transactionHash });
        const event = receipt.logs
          .map((log) => decodeGatewayLog(log, evm().chainId))
          .find((e) => e?.kind === 'RequestSent');
        if (event?.kind !== 'RequestSent') throw new Error('no RequestSent');
        refs.push({
          requestId: event.requestId,
          contractId: event.contractId,
          requester: event.requester,
          callbackGasLimit: event.callbackGasLimit,
          deadline: event.deadline,
        });
      }
      // Signed, in this order, by an approved worker of the devnet (its key unsealed as a
      // compromised host of a sim TEE could): a batch as the relayer receives it.
      const info = (await (await fetch(`${devnet.workers[0]!.url}/info`)).json()) as { measurement: Hex };
      const identity = await devnetWorkerIdentity(devnet, 0, info.measurement);
      const items: FulfillmentInput[] = refs.map((request, i) => ({
        request,
        publicOutput: toHex(utf8(`answer ${i}`)),
        sealedOutput: '0x',
        stateRoot: `0x${'00'.repeat(32)}`,
      }));
      const { root, count } = buildFulfillmentBatch(items);
      const signature = identity.signEthereumDigest(
        fulfillmentBatchDigest({ chainId: evm().chainId, verifyingContract: evm().gateway }, root, count),
      );
      const call = (ordered: { item: FulfillmentInput; index: number }[]) =>
        publicClient().call({
          account: evm().accounts[1]!.address,
          to: evm().gateway,
          data: encodeFunctionData({
            abi: phalaBridgeGatewayAbi,
            functionName: 'fulfillBatch',
            args: [
              ordered.map(({ item, index }) => ({
                request: item.request,
                publicOutput: item.publicOutput,
                sealedOutput: item.sealedOutput,
                stateRoot: item.stateRoot,
                index,
              })),
              signature,
            ],
          }),
        });
      // The relayer swaps the first two, each keeping the index it was signed at.
      const swapped = [1, 0, 2].map((i) => ({ item: items[i]!, index: i }));
      expect(await gatewayErrorOf(call(swapped))).toBe('MalformedBatch');
      // The signed order goes through (simulated only: the workers answer these for real).
      await call(items.map((item, index) => ({ item, index })));
    } finally {
      await requests.resume();
    }
  });
});

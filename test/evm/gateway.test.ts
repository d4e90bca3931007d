import { type Hex, encodeAbiParameters, encodeFunctionData, keccak256, parseEventLogs, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/base/errors.js';
import { workerRevocationDigest } from '../../src/crypto/proofs.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/TestConsumer.js';
import { decodeGatewayLog } from '../../src/evm/gateway/events.js';
import { encodeCancel, encodeFulfill } from '../../src/evm/gateway/fulfill.js';
import { getFulfillmentOutputs } from '../../src/evm/gateway/outputs.js';
import { getCommitment, isRequestPending, isWorkerAuthorized } from '../../src/evm/gateway/read.js';
import { encodeRevokeWorker, signAsGatekeepers } from '../../src/evm/gateway/registry.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import {
  computeRequestCommitment,
  computeRequestIdFromInput,
  evmRequestNonce,
} from '../../src/evm/request-id.js';
import { signFulfillment } from '../../src/evm/sign.js';
import { gatewayLogs } from '../../src/evm/submitter/submit-fulfillment.js';
import type { FulfillmentInput } from '../../src/evm/types.js';
import {
  type GatewayFixture,
  gatewayErrorOf,
  gatewayFixture,
  makeWorker,
  rand32,
  randBytes,
} from './fixture.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await gatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

/** Calls fulfill as eth_call (nothing mined): resolves, or rejects with the gateway's error. */
function callFulfill(input: FulfillmentInput, signature: Hex) {
  return f.clients.publicClient.call({
    account: f.clients.walletClient.account,
    to: f.dev.gateway,
    data: encodeFulfill({ fulfillment: input, signature }),
  });
}

async function fulfillOnChain(input: FulfillmentInput, secretKey = f.worker.secretKey) {
  const signature = signFulfillment(f.dev.domain, input, secretKey);
  const receipt = await f.send(f.dev.gateway, encodeFulfill({ fulfillment: input, signature }));
  return { receipt, signature };
}

function fulfilledEvents(receipt: Awaited<ReturnType<GatewayFixture['send']>>) {
  return parseEventLogs({
    abi: phalaBridgeGatewayAbi,
    logs: gatewayLogs(receipt, f.dev.gateway),
    eventName: ['RequestFulfilled', 'CallbackFailed'],
  });
}

async function consumerState() {
  const read = <N extends 'received' | 'lastRequestId' | 'lastOutputsHash' | 'gasAtEntry' | 'reentryFailed'>(
    functionName: N,
  ) => f.clients.publicClient.readContract({ address: f.consumer, abi: testConsumerAbi, functionName });
  return {
    received: await read('received'),
    lastRequestId: await read('lastRequestId'),
    lastOutputsHash: await read('lastOutputsHash'),
    gasAtEntry: await read('gasAtEntry'),
    reentryFailed: await read('reentryFailed'),
  };
}

describe('request → fulfill with a worker registered through gatekeeper signatures', () => {
  it('computes the request id and commitment as the TypeScript helpers do, and delivers the result', async () => {
    await f.setMode(0);
    const sealedInput = randBytes(256);
    const responseKey = rand32();
    const deadline = (await f.now()) + 3_600n;
    const receipt = await f.send(
      f.consumer,
      encodeFunctionData({
        abi: testConsumerAbi,
        functionName: 'send',
        args: [f.contractId, sealedInput, responseKey, 150_000, deadline],
      }),
    );
    const [sent] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: gatewayLogs(receipt, f.dev.gateway),
      eventName: 'RequestSent',
    });
    expect(sent?.args).toMatchObject({
      contractId: f.contractId,
      requester: f.consumer,
      // The block number: the first request of its transaction (issue 15, no stored counter).
      nonce: evmRequestNonce(receipt.blockNumber, 0),
      sealedInput,
      responseKey,
      callbackGasLimit: 150_000,
      deadline,
    });
    // The consumer asked for its caller: the end user is the deployer's account.
    const endUser = f.clients.walletClient.account.address;
    expect(sent?.args.endUser).toBe(endUser);
    const requestId = computeRequestIdFromInput({
      chainId: f.dev.node.chainId,
      gateway: f.dev.gateway,
      nonce: evmRequestNonce(receipt.blockNumber, 0),
      requester: f.consumer,
      endUser,
      contractId: f.contractId,
      responseKey,
      sealedInput,
    });
    expect(sent?.args.requestId).toBe(requestId);
    expect(await getCommitment(f.clients.publicClient, { gateway: f.dev.gateway, requestId })).toBe(
      computeRequestCommitment({
        contractId: f.contractId,
        requester: f.consumer,
        callbackGasLimit: 150_000,
        deadline,
      }),
    );

    const input = f.outputs({
      requestId,
      contractId: f.contractId,
      requester: f.consumer,
      callbackGasLimit: 150_000,
      deadline,
    });
    const { receipt: fulfilled } = await fulfillOnChain(input);
    const events = fulfilledEvents(fulfilled);
    expect(events.map((e) => e.eventName)).toEqual(['RequestFulfilled']);
    expect(events[0]?.args).toMatchObject({ requestId, worker: f.worker.address, result: 0 });
    const state = await consumerState();
    expect(state.lastRequestId).toBe(requestId);
    expect(state.lastOutputsHash).toBe(
      keccak256(
        encodeAbiParameters([{ type: 'bytes' }, { type: 'bytes' }], [input.publicOutput, input.sealedOutput]),
      ),
    );
    expect(await isRequestPending(f.clients.publicClient, { gateway: f.dev.gateway, requestId })).toBe(false);
    const outputs = await getFulfillmentOutputs(f.clients.publicClient, {
      gateway: f.dev.gateway,
      requestId,
    });
    expect(outputs).toMatchObject({
      result: 'Delivered',
      worker: f.worker.address,
      publicOutput: input.publicOutput,
      sealedOutput: input.sealedOutput,
      stateRoot: input.stateRoot,
    });
  });

  it('answers a request from an EOA without a callback', async () => {
    const deadline = (await f.now()) + 600n;
    const sealedInput = randBytes(64);
    const receipt = await f.send(
      f.dev.gateway,
      encodeRequest({
        contractId: f.contractId,
        sealedInput,
        responseKey: rand32(),
        callbackGasLimit: 0,
        deadline,
      }),
    );
    const [sent] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: 'RequestSent',
    });
    const ref = {
      requestId: sent!.args.requestId,
      contractId: f.contractId,
      requester: f.clients.walletClient.account.address,
      callbackGasLimit: 0,
      deadline,
    };
    const { receipt: fulfilled } = await fulfillOnChain(f.outputs(ref));
    expect(fulfilledEvents(fulfilled)[0]?.args).toMatchObject({ requestId: ref.requestId, result: 0 });
  });
});

describe('request nonces (block-based, no stored counter)', () => {
  it('refuses an identical request in the same block while the first is pending; a later block gives a new id', async () => {
    const { publicClient, walletClient } = f.clients;
    const data = encodeRequest({
      contractId: f.contractId,
      sealedInput: randBytes(64),
      responseKey: rand32(),
      callbackGasLimit: 0,
      deadline: (await f.now()) + 600n,
    });
    const automine = (on: boolean) =>
      publicClient.request({ method: 'evm_setAutomine' as never, params: [on] as never });
    await automine(false);
    let hashes: Hex[];
    try {
      // Explicit gas: nothing is estimated against the block the two will share.
      hashes = [
        await walletClient.sendTransaction({ to: f.dev.gateway, data, gas: 200_000n }),
        await walletClient.sendTransaction({ to: f.dev.gateway, data, gas: 200_000n }),
      ];
      await publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    } finally {
      await automine(true);
    }
    const [first, second] = await Promise.all(
      hashes.map((hash) => publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 })),
    );
    expect(first!.blockNumber).toBe(second!.blockNumber);
    expect([first!.status, second!.status]).toEqual(['success', 'reverted']);
    const sent = (logs: typeof first.logs) =>
      parseEventLogs({ abi: phalaBridgeGatewayAbi, logs, eventName: 'RequestSent' })[0]!.args;
    const firstSent = sent(first!.logs);
    expect(firstSent.nonce).toBe(evmRequestNonce(first!.blockNumber, 0));
    // Replayed in that block's context, the second one names its reason.
    expect(
      await gatewayErrorOf(
        publicClient.call({
          account: walletClient.account,
          to: f.dev.gateway,
          data,
          blockNumber: first!.blockNumber,
        }),
      ),
    ).toBe('DuplicateRequest');
    // The same request in a later block is a new request with a new id.
    const later = sent((await f.send(f.dev.gateway, data)).logs);
    expect(later.nonce).toBeGreaterThan(firstSent.nonce);
    expect(later.requestId).not.toBe(firstSent.requestId);
    expect(
      await isRequestPending(publicClient, { gateway: f.dev.gateway, requestId: firstSent.requestId }),
    ).toBe(true);
  });
});

describe('fulfillments the gateway refuses', () => {
  it('refuses a signer that is not a registered worker', async () => {
    const input = f.outputs(await f.request());
    const stranger = makeWorker();
    expect(
      await gatewayErrorOf(callFulfill(input, signFulfillment(f.dev.domain, input, stranger.secretKey))),
    ).toBe('WorkerNotAuthorized');
  });

  it('refuses a worker of another cluster', async () => {
    const other = makeWorker();
    await f.registerWorker(other, { cluster: rand32() });
    const input = f.outputs(await f.request());
    expect(
      await gatewayErrorOf(callFulfill(input, signFulfillment(f.dev.domain, input, other.secretKey))),
    ).toBe('WorkerNotAuthorized');
  });

  it('refuses a revoked worker', async () => {
    const w = makeWorker();
    const expiresAt = (await f.now()) + 86_400n;
    await f.registerWorker(w, { expiresAt });
    const input = f.outputs(await f.request());
    const signature = signFulfillment(f.dev.domain, input, w.secretKey);
    await callFulfill(input, signature); // accepted before the revocation
    const revocation = { worker: w.address, revokeUpTo: expiresAt, epoch: 0n };
    const signatures = signAsGatekeepers(workerRevocationDigest(f.dev.domain, revocation), f.gatekeeperKeys);
    await f.send(f.dev.gateway, encodeRevokeWorker({ revocation, signatures }));
    expect(
      await isWorkerAuthorized(f.clients.publicClient, {
        gateway: f.dev.gateway,
        worker: w.address,
        cluster: f.cluster,
      }),
    ).toBe(false);
    expect(await gatewayErrorOf(callFulfill(input, signature))).toBe('WorkerNotAuthorized');
  });

  it('refuses a worker whose registration expired', async () => {
    const w = makeWorker();
    await f.registerWorker(w, { expiresAt: (await f.now()) + 100n });
    const input = f.outputs(await f.request({ deadline: (await f.now()) + 10_000n }));
    const signature = signFulfillment(f.dev.domain, input, w.secretKey);
    await callFulfill(input, signature);
    await f.increaseTime(200);
    expect(await gatewayErrorOf(callFulfill(input, signature))).toBe('WorkerNotAuthorized');
  });

  it('refuses a signature made for another chain id or another gateway', async () => {
    const input = f.outputs(await f.request());
    const otherChain = signFulfillment({ ...f.dev.domain, chainId: 1 }, input, f.worker.secretKey);
    const otherGateway = signFulfillment(
      { ...f.dev.domain, verifyingContract: '0x000000000000000000000000000000000000dEaD' },
      input,
      f.worker.secretKey,
    );
    expect(await gatewayErrorOf(callFulfill(input, otherChain))).toBe('WorkerNotAuthorized');
    expect(await gatewayErrorOf(callFulfill(input, otherGateway))).toBe('WorkerNotAuthorized');
    await callFulfill(input, signFulfillment(f.dev.domain, input, f.worker.secretKey));
  });

  it('refuses outputs that differ from what the worker signed, and malformed signatures', async () => {
    const input = f.outputs(await f.request());
    const signature = signFulfillment(f.dev.domain, input, f.worker.secretKey);
    expect(await gatewayErrorOf(callFulfill({ ...input, publicOutput: randBytes(32) }, signature))).toBe(
      'WorkerNotAuthorized',
    );
    expect(await gatewayErrorOf(callFulfill({ ...input, stateRoot: rand32() }, signature))).toBe(
      'WorkerNotAuthorized',
    );
    // The encoder refuses a short signature; sent anyway, the gateway refuses it too.
    expect(() => encodeFulfill({ fulfillment: input, signature: signature.slice(0, 130) as Hex })).toThrow(
      InvalidInputError,
    );
    const r = input.request;
    const short = f.clients.publicClient.call({
      account: f.clients.walletClient.account,
      to: f.dev.gateway,
      data: encodeFunctionData({
        abi: phalaBridgeGatewayAbi,
        functionName: 'fulfill',
        args: [r, input.publicOutput, input.sealedOutput, input.stateRoot, signature.slice(0, 130) as Hex],
      }),
    });
    expect(await gatewayErrorOf(short)).toBe('InvalidSignature');
    const highS = flipToHighS(signature);
    expect(await gatewayErrorOf(callFulfill(input, highS))).toBe('InvalidSignature');
  });

  it('refuses a replayed fulfillment', async () => {
    const input = f.outputs(await f.request());
    const { signature } = await fulfillOnChain(input);
    expect(await gatewayErrorOf(callFulfill(input, signature))).toBe('RequestNotPending');
  });

  it('refuses a fulfillment after the deadline', async () => {
    const input = f.outputs(await f.request({ deadline: (await f.now()) + 50n }));
    const signature = signFulfillment(f.dev.domain, input, f.worker.secretKey);
    await f.increaseTime(100);
    expect(await gatewayErrorOf(callFulfill(input, signature))).toBe('RequestExpired');
  });

  it('refuses request fields that do not match the commitment', async () => {
    const ref = await f.request();
    for (const changed of [
      { ...ref, callbackGasLimit: ref.callbackGasLimit + 1 },
      { ...ref, deadline: ref.deadline + 1n },
      { ...ref, requester: f.clients.walletClient.account.address },
      { ...ref, contractId: rand32() },
    ]) {
      const input = f.outputs(changed);
      expect(
        await gatewayErrorOf(callFulfill(input, signFulfillment(f.dev.domain, input, f.worker.secretKey))),
      ).toBe('CommitmentMismatch');
    }
    const unknown = f.outputs({ ...ref, requestId: rand32() });
    expect(
      await gatewayErrorOf(callFulfill(unknown, signFulfillment(f.dev.domain, unknown, f.worker.secretKey))),
    ).toBe('RequestNotPending');
  });

  it('refuses requests it could never answer', async () => {
    const now = await f.now();
    const call = (p: Partial<Parameters<typeof encodeRequest>[0]>) =>
      f.clients.publicClient.call({
        account: f.clients.walletClient.account,
        to: f.dev.gateway,
        data: encodeRequest({
          contractId: f.contractId,
          sealedInput: randBytes(32),
          responseKey: rand32(),
          callbackGasLimit: 100_000,
          deadline: now + 100n,
          ...p,
        }),
      });
    expect(await gatewayErrorOf(call({ contractId: rand32() }))).toBe('ContractNotRegistered');
    expect(await gatewayErrorOf(call({ deadline: now - 1n }))).toBe('InvalidDeadline');
    expect(await gatewayErrorOf(call({ callbackGasLimit: 2_500_001 }))).toBe('CallbackGasTooHigh');
    expect(await gatewayErrorOf(call({ sealedInput: randBytes(32 * 1024 + 1) }))).toBe('InputTooLarge');
  });
});

describe('cancel', () => {
  it('lets only the requester cancel, only after the deadline, and then refuses the result', async () => {
    const ref = await f.request({ deadline: (await f.now()) + 60n });
    const cancel = () =>
      f.send(
        f.consumer,
        encodeFunctionData({
          abi: testConsumerAbi,
          functionName: 'cancel',
          args: [ref.requestId, ref.contractId, ref.callbackGasLimit, ref.deadline],
        }),
      );
    const byOther = f.clients.publicClient.call({
      account: f.clients.walletClient.account,
      to: f.dev.gateway,
      data: encodeCancel({ request: ref }),
    });
    expect(await gatewayErrorOf(byOther)).toBe('NotRequester');
    expect(await gatewayErrorOf(cancel())).toBe('DeadlineNotPassed');
    await f.increaseTime(120);
    const receipt = await cancel();
    const [event] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: gatewayLogs(receipt, f.dev.gateway),
      eventName: 'RequestCancelled',
    });
    expect(event?.args).toEqual({ requestId: ref.requestId, requester: f.consumer });
    const cancelled = gatewayLogs(receipt, f.dev.gateway).map((l) => decodeGatewayLog(l, f.dev.node.chainId));
    expect(cancelled).toMatchObject([
      { kind: 'RequestCancelled', requestId: ref.requestId, requester: f.consumer },
    ]);
    const input = f.outputs(ref);
    expect(
      await gatewayErrorOf(callFulfill(input, signFulfillment(f.dev.domain, input, f.worker.secretKey))),
    ).toBe('RequestNotPending');
  });
});

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The same signature with s replaced by n - s (valid for ecrecover, refused as malleable). */
function flipToHighS(signature: Hex): Hex {
  const r = signature.slice(2, 66);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  return `0x${r}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${toHex(v === 27 ? 28 : 27).slice(2)}`;
}

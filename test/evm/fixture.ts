import { randomBytes } from 'node:crypto';
import {
  type Abi,
  type Address,
  type Hex,
  decodeErrorResult,
  encodeFunctionData,
  parseEventLogs,
  toHex,
} from 'viem';
import { expect } from 'vitest';
import { ethereumAddress, keyPairFromSecret } from '../../src/crypto/keys.js';
import {
  type DevnetClients,
  type EvmDevnet,
  deployTestConsumer,
  registerContractOnGateway,
  registerWorkerOnGateway,
  startEvmDevnet,
} from '../../src/devnet/evm/index.js';
import type { StartEvmDevnetParameters } from '../../src/devnet/evm/setup.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/TestConsumer.js';
import { decodeGatewayError } from '../../src/evm/gateway/decode-error.js';
import type { WorkerBatchInput } from '../../src/evm/gateway/fulfill.js';
import { signFulfillmentBatch } from '../../src/evm/sign.js';
import { gatewayLogs } from '../../src/evm/submitter/submit-fulfillment.js';
import type { FulfillmentInput, RequestRef } from '../../src/evm/types.js';

export const rand32 = (): Hex => toHex(randomBytes(32));
export const randBytes = (n: number): Hex => toHex(randomBytes(n));

export type Worker = { secretKey: Uint8Array; address: Address };

export function makeWorker(): Worker {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, address: ethereumAddress(keyPairFromSecret('secp256k1', secretKey).publicKey) };
}

/** The fixture's worker and three more registered for its cluster: four signers of batches. */
export async function fourWorkers(f: GatewayFixture): Promise<Worker[]> {
  const more = [makeWorker(), makeWorker(), makeWorker()];
  for (const w of more) await f.registerWorker(w);
  return [f.worker, ...more];
}

/** A worker batch as a worker service publishes it: its items under one signature of `worker`. */
export function signedBatch(f: GatewayFixture, items: FulfillmentInput[], worker: Worker): WorkerBatchInput {
  return { items, signature: signFulfillmentBatch(f.dev.domain, items, worker.secretKey).signature };
}

export const TestMode = {
  Store: 0,
  Noop: 1,
  Revert: 2,
  Loop: 3,
  ReturnBomb: 4,
  RevertBomb: 5,
  Reenter: 6,
} as const;

/** A node with a gateway, one registered contract in one cluster, one registered worker and a consumer. */
export type GatewayFixture = {
  dev: EvmDevnet;
  clients: DevnetClients;
  contractId: Hex;
  cluster: Hex;
  worker: Worker;
  consumer: Address;
  gatekeeperKeys: Uint8Array[];
  /** Latest block time. */
  now(): Promise<bigint>;
  /** Sends calldata from the deployer and waits for the receipt (fails the test on revert). */
  send(
    to: Address,
    data: Hex,
    gas?: bigint,
  ): Promise<Awaited<ReturnType<DevnetClients['publicClient']['waitForTransactionReceipt']>>>;
  /** A request through the TestConsumer; returns what fulfill needs. */
  request(opts?: {
    callbackGasLimit?: number;
    deadline?: bigint;
    contractId?: Hex;
    input?: Hex;
  }): Promise<RequestRef>;
  outputs(request: RequestRef, stateRoot?: Hex): FulfillmentInput;
  setMode(mode: number): Promise<void>;
  increaseTime(seconds: number): Promise<void>;
  registerWorker(worker: Worker, opts?: { cluster?: Hex; expiresAt?: bigint; epoch?: bigint }): Promise<void>;
  stop(): Promise<void>;
};

export async function gatewayFixture(params: StartEvmDevnetParameters = {}): Promise<GatewayFixture> {
  const dev = await startEvmDevnet(params);
  const clients = dev.clients;
  const { publicClient, walletClient } = clients;
  const gatekeeperKeys = dev.gatekeepers.map((g) => g.secretKey);
  const contractId = rand32();
  const cluster = rand32();
  const worker = makeWorker();
  const now = async () => (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;
  await registerContractOnGateway(clients, {
    gateway: dev.gateway,
    registration: { contractId, cluster, publicKey: rand32(), epoch: 0n },
    gatekeeperKeys,
  });
  const registerWorker: GatewayFixture['registerWorker'] = async (w, opts = {}) => {
    await registerWorkerOnGateway(clients, {
      gateway: dev.gateway,
      registration: {
        worker: w.address,
        measurement: rand32(),
        cluster: opts.cluster ?? cluster,
        expiresAt: opts.expiresAt ?? (await now()) + 86_400n,
        epoch: opts.epoch ?? 0n,
      },
      gatekeeperKeys,
    });
  };
  await registerWorker(worker);
  const consumer = (await deployTestConsumer(clients, dev.gateway)).address;
  const send: GatewayFixture['send'] = async (to, data, gas) => {
    const hash = await walletClient.sendTransaction({ to, data, ...(gas ? { gas } : {}) });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    expect(receipt.status).toBe('success');
    return receipt;
  };
  return {
    dev,
    clients,
    contractId,
    cluster,
    worker,
    consumer,
    gatekeeperKeys,
    now,
    send,
    async request(opts = {}) {
      const callbackGasLimit = opts.callbackGasLimit ?? 200_000;
      const deadline = opts.deadline ?? (await now()) + 3_600n;
      const target = opts.contractId ?? contractId;
      const receipt = await send(
        consumer,
        encodeFunctionData({
          abi: testConsumerAbi,
          functionName: 'send',
          args: [target, opts.input ?? randBytes(256), rand32(), callbackGasLimit, deadline],
        }),
      );
      const [event] = parseEventLogs({
        abi: phalaBridgeGatewayAbi,
        logs: gatewayLogs(receipt, dev.gateway),
        eventName: 'RequestSent',
      });
      if (!event) throw new Error('no RequestSent');
      return {
        requestId: event.args.requestId,
        contractId: target,
        requester: consumer,
        callbackGasLimit,
        deadline,
      };
    },
    outputs(request, stateRoot = rand32()) {
      return { request, publicOutput: randBytes(32), sealedOutput: randBytes(105), stateRoot };
    },
    async setMode(mode) {
      await send(
        consumer,
        encodeFunctionData({ abi: testConsumerAbi, functionName: 'setMode', args: [mode] }),
      );
    },
    async increaseTime(seconds) {
      await publicClient.request({ method: 'evm_increaseTime' as never, params: [seconds] as never });
      await publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    },
    registerWorker,
    stop: () => dev.stop(),
  };
}

/** Awaits a rejected call and returns the name of its custom error, decoded with `abi`. */
export async function contractErrorOf(promise: Promise<unknown>, abi: Abi): Promise<string> {
  try {
    await promise;
  } catch (error) {
    let current: unknown = error;
    for (let i = 0; current && typeof current === 'object' && i < 10; i++) {
      const data = (current as { data?: unknown }).data;
      const hex = typeof data === 'string' ? data : (data as { data?: unknown } | undefined)?.data;
      if (typeof hex === 'string' && hex.startsWith('0x') && hex.length >= 10) {
        return decodeErrorResult({ abi, data: hex as Hex }).errorName;
      }
      current = (current as { cause?: unknown }).cause;
    }
    throw error;
  }
  throw new Error('expected the call to revert');
}

/** Awaits a rejected gateway call and returns the gateway error's name. */
export async function gatewayErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const decoded = decodeGatewayError(error);
    if (!decoded) throw error;
    return decoded.name;
  }
  throw new Error('expected the call to revert');
}

import { randomBytes } from 'node:crypto';
import { type Address, type Hex, encodeFunctionData, parseEventLogs, toHex } from 'viem';
import { ethereumAddress, keyPairFromSecret } from '../../src/crypto/keys.js';
import {
  type EvmDevnet,
  deployTestConsumer,
  devnetSecretKey,
  registerContractOnGateway,
  registerWorkerOnGateway,
  startEvmDevnet,
} from '../../src/devnet/evm/index.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/TestConsumer.js';
import { encodeFulfill, encodeFulfillBatch, encodeFulfillBatches } from '../../src/evm/gateway/fulfill.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import { signFulfillment, signFulfillmentBatch } from '../../src/evm/sign.js';
import type { FulfillmentInput, RequestRef } from '../../src/evm/types.js';
import type { BenchReport } from '../index.js';

/**
 * Gas of PhalaBridgeGateway measured on a real Hardhat node (EDR, hardfork prague), from
 * transaction receipts:
 * - requestGas: `request` from an EOA with a 256-byte sealed input (the whole transaction,
 *   21,000 base and calldata included), median of 5;
 * - fulfillOverheadGas: a `fulfill` transaction minus the gas spent inside the consumer's
 *   callback (measured with debug_traceTransaction), 32-byte public and 105-byte sealed output
 *   (an envelope around 32 bytes), median of 3;
 * - batchPerRequestGas[n]: (`fulfillBatch` of n such results − gas inside the callbacks) / n,
 *   all requests from one consumer to one confidential contract;
 * - workersPerRequestGas["<w>x<n>"]: the same for one `fulfillBatches` transaction carrying w
 *   workers' signed batches of n items each (4 items per worker, and 16 items in all).
 */
export const name = 'gas';

const PUBLIC_OUTPUT = 32;
const SEALED_OUTPUT = 105;
const BATCH_SIZES = [1, 8, 32, 128] as const;
/** [workers, items per worker] of the `fulfillBatches` rows: 4 items per worker, then 16 in all. */
const WORKER_SHAPES = [
  [1, 4],
  [2, 4],
  [4, 4],
  [1, 16],
  [2, 8],
] as const;

type Trace = { structLogs: { depth: number; gas: number; gasCost: number }[] };

/** Gas used inside every depth-2 frame the gateway called (the consumers' callbacks). */
async function calleeGas(dev: EvmDevnet, hash: Hex): Promise<bigint> {
  const res = await fetch(dev.node.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'debug_traceTransaction',
      params: [hash, { disableStack: true, disableMemory: true, disableStorage: true }],
    }),
  });
  const logs = ((await res.json()) as { result: Trace }).result.structLogs;
  let total = 0n;
  for (let i = 1; i < logs.length; i++) {
    if (logs[i]!.depth !== 2 || logs[i - 1]!.depth !== 1) continue;
    const given = logs[i]!.gas;
    let j = i;
    while (j + 1 < logs.length && logs[j + 1]!.depth >= 2) j++;
    const last = logs[j]!;
    total += BigInt(given - (last.gas - last.gasCost));
  }
  return total;
}

const median = (xs: bigint[]) =>
  [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[Math.floor(xs.length / 2)]!;
const rand = (n: number): Hex => toHex(randomBytes(n));

export async function run(): Promise<BenchReport> {
  const dev = await startEvmDevnet();
  try {
    const { publicClient, walletClient } = dev.clients;
    const send = async (to: Address, data: Hex, gas = 15_000_000n) => {
      const hash = await walletClient.sendTransaction({ to, data, gas });
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      if (receipt.status !== 'success') throw new Error(`benchmark transaction reverted: ${hash}`);
      return receipt;
    };
    const keys = dev.gatekeepers.map((g) => g.secretKey);
    const contractId = rand(32);
    const cluster = rand(32);
    const workerKeys = [0, 1, 2, 3].map((i) =>
      devnetSecretKey(i === 0 ? 'bench/worker' : `bench/worker-${i}`),
    );
    const workerKey = workerKeys[0]!;
    const now = (await publicClient.getBlock()).timestamp;
    const deadline = now + 86_400n;
    await registerContractOnGateway(dev.clients, {
      gateway: dev.gateway,
      registration: { contractId, cluster, publicKey: rand(32), epoch: 0n },
      gatekeeperKeys: keys,
    });
    for (const key of workerKeys) {
      const worker = ethereumAddress(keyPairFromSecret('secp256k1', key).publicKey);
      await registerWorkerOnGateway(dev.clients, {
        gateway: dev.gateway,
        registration: { worker, measurement: rand(32), cluster, expiresAt: now + 7n * 86_400n, epoch: 0n },
        gatekeeperKeys: keys,
      });
    }
    const consumer = (await deployTestConsumer(dev.clients, dev.gateway)).address;
    await send(consumer, encodeFunctionData({ abi: testConsumerAbi, functionName: 'setMode', args: [1] })); // Noop

    const requestGas: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const data = encodeRequest({
        contractId,
        sealedInput: rand(256),
        responseKey: rand(32),
        callbackGasLimit: 100_000,
        deadline,
      });
      requestGas.push((await send(dev.gateway, data)).gasUsed);
    }

    const consumerRequest = async (): Promise<RequestRef> => {
      const receipt = await send(
        consumer,
        encodeFunctionData({
          abi: testConsumerAbi,
          functionName: 'send',
          args: [contractId, rand(256), rand(32), 100_000, deadline],
        }),
      );
      const [event] = parseEventLogs({
        abi: phalaBridgeGatewayAbi,
        logs: receipt.logs,
        eventName: 'RequestSent',
      });
      if (!event) throw new Error('no RequestSent');
      return {
        requestId: event.args.requestId,
        contractId,
        requester: consumer,
        callbackGasLimit: 100_000,
        deadline,
      };
    };
    const result = async (): Promise<FulfillmentInput> => ({
      request: await consumerRequest(),
      publicOutput: rand(PUBLIC_OUTPUT),
      sealedOutput: rand(SEALED_OUTPUT),
      stateRoot: rand(32),
    });

    const fulfillTotal: bigint[] = [];
    const fulfillOverhead: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const input = await result();
      const signature = signFulfillment(dev.domain, input, workerKey);
      const receipt = await send(dev.gateway, encodeFulfill({ fulfillment: input, signature }));
      fulfillTotal.push(receipt.gasUsed);
      fulfillOverhead.push(receipt.gasUsed - (await calleeGas(dev, receipt.transactionHash)));
    }

    const table: Record<string, string | number>[] = [
      { operation: 'request (256-byte sealed input)', gas: Number(median(requestGas)), target: '≤ 60,000' },
      { operation: 'fulfill, whole transaction', gas: Number(median(fulfillTotal)), target: '' },
      {
        operation: 'fulfill overhead (without callback)',
        gas: Number(median(fulfillOverhead)),
        target: '≤ 50,000',
      },
    ];
    const batchPerRequestGas: Record<string, number> = {};
    for (const n of BATCH_SIZES) {
      const items: FulfillmentInput[] = [];
      for (let i = 0; i < n; i++) items.push(await result());
      const { signature } = signFulfillmentBatch(dev.domain, items, workerKey);
      const receipt = await send(dev.gateway, encodeFulfillBatch({ items, signature }));
      const callbacks = await calleeGas(dev, receipt.transactionHash);
      const perRequest = Math.round(Number(receipt.gasUsed - callbacks) / n);
      batchPerRequestGas[String(n)] = perRequest;
      table.push({
        operation: `fulfillBatch × ${n}, per request (without callbacks)`,
        gas: perRequest,
        target: n === 32 ? '≤ 15,000' : '',
      });
      table.push({
        operation: `fulfillBatch × ${n}, per request (with no-op callbacks)`,
        gas: Math.round(Number(receipt.gasUsed) / n),
        target: '',
      });
    }
    const workersPerRequestGas: Record<string, number> = {};
    for (const [workers, perWorker] of WORKER_SHAPES) {
      const key = `${workers}x${perWorker}`;
      const batches = [];
      for (let w = 0; w < workers; w++) {
        const items: FulfillmentInput[] = [];
        for (let i = 0; i < perWorker; i++) items.push(await result());
        batches.push({ items, signature: signFulfillmentBatch(dev.domain, items, workerKeys[w]!).signature });
      }
      const receipt = await send(dev.gateway, encodeFulfillBatches({ batches }));
      const n = workers * perWorker;
      const callbacks = await calleeGas(dev, receipt.transactionHash);
      const perRequest = Math.round(Number(receipt.gasUsed - callbacks) / n);
      workersPerRequestGas[key] = perRequest;
      table.push({
        operation: `fulfillBatches, ${workers} worker${workers > 1 ? 's' : ''} × ${perWorker} items, per request (without callbacks)`,
        gas: perRequest,
        target: '',
      });
      table.push({
        operation: `fulfillBatches, ${workers} worker${workers > 1 ? 's' : ''} × ${perWorker} items, per request (with no-op callbacks)`,
        gas: Math.round(Number(receipt.gasUsed) / n),
        target: '',
      });
    }
    return {
      table,
      figures: {
        requestGas: Number(median(requestGas)),
        fulfillOverheadGas: Number(median(fulfillOverhead)),
        batchPerRequestGas,
        workersPerRequestGas,
      },
    };
  } finally {
    await dev.stop();
  }
}

import { type Address, type Client, type Hex, decodeFunctionData, getAbiItem, toEventSelector } from 'viem';
import { getLogs, getTransaction } from 'viem/actions';
import { BaseError, type Retry } from '../../base/errors.js';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import { type FulfillResult, fulfillResultName } from '../types.js';

export type GetFulfillmentOutputsParameters = {
  gateway: Address;
  requestId: Hex;
  /** Where to start looking (default: the earliest block; pass the request's block). */
  fromBlock?: bigint;
};

export type GetFulfillmentOutputsReturnType = {
  result: FulfillResult;
  worker: Address;
  publicOutput: Hex;
  /** Sealed to the request's response key: open it with the matching X25519 secret. */
  sealedOutput: Hex;
  stateRoot: Hex;
  transactionHash: Hex;
  blockNumber: bigint;
} | null;

export class FulfillmentOutputsError extends BaseError {
  /** The same transaction holds the same calldata. */
  static override readonly retry: Retry = 'never';
  override name = 'FulfillmentOutputsError';
}

const fulfilledTopic = toEventSelector(getAbiItem({ abi: phalaBridgeGatewayAbi, name: 'RequestFulfilled' }));

/**
 * The outputs of a fulfilled request, read back from the calldata of the transaction that
 * delivered it (the gateway stores and logs only their hashes' consequences, to save gas).
 * Null while the request is not fulfilled. Works when `fulfill`/`fulfillBatch`/`fulfillBatches` was called
 * directly on the gateway (as the relayer does), not through another contract.
 */
export async function getFulfillmentOutputs(
  client: Client,
  p: GetFulfillmentOutputsParameters,
): Promise<GetFulfillmentOutputsReturnType> {
  const logs = await getLogs(client, {
    address: p.gateway,
    event: getAbiItem({ abi: phalaBridgeGatewayAbi, name: 'RequestFulfilled' }),
    args: { requestId: p.requestId },
    fromBlock: p.fromBlock ?? 'earliest',
    toBlock: 'latest',
  });
  const log = logs.find((l) => l.topics[0] === fulfilledTopic);
  if (!log?.transactionHash || log.blockNumber === null) return null;
  const tx = await getTransaction(client, { hash: log.transactionHash });
  if (!tx.to || tx.to.toLowerCase() !== p.gateway.toLowerCase())
    throw new FulfillmentOutputsError('fulfillment was not a direct gateway call', {
      details: `transaction ${log.transactionHash} calls ${tx.to}`,
    });
  const call = decodeFunctionData({ abi: phalaBridgeGatewayAbi, data: tx.input });
  const base = {
    result: fulfillResultName(log.args.result ?? 0),
    worker: log.args.worker as Address,
    transactionHash: log.transactionHash,
    blockNumber: log.blockNumber,
  };
  if (call.functionName === 'fulfill') {
    const [, publicOutput, sealedOutput, stateRoot] = call.args;
    return { ...base, publicOutput, sealedOutput, stateRoot };
  }
  if (call.functionName === 'fulfillBatch' || call.functionName === 'fulfillBatches') {
    const items = call.functionName === 'fulfillBatch' ? call.args[0] : call.args[0].flatMap((b) => b.items);
    const item = items.find((i) => i.request.requestId.toLowerCase() === p.requestId.toLowerCase());
    if (item)
      return {
        ...base,
        publicOutput: item.publicOutput,
        sealedOutput: item.sealedOutput,
        stateRoot: item.stateRoot,
      };
  }
  throw new FulfillmentOutputsError('fulfillment calldata does not hold the request', {
    details: `transaction ${log.transactionHash}`,
  });
}

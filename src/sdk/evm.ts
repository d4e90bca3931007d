import type { Signer as EthersSigner } from 'ethers';
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  http,
} from 'viem';
import { getChainId, waitForTransactionReceipt } from 'viem/actions';
import { BaseError, type Retry } from '../base/errors.js';
import { pollUntil } from '../base/poll.js';
import { decodeGatewayLog } from '../evm/gateway/events.js';
import { type GetFulfillmentOutputsReturnType, getFulfillmentOutputs } from '../evm/gateway/outputs.js';
import { getContractInfo } from '../evm/gateway/read.js';
import { encodeRequest, sendRequest } from '../evm/gateway/request.js';
import { createResponseKey, sealInput } from './seal.js';

/** Who sends an EVM request: a viem wallet client with an account, or an ethers v6 signer. */
export type EvmSender = WalletClient<Transport, Chain | undefined, Account> | EthersSigner;

export type RequestFromEvmParameters = {
  sender: EvmSender;
  /** Reads (contract key, receipt, result) go through viem: pass a client or an RPC URL. */
  publicClient?: PublicClient;
  rpcUrl?: string;
  gateway: Address;
  contractId: Hex;
  input: Uint8Array | string;
  /** Gas for the requester's callback; 0 (the default) for an EOA, which reads the result itself. */
  callbackGasLimit?: number;
  /** Seconds until the request may no longer be fulfilled (default one hour). */
  deadlineSeconds?: number;
};

export type RequestFromEvmReturnType = {
  requestId: Hex;
  transactionHash: Hex;
  blockNumber: bigint;
  requester: Address;
  /** Opens the sealed output (`openOutput`); keep it as secret as the answer it opens. */
  responseSecretKey: Hex;
  publicClient: PublicClient;
};

export class EvmRequestError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'EvmRequestError';
}

function isEthersSigner(sender: EvmSender): sender is EthersSigner {
  return typeof (sender as EthersSigner).getAddress === 'function';
}

function readerOf(p: { publicClient?: PublicClient; rpcUrl?: string }): PublicClient {
  if (p.publicClient) return p.publicClient;
  if (!p.rpcUrl) throw new EvmRequestError('Pass `publicClient` or `rpcUrl` for reads.');
  return createPublicClient({ transport: http(p.rpcUrl) });
}

export type SealInputForEvmParameters = {
  publicClient: PublicClient;
  gateway: Address;
  contractId: Hex;
  /** Who calls the gateway: the EOA, or the consumer contract that calls it for its user. */
  requester: Address;
  /**
   * The account the request is for: the one that sends the transaction (to the consumer
   * contract, or to the gateway directly, when it equals `requester`). Required, because a
   * consumer's request opens only for the account that called the consumer.
   */
  endUser: Address;
  input: Uint8Array | string;
};

/**
 * Seals an input for a request made on an EVM chain, with the contract's key as the gateway knows
 * it and a fresh response key. For a consumer contract (PrivateCheck, an auction...), the
 * requester is the consumer's address and the end user the account that will call it: pass the
 * result to its entry point from that account. Nobody else can use it (the gateway binds the
 * consumer's caller as the end user; the worker opens the input only for that end user).
 */
export async function sealInputForEvm(p: SealInputForEvmParameters) {
  const info = await getContractInfo(p.publicClient, { gateway: p.gateway, contractId: p.contractId });
  if (!info.registered)
    throw new EvmRequestError(`Contract ${p.contractId} is not registered on gateway ${p.gateway}.`, {
      details: 'its key is registered by the gatekeepers through the relayer once the contract is deployed',
    });
  const chainId = await getChainId(p.publicClient);
  const responseKey = createResponseKey();
  const sealedInput = sealInput({
    contractPublicKey: info.publicKey,
    contractId: p.contractId,
    origin: { kind: 'evm', chainId, gateway: p.gateway },
    requester: p.requester,
    endUser: p.endUser,
    responseKey: responseKey.publicKey,
    input: p.input,
  });
  return { sealedInput, responseKey, chainId };
}

/**
 * Sends a request to a confidential contract from an EVM account through the gateway: seals the
 * input to the contract's key (read from the gateway) for this account and origin, with a fresh
 * response key, and returns the request id from the `RequestSent` event.
 */
export async function requestFromEvm(p: RequestFromEvmParameters): Promise<RequestFromEvmReturnType> {
  const publicClient = readerOf(p);
  const requester = (
    isEthersSigner(p.sender) ? await p.sender.getAddress() : p.sender.account.address
  ) as Address;
  const { sealedInput, responseKey, chainId } = await sealInputForEvm({
    publicClient,
    gateway: p.gateway,
    contractId: p.contractId,
    requester,
    endUser: requester,
    input: p.input,
  });
  const request = {
    contractId: p.contractId,
    sealedInput,
    responseKey: responseKey.publicKey,
    callbackGasLimit: p.callbackGasLimit ?? 0,
    deadline: BigInt(Math.floor(Date.now() / 1000) + (p.deadlineSeconds ?? 3_600)),
  };
  const transactionHash = isEthersSigner(p.sender)
    ? ((await p.sender.sendTransaction({ to: p.gateway, data: encodeRequest(request) })).hash as Hex)
    : await sendRequest(p.sender, { ...request, gateway: p.gateway });
  const receipt = await waitForTransactionReceipt(publicClient, { hash: transactionHash });
  if (receipt.status !== 'success')
    throw new EvmRequestError(`The request transaction ${transactionHash} reverted.`);
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== p.gateway.toLowerCase()) continue;
    const event = decodeGatewayLog(log, chainId);
    if (event?.kind === 'RequestSent')
      return {
        requestId: event.requestId,
        transactionHash,
        blockNumber: receipt.blockNumber,
        requester,
        responseSecretKey: responseKey.secretKey,
        publicClient,
      };
  }
  throw new EvmRequestError(`No RequestSent event in ${transactionHash}.`);
}

export type WaitForEvmResultParameters = {
  publicClient: PublicClient;
  gateway: Address;
  requestId: Hex;
  /** The request's block, to bound the log search. */
  fromBlock?: bigint;
  timeoutMs?: number;
};

/** What the gateway delivered for a request, read back from the fulfilling transaction. */
export type EvmResult = NonNullable<GetFulfillmentOutputsReturnType>;

/** Waits until the gateway reports the request fulfilled and returns what was delivered. */
export function waitForEvmResult(p: WaitForEvmResultParameters): Promise<EvmResult> {
  return pollUntil(
    () =>
      getFulfillmentOutputs(p.publicClient, {
        gateway: p.gateway,
        requestId: p.requestId,
        ...(p.fromBlock === undefined ? {} : { fromBlock: p.fromBlock }),
      }),
    { label: `the fulfillment of EVM request ${p.requestId}`, timeoutMs: p.timeoutMs ?? 120_000 },
  );
}

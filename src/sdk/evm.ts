import {
  type Account,
  type Address,
  type Chain,
  type Client,
  type GetChainIdErrorType,
  type Hex,
  type PublicClient,
  type SendTransactionErrorType,
  type Transport,
  type WaitForTransactionReceiptErrorType,
  createPublicClient,
  custom,
  http,
} from 'viem';
import { getChainId, sendTransaction, waitForTransactionReceipt } from 'viem/actions';
import { BaseError, type Retry } from '../base/errors.js';
import type { PollTimeoutError } from '../base/poll.js';
import { decodeGatewayLog } from '../evm/gateway/events.js';
import {
  type FulfillmentOutputsError,
  type GetFulfillmentOutputsReturnType,
  getFulfillmentOutputs,
} from '../evm/gateway/outputs.js';
import { getContractInfo } from '../evm/gateway/read.js';
import { encodeRequest } from '../evm/gateway/request.js';
import type {
  RelayerParameters,
  AdminApiError,
  RequestEndedError,
  RequestRefusedError,
} from './relayer-status.js';
import { createResponseKey, sealInput } from './seal.js';
import { waitForAnswer } from './wait.js';

/**
 * An ethers v6 signer, by the two methods the SDK calls (so that the SDK's types need no ethers:
 * it is an optional peer).
 */
export type EthersLikeSigner = {
  getAddress(): Promise<string>;
  sendTransaction(transaction: { to: string; data: string }): Promise<{ hash: string }>;
};

/** A viem client with an account (a wallet client) that signs and sends. */
export type EvmWalletClient = Client<Transport, Chain | undefined, Account>;

/** Who sends an EVM request: a viem wallet client with an account, or an ethers v6 signer. */
export type EvmSender = EvmWalletClient | EthersLikeSigner;

export class EvmRequestError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'EvmRequestError';
}

function isEthersSigner(sender: EvmSender): sender is EthersLikeSigner {
  return typeof (sender as EthersLikeSigner).getAddress === 'function';
}

/** Reads go through `publicClient`, else `rpcUrl`, else the viem wallet client's own transport. */
function readerOf(sender: EvmSender, p: { publicClient?: PublicClient; rpcUrl?: string }): PublicClient {
  if (p.publicClient) return p.publicClient;
  if (p.rpcUrl) return createPublicClient({ transport: http(p.rpcUrl) });
  if (!isEthersSigner(sender))
    return createPublicClient({
      chain: sender.chain,
      pollingInterval: sender.pollingInterval,
      transport: custom({ request: sender.request }),
    });
  throw new EvmRequestError('Pass `publicClient` or `rpcUrl` for reads when sending with an ethers signer.');
}

// ------------------------------------------------------------------ sealInputForEvm

export type SealInputForEvmParameters = {
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

export type SealInputForEvmReturnType = {
  /** Pass it to the consumer's entry point (or the gateway's `request`) as `sealedInput`. */
  sealedInput: Hex;
  /** `publicKey` goes in the request as `responseKey`; `secretKey` opens the sealed output. */
  responseKey: { secretKey: Hex; publicKey: Hex };
  chainId: number;
};

export type SealInputForEvmErrorType = EvmRequestError | GetChainIdErrorType | Error;

/** @deprecated Pass the client first: `sealInputForEvm(publicClient, { gateway, … })`. */
export type DeprecatedSealInputForEvmParameters = SealInputForEvmParameters & { publicClient: Client };

/**
 * Seals an input for a request made on an EVM chain, with the contract's key as the gateway
 * knows it and a fresh response key. For a consumer contract (PrivateCheck, an auction, yours),
 * the requester is the consumer's address and the end user the account that will call it: pass
 * `sealedInput` and `responseKey.publicKey` to its entry point from that account. Nobody else can
 * use it (the gateway binds the consumer's caller as end user; the worker opens the input only
 * for that end user, else refuses it as `input-unreadable`). docs/solidity.md walks through it.
 */
export function sealInputForEvm(
  client: Client,
  parameters: SealInputForEvmParameters,
): Promise<SealInputForEvmReturnType>;
/** @deprecated Pass the client first: `sealInputForEvm(publicClient, { gateway, … })`. */
export function sealInputForEvm(
  parameters: DeprecatedSealInputForEvmParameters,
): Promise<SealInputForEvmReturnType>;
export async function sealInputForEvm(
  a: Client | DeprecatedSealInputForEvmParameters,
  b?: SealInputForEvmParameters,
): Promise<SealInputForEvmReturnType> {
  const [client, p] = b
    ? [a as Client, b]
    : [(a as DeprecatedSealInputForEvmParameters).publicClient, a as SealInputForEvmParameters];
  const info = await getContractInfo(client, { gateway: p.gateway, contractId: p.contractId });
  if (!info.registered)
    throw new EvmRequestError(`Contract ${p.contractId} is not registered on gateway ${p.gateway}.`, {
      details: 'its key is registered by the gatekeepers through the relayer once the contract is deployed',
    });
  const chainId = await getChainId(client);
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

// ------------------------------------------------------------------ requestFromEvm

export type RequestFromEvmParameters = {
  gateway: Address;
  contractId: Hex;
  input: Uint8Array | string;
  /**
   * Reads (contract key, receipt) go through this client, else a client of `rpcUrl`, else the
   * viem wallet client itself. One of the first two is needed with an ethers signer.
   */
  publicClient?: PublicClient;
  rpcUrl?: string;
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
  /** The client reads went through: pass it to `waitForEvmResult`. */
  publicClient: PublicClient;
};

export type RequestFromEvmErrorType =
  | EvmRequestError
  | SealInputForEvmErrorType
  | SendTransactionErrorType
  | WaitForTransactionReceiptErrorType
  | Error;

/** @deprecated Pass the sender first: `requestFromEvm(walletClientOrSigner, { gateway, … })`. */
export type DeprecatedRequestFromEvmParameters = RequestFromEvmParameters & { sender: EvmSender };

/**
 * Sends a request to a confidential contract from an EVM account through the gateway: seals the
 * input to the contract's key (read from the gateway) for this account and origin, with a fresh
 * response key, and returns the request id from the `RequestSent` event.
 */
export function requestFromEvm(
  client: EvmSender,
  parameters: RequestFromEvmParameters,
): Promise<RequestFromEvmReturnType>;
/** @deprecated Pass the sender first: `requestFromEvm(walletClientOrSigner, { gateway, … })`. */
export function requestFromEvm(
  parameters: DeprecatedRequestFromEvmParameters,
): Promise<RequestFromEvmReturnType>;
export async function requestFromEvm(
  a: EvmSender | DeprecatedRequestFromEvmParameters,
  b?: RequestFromEvmParameters,
): Promise<RequestFromEvmReturnType> {
  const [sender, p] = b
    ? [a as EvmSender, b]
    : [(a as DeprecatedRequestFromEvmParameters).sender, a as RequestFromEvmParameters];
  const reader = readerOf(sender, p);
  const requester = (isEthersSigner(sender) ? await sender.getAddress() : sender.account.address) as Address;
  const { sealedInput, responseKey, chainId } = await sealInputForEvm(reader, {
    gateway: p.gateway,
    contractId: p.contractId,
    requester,
    endUser: requester,
    input: p.input,
  });
  const data = encodeRequest({
    contractId: p.contractId,
    sealedInput,
    responseKey: responseKey.publicKey,
    callbackGasLimit: p.callbackGasLimit ?? 0,
    deadline: BigInt(Math.floor(Date.now() / 1000) + (p.deadlineSeconds ?? 3_600)),
  });
  const transactionHash = isEthersSigner(sender)
    ? ((await sender.sendTransaction({ to: p.gateway, data })).hash as Hex)
    : await sendTransaction(sender, { account: sender.account, chain: sender.chain, to: p.gateway, data });
  const receipt = await waitForTransactionReceipt(reader, { hash: transactionHash });
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
        publicClient: reader,
      };
  }
  throw new EvmRequestError(`No RequestSent event in ${transactionHash}.`);
}

// ------------------------------------------------------------------ waitForEvmResult

export type WaitForEvmResultParameters = {
  gateway: Address;
  requestId: Hex;
  /** The request's block, to bound the log search. */
  fromBlock?: bigint;
  /** Default 120 s. */
  timeoutMs?: number;
  /**
   * The relayer's admin API: when given, the wait stops as soon as the relayer ends the request
   * without an answer (RequestRefusedError, RequestEndedError) instead of timing out.
   */
  relayer?: RelayerParameters;
};

/** What the gateway delivered for a request, read back from the fulfilling transaction. */
export type EvmResult = NonNullable<GetFulfillmentOutputsReturnType>;
export type WaitForEvmResultReturnType = EvmResult;

export type WaitForEvmResultErrorType =
  | PollTimeoutError
  | RequestRefusedError
  | RequestEndedError
  | FulfillmentOutputsError
  | AdminApiError
  | GetChainIdErrorType
  | Error;

/** @deprecated Pass the client first: `waitForEvmResult(publicClient, { gateway, requestId })`. */
export type DeprecatedWaitForEvmResultParameters = WaitForEvmResultParameters & { publicClient: Client };

/** Waits until the gateway reports the request fulfilled and returns what was delivered. */
export function waitForEvmResult(
  client: Client,
  parameters: WaitForEvmResultParameters,
): Promise<WaitForEvmResultReturnType>;
/** @deprecated Pass the client first: `waitForEvmResult(publicClient, { gateway, requestId })`. */
export function waitForEvmResult(
  parameters: DeprecatedWaitForEvmResultParameters,
): Promise<WaitForEvmResultReturnType>;
export async function waitForEvmResult(
  a: Client | DeprecatedWaitForEvmResultParameters,
  b?: WaitForEvmResultParameters,
): Promise<WaitForEvmResultReturnType> {
  const [client, p] = b
    ? [a as Client, b]
    : [(a as DeprecatedWaitForEvmResultParameters).publicClient, a as WaitForEvmResultParameters];
  const chainId = p.relayer ? await getChainId(client) : 0;
  return waitForAnswer(
    () =>
      getFulfillmentOutputs(client, {
        gateway: p.gateway,
        requestId: p.requestId,
        ...(p.fromBlock === undefined ? {} : { fromBlock: p.fromBlock }),
      }),
    {
      label: `the fulfillment of EVM request ${p.requestId}`,
      timeoutMs: p.timeoutMs ?? 120_000,
      requestId: p.requestId,
      origin: { kind: 'evm', chainId, gateway: p.gateway },
      relayer: p.relayer,
    },
  );
}

import type { Hex } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import type { PollTimeoutError } from '../base/poll.js';
import * as contracts from '../phala/actions/contracts.js';
import * as registry from '../phala/actions/registry.js';
import { type PhalaClient, genesisHex } from '../phala/client.js';
import type { Signer } from '../phala/submit.js';
import type { Fulfillment } from '../phala/types.js';
import type {
  RelayerParameters,
  AdminApiError,
  RequestEndedError,
  RequestRefusedError,
} from './relayer-status.js';
import { createResponseKey, sealInput } from './seal.js';
import { waitForAnswer } from './wait.js';

export class ContractKeyMissingError extends BaseError {
  /** A gatekeeper publishes it shortly. */
  static override readonly retry: Retry = 'retry';
  override name = 'ContractKeyMissingError';
  constructor(contractId: Hex) {
    super(`Contract ${contractId} has no published key yet.`, {
      details:
        'a gatekeeper publishes it on the Phala-style chain shortly after the contract is instantiated',
    });
  }
}

export type GetContractTargetParameters = { contractId: Hex };
export type GetContractTargetReturnType = { publicKey: Hex; cluster: Hex };
export type GetContractTargetErrorType = ContractKeyMissingError | Error;

/** A contract's published X25519 key and its cluster, read from the Phala-style chain. */
export function getContractTarget(
  client: PhalaClient,
  parameters: GetContractTargetParameters,
): Promise<GetContractTargetReturnType>;
/** @deprecated Pass parameters: `getContractTarget(client, { contractId })`. */
export function getContractTarget(client: PhalaClient, contractId: Hex): Promise<GetContractTargetReturnType>;
export async function getContractTarget(
  client: PhalaClient,
  p: GetContractTargetParameters | Hex,
): Promise<GetContractTargetReturnType> {
  const contractId = typeof p === 'string' ? p : p.contractId;
  const [key, info] = await Promise.all([
    registry.getContractKey(client, contractId),
    contracts.getContract(client, contractId),
  ]);
  if (!key || !info) throw new ContractKeyMissingError(contractId);
  return { publicKey: key.publicKey as Hex, cluster: info.cluster as Hex };
}

export type RequestFromPhalaParameters = {
  signer: Signer;
  contractId: Hex;
  input: Uint8Array | string;
  /** Blocks until the request may no longer be fulfilled (default 600). */
  deadlineBlocks?: number;
};

export type RequestFromPhalaReturnType = {
  requestId: Hex;
  txHash: Hex;
  blockNumber: number;
  responseSecretKey: Hex;
};

export type RequestFromPhalaErrorType = GetContractTargetErrorType | Error;

/** Sends a request from a Substrate account on the Phala-style chain (`phalaContracts.request`). */
export async function requestFromPhala(
  client: PhalaClient,
  p: RequestFromPhalaParameters,
): Promise<RequestFromPhalaReturnType> {
  const { publicKey } = await getContractTarget(client, { contractId: p.contractId });
  const responseKey = createResponseKey();
  const requester = client.api.createType('AccountId', p.signer.address).toHex() as Hex;
  const sealedInput = sealInput({
    contractPublicKey: publicKey,
    contractId: p.contractId,
    origin: { kind: 'phala', genesisHash: genesisHex(client) },
    requester,
    responseKey: responseKey.publicKey,
    input: p.input,
  });
  const sent = await contracts.request(client, {
    signer: p.signer,
    contractId: p.contractId,
    sealedInput,
    responseKey: responseKey.publicKey,
    deadline: await contracts.deadlineIn(client, p.deadlineBlocks ?? 600),
  });
  return {
    requestId: sent.event.requestId as Hex,
    txHash: sent.txHash,
    blockNumber: sent.blockNumber,
    responseSecretKey: responseKey.secretKey,
  };
}

export type WaitForPhalaResultParameters = {
  requestId: Hex;
  /** Default 120 s. */
  timeoutMs?: number;
  /**
   * The relayer's admin API: when given, the wait stops as soon as the relayer ends the request
   * without an answer (RequestRefusedError, RequestEndedError) instead of timing out.
   */
  relayer?: RelayerParameters;
};
export type WaitForPhalaResultReturnType = Fulfillment;
export type WaitForPhalaResultErrorType =
  | PollTimeoutError
  | RequestRefusedError
  | RequestEndedError
  | AdminApiError
  | Error;

/** Waits until the Phala-style chain holds the request's result. */
export function waitForPhalaResult(
  client: PhalaClient,
  p: WaitForPhalaResultParameters,
): Promise<WaitForPhalaResultReturnType> {
  return waitForAnswer(() => contracts.getResult(client, p.requestId), {
    label: `the result of Phala-style request ${p.requestId}`,
    timeoutMs: p.timeoutMs ?? 120_000,
    requestId: p.requestId,
    origin: { kind: 'phala', genesisHash: genesisHex(client) },
    relayer: p.relayer,
  });
}

import type { Account, Address, Chain, Hex, Transport, WalletClient } from 'viem';
import { encodeFunctionData } from 'viem';
import { sendTransaction } from 'viem/actions';
import { fromHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';

export type EncodeRequestParameters = {
  contractId: Hex;
  /** The input sealed to the contract's public key (envelope v1). */
  sealedInput: Hex;
  /** X25519 public key the sealed output is sealed to. */
  responseKey: Hex;
  /** Exact gas for the requester's callback (0 for an EOA requester). */
  callbackGasLimit: number;
  /** Unix time after which the request can no longer be fulfilled. */
  deadline: bigint;
};

/** Calldata of `request(contractId, sealedInput, responseKey, callbackGasLimit, deadline)`. */
export function encodeRequest(p: EncodeRequestParameters): Hex {
  fromHex(p.contractId, 'contractId', 32);
  fromHex(p.responseKey, 'responseKey', 32);
  fromHex(p.sealedInput, 'sealedInput');
  if (!Number.isInteger(p.callbackGasLimit) || p.callbackGasLimit < 0 || p.callbackGasLimit > 0xffffffff)
    throw new InvalidInputError('callbackGasLimit', 'a uint32');
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'request',
    args: [p.contractId, p.sealedInput, p.responseKey, p.callbackGasLimit, p.deadline],
  });
}

export type SendRequestParameters = EncodeRequestParameters & { gateway: Address; gas?: bigint };

/**
 * Sends a request from the wallet's account (an EOA requester: the result arrives without a
 * callback; read it with `getFulfillmentOutputs`). Returns the transaction hash.
 */
export async function sendRequest(
  client: WalletClient<Transport, Chain | undefined, Account>,
  p: SendRequestParameters,
): Promise<Hex> {
  return sendTransaction(client, {
    account: client.account,
    chain: client.chain,
    to: p.gateway,
    data: encodeRequest(p),
    ...(p.gas === undefined ? {} : { gas: p.gas }),
  });
}

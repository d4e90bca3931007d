import { type Address, type Hex, encodeAbiParameters, keccak256 } from 'viem';

export type ComputeRequestIdParameters = {
  chainId: number | bigint;
  gateway: Address;
  nonce: bigint;
  requester: Address;
  contractId: Hex;
  /** keccak256 of the sealed input; use `computeRequestIdFromInput` to pass the input itself. */
  sealedInputHash: Hex;
};

/**
 * The EVM request id (PROTOCOL §1), as PhalaBridgeGateway.request computes it:
 * `keccak256(abi.encode(chainId, gateway, nonce, requester, contractId, keccak256(sealedInput)))`.
 */
export function computeRequestId(p: ComputeRequestIdParameters): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'bytes32' },
      ],
      [BigInt(p.chainId), p.gateway, p.nonce, p.requester, p.contractId, p.sealedInputHash],
    ),
  );
}

export function computeRequestIdFromInput(
  p: Omit<ComputeRequestIdParameters, 'sealedInputHash'> & { sealedInput: Hex | Uint8Array },
): Hex {
  const { sealedInput, ...rest } = p;
  return computeRequestId({ ...rest, sealedInputHash: keccak256(sealedInput) });
}

export type ComputeRequestCommitmentParameters = {
  contractId: Hex;
  requester: Address;
  callbackGasLimit: number;
  deadline: bigint;
};

/**
 * What the gateway stores per pending request:
 * `keccak256(abi.encode(contractId, requester, callbackGasLimit, deadline))`.
 */
export function computeRequestCommitment(p: ComputeRequestCommitmentParameters): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint32' }, { type: 'uint64' }],
      [p.contractId, p.requester, p.callbackGasLimit, p.deadline],
    ),
  );
}

import { type Address, type Hex, encodeAbiParameters, keccak256 } from 'viem';

export type ComputeRequestIdParameters = {
  chainId: number | bigint;
  gateway: Address;
  nonce: bigint;
  requester: Address;
  /** The account the requester acts for (`requestFor`); the requester itself for `request`. */
  endUser: Address;
  contractId: Hex;
  responseKey: Hex;
  /** keccak256 of the sealed input; use `computeRequestIdFromInput` to pass the input itself. */
  sealedInputHash: Hex;
};

/**
 * The EVM request id (PROTOCOL §1), as PhalaBridgeGateway.request/requestFor compute it:
 * `keccak256(abi.encode(chainId, gateway, nonce, requester, endUser, contractId, responseKey,
 * keccak256(sealedInput)))` — every field of the request but the callback gas and the deadline,
 * which the stored commitment covers.
 */
export function computeRequestId(p: ComputeRequestIdParameters): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'address' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
      ],
      [
        BigInt(p.chainId),
        p.gateway,
        p.nonce,
        p.requester,
        p.endUser,
        p.contractId,
        p.responseKey,
        p.sealedInputHash,
      ],
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

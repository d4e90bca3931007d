import { type Address, type Hex, encodeAbiParameters, keccak256 } from 'viem';

/**
 * An EVM request's nonce: the number of the block it was made in, plus 2^40 times its place
 * among its transaction's requests (from 0). The gateway keeps no counter (issue 15: the counter's
 * write was 2,900 gas of every request); ids stay unique because an identical request in the same
 * block is refused while the first is pending, and no request is answered or cancelled in the
 * block it was made in.
 */
export function evmRequestNonce(blockNumber: bigint, indexInTransaction = 0): bigint {
  return blockNumber + (BigInt(indexInTransaction) << 40n);
}

/** The block an EVM request nonce names (its low 40 bits). */
export function blockOfEvmRequestNonce(nonce: bigint): bigint {
  return nonce & ((1n << 40n) - 1n);
}

export type ComputeRequestIdParameters = {
  chainId: number | bigint;
  gateway: Address;
  /** `evmRequestNonce(block, place in the transaction)`, as `RequestSent` carries it. */
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

import type { Address, Hex } from 'viem';

/**
 * The request fields `fulfill`, `fulfillBatch` and `cancel` pass so that the gateway can check
 * its stored commitment; all copied from the `RequestSent` event.
 */
export type RequestRef = {
  requestId: Hex;
  contractId: Hex;
  requester: Address;
  callbackGasLimit: number;
  deadline: bigint;
};

/** A worker's result for one request, with the outputs themselves. */
export type FulfillmentInput = {
  request: RequestRef;
  publicOutput: Hex;
  sealedOutput: Hex;
  stateRoot: Hex;
};

/** The gateway's `FulfillResult` enum, by name. */
export const fulfillResults = [
  'Delivered',
  'CallbackFailed',
  'NotPending',
  'CommitmentMismatch',
  'Expired',
  'WorkerNotAuthorized',
] as const;
export type FulfillResult = (typeof fulfillResults)[number];

export function fulfillResultName(code: number): FulfillResult {
  const name = fulfillResults[code];
  if (name === undefined) throw new RangeError(`unknown FulfillResult code ${code}`);
  return name;
}

/** Contract's record on the gateway. */
export type ContractInfo = {
  cluster: Hex;
  publicKey: Hex;
  epoch: bigint;
  /** Always 0: request nonces are block-based (`evmRequestNonce`), the gateway keeps no counter. */
  nonce: bigint;
  registered: boolean;
};

/** Worker's record on the gateway. */
export type WorkerInfo = {
  cluster: Hex;
  measurement: Hex;
  expiresAt: bigint;
  epoch: bigint;
  revokedUpTo: bigint;
};

export type GatekeeperSet = { members: readonly Address[]; threshold: number; epoch: bigint };

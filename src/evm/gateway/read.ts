import type { Address, Client, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import type { ContractInfo, GatekeeperSet, WorkerInfo } from '../types.js';

/** Reads of the gateway's state. `blockTag`/`blockNumber` pin the read to a block where given. */
export type GatewayReadParameters = { gateway: Address; blockNumber?: bigint };

export type GetCommitmentParameters = GatewayReadParameters & { requestId: Hex };
export type GetCommitmentReturnType = Hex;

/** The stored commitment of a request; zero when it is unknown, answered or cancelled. */
export async function getCommitment(
  client: Client,
  p: GetCommitmentParameters,
): Promise<GetCommitmentReturnType> {
  return readContract(client, {
    address: p.gateway,
    abi: phalaBridgeGatewayAbi,
    functionName: 'commitmentOf',
    args: [p.requestId],
    ...(p.blockNumber === undefined ? {} : { blockNumber: p.blockNumber }),
  });
}

const ZERO32 = `0x${'00'.repeat(32)}`;

export type IsRequestPendingParameters = GetCommitmentParameters;

/** Whether the request still waits for a result (not answered, not cancelled). */
export async function isRequestPending(client: Client, p: IsRequestPendingParameters): Promise<boolean> {
  return (await getCommitment(client, p)) !== ZERO32;
}

export type GetContractInfoParameters = GatewayReadParameters & { contractId: Hex };

/** A confidential contract's record: cluster, X25519 public key, epoch, next nonce. */
export async function getContractInfo(client: Client, p: GetContractInfoParameters): Promise<ContractInfo> {
  const r = await readContract(client, {
    address: p.gateway,
    abi: phalaBridgeGatewayAbi,
    functionName: 'contractOf',
    args: [p.contractId],
    ...(p.blockNumber === undefined ? {} : { blockNumber: p.blockNumber }),
  });
  return {
    cluster: r.cluster,
    publicKey: r.publicKey,
    epoch: r.epoch,
    nonce: r.nonce,
    registered: r.registered,
  };
}

export type GetWorkerInfoParameters = GatewayReadParameters & { worker: Address };

export async function getWorkerInfo(client: Client, p: GetWorkerInfoParameters): Promise<WorkerInfo> {
  const r = await readContract(client, {
    address: p.gateway,
    abi: phalaBridgeGatewayAbi,
    functionName: 'workerOf',
    args: [p.worker],
    ...(p.blockNumber === undefined ? {} : { blockNumber: p.blockNumber }),
  });
  return {
    cluster: r.cluster,
    measurement: r.measurement,
    expiresAt: r.expiresAt,
    epoch: r.epoch,
    revokedUpTo: r.revokedUpTo,
  };
}

export type IsWorkerAuthorizedParameters = GatewayReadParameters & { worker: Address; cluster: Hex };

/** Whether `worker` may sign results for `cluster` at the (latest) block's time. */
export async function isWorkerAuthorized(client: Client, p: IsWorkerAuthorizedParameters): Promise<boolean> {
  return readContract(client, {
    address: p.gateway,
    abi: phalaBridgeGatewayAbi,
    functionName: 'isWorkerAuthorized',
    args: [p.worker, p.cluster],
    ...(p.blockNumber === undefined ? {} : { blockNumber: p.blockNumber }),
  });
}

/** The current gatekeeper set, threshold and epoch. */
export async function getGatekeeperSet(client: Client, p: GatewayReadParameters): Promise<GatekeeperSet> {
  const [members, threshold, epoch] = await readContract(client, {
    address: p.gateway,
    abi: phalaBridgeGatewayAbi,
    functionName: 'gatekeepers',
    ...(p.blockNumber === undefined ? {} : { blockNumber: p.blockNumber }),
  });
  return { members, threshold, epoch };
}

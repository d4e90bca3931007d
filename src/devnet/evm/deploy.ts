import { type Address, type Hex, getAddress } from 'viem';
import { BaseError, type Retry } from '../../base/errors.js';
import {
  type ContractRegistration,
  type WorkerRegistration,
  contractRegistrationDigest,
  workerRegistrationDigest,
} from '../../crypto/proofs.js';
import { phalaBridgeGatewayAbi, phalaBridgeGatewayBytecode } from '../../evm/artifacts/PhalaBridgeGateway.js';
import { privateCheckAbi, privateCheckBytecode } from '../../evm/artifacts/PrivateCheck.js';
import { sealedBidAuctionAbi, sealedBidAuctionBytecode } from '../../evm/artifacts/SealedBidAuction.js';
import { testConsumerAbi, testConsumerBytecode } from '../../evm/artifacts/testing/TestConsumer.js';
import {
  encodeRegisterContract,
  encodeRegisterWorker,
  signAsGatekeepers,
  sortAddresses,
} from '../../evm/gateway/registry.js';
import type { DevnetClients } from './clients.js';

export class DevnetDeployError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'DevnetDeployError';
}

export type Deployment = { address: Address; transactionHash: Hex; blockNumber: bigint };

async function confirm(
  clients: DevnetClients,
  hash: Hex,
  what: string,
): Promise<{ address: Address | null; blockNumber: bigint }> {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success') throw new DevnetDeployError(`${what} reverted`, { details: hash });
  return {
    address: receipt.contractAddress ? getAddress(receipt.contractAddress) : null,
    blockNumber: receipt.blockNumber,
  };
}

export type DeployGatewayParameters = {
  /** Gatekeeper addresses (sorted here). */
  gatekeepers: readonly Address[];
  threshold: number;
};

/** Deploys PhalaBridgeGateway with the initial gatekeeper set (epoch 0). */
export async function deployGateway(clients: DevnetClients, p: DeployGatewayParameters): Promise<Deployment> {
  const hash = await clients.walletClient.deployContract({
    abi: phalaBridgeGatewayAbi,
    bytecode: phalaBridgeGatewayBytecode,
    args: [sortAddresses(p.gatekeepers), p.threshold],
  });
  const { address, blockNumber } = await confirm(clients, hash, 'gateway deployment');
  if (!address) throw new DevnetDeployError('gateway deployment gave no address');
  return { address, transactionHash: hash, blockNumber };
}

export type DeployExamplesParameters = {
  gateway: Address;
  auction: { contractId: Hex; biddingEnds: bigint; answerWindow: bigint; settleWindow: bigint };
  privateCheck: { contractId: Hex; answerWindow: bigint };
};

export type DeployExamplesReturnType = { sealedBidAuction: Deployment; privateCheck: Deployment };

/** Deploys the two example consumers (the deployer becomes the auction's seller). */
export async function deployExamples(
  clients: DevnetClients,
  p: DeployExamplesParameters,
): Promise<DeployExamplesReturnType> {
  const a = p.auction;
  const auctionHash = await clients.walletClient.deployContract({
    abi: sealedBidAuctionAbi,
    bytecode: sealedBidAuctionBytecode,
    args: [p.gateway, a.contractId, a.biddingEnds, a.answerWindow, a.settleWindow],
  });
  const auction = await confirm(clients, auctionHash, 'SealedBidAuction deployment');
  const checkHash = await clients.walletClient.deployContract({
    abi: privateCheckAbi,
    bytecode: privateCheckBytecode,
    args: [p.gateway, p.privateCheck.contractId, p.privateCheck.answerWindow],
  });
  const check = await confirm(clients, checkHash, 'PrivateCheck deployment');
  if (!auction.address || !check.address) throw new DevnetDeployError('example deployment gave no address');
  return {
    sealedBidAuction: {
      address: auction.address,
      transactionHash: auctionHash,
      blockNumber: auction.blockNumber,
    },
    privateCheck: { address: check.address, transactionHash: checkHash, blockNumber: check.blockNumber },
  };
}

/** Deploys the test-only consumer whose callback misbehaves on demand. */
export async function deployTestConsumer(clients: DevnetClients, gateway: Address): Promise<Deployment> {
  const hash = await clients.walletClient.deployContract({
    abi: testConsumerAbi,
    bytecode: testConsumerBytecode,
    args: [gateway],
  });
  const { address, blockNumber } = await confirm(clients, hash, 'TestConsumer deployment');
  if (!address) throw new DevnetDeployError('TestConsumer deployment gave no address');
  return { address, transactionHash: hash, blockNumber };
}

export type RegisterWithGatekeepersParameters<T> = {
  gateway: Address;
  registration: T;
  /** Secret keys of at least `threshold` gatekeepers (the devnet holds them all). */
  gatekeeperKeys: readonly Uint8Array[];
};

/** Signs a WorkerRegistration with the given gatekeeper keys and submits it. */
export async function registerWorkerOnGateway(
  clients: DevnetClients,
  p: RegisterWithGatekeepersParameters<WorkerRegistration>,
): Promise<Hex> {
  const digest = workerRegistrationDigest(
    { chainId: clients.publicClient.chain.id, verifyingContract: p.gateway },
    p.registration,
  );
  const data = encodeRegisterWorker({
    registration: p.registration,
    signatures: signAsGatekeepers(digest, p.gatekeeperKeys),
  });
  const hash = await clients.walletClient.sendTransaction({ to: p.gateway, data });
  await confirm(clients, hash, 'registerWorker');
  return hash;
}

/** Signs a ContractRegistration with the given gatekeeper keys and submits it. */
export async function registerContractOnGateway(
  clients: DevnetClients,
  p: RegisterWithGatekeepersParameters<ContractRegistration>,
): Promise<Hex> {
  const digest = contractRegistrationDigest(
    { chainId: clients.publicClient.chain.id, verifyingContract: p.gateway },
    p.registration,
  );
  const data = encodeRegisterContract({
    registration: p.registration,
    signatures: signAsGatekeepers(digest, p.gatekeeperKeys),
  });
  const hash = await clients.walletClient.sendTransaction({ to: p.gateway, data });
  await confirm(clients, hash, 'registerContract');
  return hash;
}

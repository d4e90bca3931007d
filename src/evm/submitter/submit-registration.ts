import type { Address, Hex, TransactionReceipt } from 'viem';
import type { ContractRegistration, WorkerRegistration } from '../../crypto/proofs.js';
import { GatewayRejectedError, GatewayRevertedError } from '../errors.js';
import { gatewayFailure } from '../gateway/decode-error.js';
import { getContractInfo, getGatekeeperSet, getWorkerInfo } from '../gateway/read.js';
import { encodeRegisterContract, encodeRegisterWorker } from '../gateway/registry.js';
import type { EvmSubmitter } from './submitter.js';

type ReadClient = Parameters<typeof getWorkerInfo>[0];

export type SubmitRegistrationReturnType =
  | { status: 'registered'; receipt: TransactionReceipt }
  /** The gateway already holds this registration or a newer one: nothing to do. */
  | { status: 'already-registered' };

async function send(submitter: EvmSubmitter, gateway: Address, data: Hex): Promise<TransactionReceipt> {
  let gas: bigint;
  try {
    gas = await submitter.estimateGas({ to: gateway, data });
  } catch (error) {
    throw gatewayFailure(error, 'the registration could not be priced');
  }
  const { receipt } = await submitter.submit({ to: gateway, data, gas });
  if (receipt.status !== 'success')
    throw new GatewayRevertedError('the registration transaction reverted', {
      transactionHash: receipt.transactionHash,
    });
  return receipt;
}

export type SubmitWorkerRegistrationParameters = {
  gateway: Address;
  registration: WorkerRegistration;
  /** Gatekeeper signatures in ascending signer order (see `orderGatekeeperSignatures`). */
  signatures: readonly Hex[];
};

/** Carries a gatekeeper-signed worker registration to the gateway (as the relayer does). */
export async function submitWorkerRegistration(
  submitter: EvmSubmitter,
  client: ReadClient,
  p: SubmitWorkerRegistrationParameters,
): Promise<SubmitRegistrationReturnType> {
  const current = await getWorkerInfo(client, { gateway: p.gateway, worker: p.registration.worker });
  if (current.expiresAt >= p.registration.expiresAt || current.revokedUpTo >= p.registration.expiresAt)
    return { status: 'already-registered' };
  const receipt = await send(submitter, p.gateway, encodeRegisterWorker(p));
  return { status: 'registered', receipt };
}

export type SubmitContractRegistrationParameters = {
  gateway: Address;
  registration: ContractRegistration;
  signatures: readonly Hex[];
};

/** Carries a gatekeeper-signed contract registration to the gateway. */
export async function submitContractRegistration(
  submitter: EvmSubmitter,
  client: ReadClient,
  p: SubmitContractRegistrationParameters,
): Promise<SubmitRegistrationReturnType> {
  const current = await getContractInfo(client, {
    gateway: p.gateway,
    contractId: p.registration.contractId,
  });
  if (current.registered && current.epoch >= p.registration.epoch) return { status: 'already-registered' };
  const { epoch } = await getGatekeeperSet(client, { gateway: p.gateway });
  if (epoch !== p.registration.epoch)
    throw new GatewayRejectedError('WrongEpoch', {
      details: `registration epoch ${p.registration.epoch}, gateway ${epoch}`,
    });
  const receipt = await send(submitter, p.gateway, encodeRegisterContract(p));
  return { status: 'registered', receipt };
}

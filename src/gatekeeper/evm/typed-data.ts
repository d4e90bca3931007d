import { type Address, hashTypedData } from 'viem';
import type { Hex } from '../../base/bytes.js';
import {
  type ContractRegistration,
  type GatewayDomain,
  type WorkerRegistration,
  contractRegistrationDigest,
  workerRegistrationDigest,
} from '../../crypto/proofs.js';

/**
 * The four EIP-712 messages gatekeepers sign for EVM gateways (PhalaBridgeGateway): worker and
 * contract registrations (src/crypto/proofs.ts), and the gateway's governance messages
 * `WorkerRevocation` and `GatekeeperSetUpdate`. The last two are defined here with the exact types
 * of PhalaBridgeGateway.sol; src/crypto/proofs.ts on the `evm` branch defines the same types and
 * this file should use those once both are merged (the digests are identical by construction).
 */
export type WorkerRevocation = { worker: Address; revokeUpTo: bigint; epoch: bigint };
/** `gatekeepers` in ascending address order, as the gateway requires. */
export type GatekeeperSetUpdate = { gatekeepers: readonly Address[]; threshold: number; epoch: bigint };

const governanceTypes = {
  WorkerRevocation: [
    { name: 'worker', type: 'address' },
    { name: 'revokeUpTo', type: 'uint64' },
    { name: 'epoch', type: 'uint64' },
  ],
  GatekeeperSetUpdate: [
    { name: 'gatekeepers', type: 'address[]' },
    { name: 'threshold', type: 'uint16' },
    { name: 'epoch', type: 'uint64' },
  ],
} as const;

function domain(d: GatewayDomain) {
  return {
    name: 'PhalaBridgeGateway',
    version: '1',
    chainId: BigInt(d.chainId),
    verifyingContract: d.verifyingContract,
  };
}

export function workerRevocationDigest(d: GatewayDomain, message: WorkerRevocation): Hex {
  return hashTypedData({
    domain: domain(d),
    types: governanceTypes,
    primaryType: 'WorkerRevocation',
    message,
  });
}

export function gatekeeperSetUpdateDigest(d: GatewayDomain, message: GatekeeperSetUpdate): Hex {
  return hashTypedData({
    domain: domain(d),
    types: governanceTypes,
    primaryType: 'GatekeeperSetUpdate',
    message,
  });
}

/** One gatekeeper-signed EVM message, tagged with its kind. */
export type EvmMessage =
  | { kind: 'WorkerRegistration'; message: WorkerRegistration }
  | { kind: 'ContractRegistration'; message: ContractRegistration }
  | { kind: 'WorkerRevocation'; message: WorkerRevocation }
  | { kind: 'GatekeeperSetUpdate'; message: GatekeeperSetUpdate };

export function evmMessageDigest(d: GatewayDomain, m: EvmMessage): Hex {
  switch (m.kind) {
    case 'WorkerRegistration':
      return workerRegistrationDigest(d, m.message);
    case 'ContractRegistration':
      return contractRegistrationDigest(d, m.message);
    case 'WorkerRevocation':
      return workerRevocationDigest(d, m.message);
    case 'GatekeeperSetUpdate':
      return gatekeeperSetUpdateDigest(d, m.message);
  }
}

/** Addresses in the ascending numeric order the gateway requires. */
export function sortAddresses(addresses: readonly Address[]): Address[] {
  return [...addresses].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

import type { Hex } from '../../base/bytes.js';
import {
  type ContractRegistration,
  type GatekeeperSetUpdate,
  type GatewayDomain,
  type WorkerRegistration,
  type WorkerRevocation,
  contractRegistrationDigest,
  gatekeeperSetUpdateDigest,
  workerRegistrationDigest,
  workerRevocationDigest,
} from '../../crypto/proofs.js';

/**
 * The four EIP-712 messages gatekeepers sign for EVM gateways (PhalaBridgeGateway): worker and
 * contract registrations and the gateway's governance messages `WorkerRevocation` and
 * `GatekeeperSetUpdate`. Their types and digests are src/crypto/proofs.ts's (the one definition,
 * checked against the contract in test/evm/proofs-parity.test.ts); this file only tags them.
 */
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

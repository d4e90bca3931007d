import type { Address, Hex } from 'viem';
import { utf8 } from '../../base/bytes.js';
import { keccak256 } from '../../crypto/hash.js';
import { ethereumAddress, keyPairFromSecret } from '../../crypto/keys.js';
import type { GatewayDomain } from '../../crypto/proofs.js';
import { sortAddresses } from '../../evm/gateway/registry.js';
import { type DevnetClients, devnetClients } from './clients.js';
import { deployGateway } from './deploy.js';
import { type EvmNode, type StartEvmNodeParameters, startEvmNode } from './node.js';

/** A deterministic secp256k1 secret key for devnet role `label` (never use outside a devnet). */
export function devnetSecretKey(label: string): Uint8Array {
  return keccak256(utf8(`phala-bridge/devnet/${label}`));
}

export type Gatekeeper = { secretKey: Uint8Array; address: Address };

export function devnetGatekeepers(count: number): Gatekeeper[] {
  const list = Array.from({ length: count }, (_, i) => {
    const secretKey = devnetSecretKey(`gatekeeper/${i}`);
    return { secretKey, address: ethereumAddress(keyPairFromSecret('secp256k1', secretKey).publicKey) };
  });
  const order = sortAddresses(list.map((g) => g.address));
  return order.map((a) => list.find((g) => g.address === a)!);
}

export type StartEvmDevnetParameters = {
  node?: StartEvmNodeParameters;
  /** Gatekeeper identities (default: 3 deterministic devnet gatekeepers). */
  gatekeepers?: Gatekeeper[];
  /** Default 2 (or 1 with a single gatekeeper). */
  threshold?: number;
  /** Index of the node account that deploys (default 0). */
  deployerIndex?: number;
};

export type EvmDevnet = {
  node: EvmNode;
  /** Clients for the deployer account. */
  clients: DevnetClients;
  gateway: Address;
  gatewayBlock: bigint;
  domain: GatewayDomain;
  gatekeepers: Gatekeeper[];
  threshold: number;
  /** Clients for another funded account of the node. */
  clientsFor(accountIndex: number): DevnetClients;
  stop(): Promise<void>;
};

/** Starts an EVM node and deploys the gateway with a gatekeeper set: the EVM half of the devnet. */
export async function startEvmDevnet(p: StartEvmDevnetParameters = {}): Promise<EvmDevnet> {
  const node = await startEvmNode(p.node);
  try {
    const gatekeepers = p.gatekeepers ?? devnetGatekeepers(3);
    const threshold = p.threshold ?? Math.min(2, gatekeepers.length);
    const clientsFor = (i: number) => {
      const account = node.accounts[i];
      if (!account) throw new RangeError(`the node has no account ${i}`);
      return devnetClients(node, account.privateKey as Hex);
    };
    const clients = clientsFor(p.deployerIndex ?? 0);
    // Deploy with automine on, also on a node that mines only on demand or on an interval.
    const manual = p.node?.automine === false;
    const setAutomine = (on: boolean) =>
      clients.publicClient.request({ method: 'evm_setAutomine' as never, params: [on] as never });
    if (manual) await setAutomine(true);
    const gateway = await deployGateway(clients, {
      gatekeepers: gatekeepers.map((g) => g.address),
      threshold,
    });
    if (manual) await setAutomine(false);
    return {
      node,
      clients,
      gateway: gateway.address,
      gatewayBlock: gateway.blockNumber,
      domain: { chainId: node.chainId, verifyingContract: gateway.address },
      gatekeepers,
      threshold,
      clientsFor,
      stop: () => node.stop(),
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

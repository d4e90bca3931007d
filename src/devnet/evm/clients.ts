import {
  type Account,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** A viem chain for a devnet node (31337 unless configured otherwise). */
export function devnetChain(rpcUrl: string, chainId: number, wsUrl?: string): Chain {
  return defineChain({
    id: chainId,
    name: `phala-bridge devnet ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl], ...(wsUrl ? { webSocket: [wsUrl] } : {}) } },
  });
}

export type DevnetClients = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
};

/** A public client and a wallet client for one private key, over HTTP, polling fast. */
export function devnetClients(
  node: { rpcUrl: string; chainId: number; wsUrl?: string },
  privateKey: Hex,
): DevnetClients {
  const chain = devnetChain(node.rpcUrl, node.chainId, node.wsUrl);
  const transport = http(node.rpcUrl, { retryCount: 0 });
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    walletClient: createWalletClient({
      chain,
      transport,
      account: privateKeyToAccount(privateKey),
      pollingInterval: 50,
    }),
  };
}

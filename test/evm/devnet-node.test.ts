import { createPublicClient, parseEther, webSocket } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { devnetClients } from '../../src/devnet/evm/clients.js';
import { type EvmNode, EvmNodeStartError, devAccounts, startEvmNode } from '../../src/devnet/evm/node.js';

const started: EvmNode[] = [];
afterAll(async () => {
  await Promise.all(started.map((n) => n.stop()));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startEvmNode (a real Hardhat node as a child process)', () => {
  it('starts on a free port with the chain id and funded deterministic accounts asked for, and stops by pid', async () => {
    const node = await startEvmNode({ chainId: 4242, accounts: 3, balance: parseEther('7') });
    started.push(node);
    const { publicClient } = devnetClients(node, node.accounts[0]!.privateKey);
    expect(await publicClient.getChainId()).toBe(4242);
    expect(node.accounts).toEqual(devAccounts(3));
    const nodeAccounts = (await publicClient.request({ method: 'eth_accounts' as never })) as string[];
    expect(nodeAccounts.map((a) => a.toLowerCase())).toEqual(
      node.accounts.map((a) => a.address.toLowerCase()),
    );
    expect(await publicClient.getBalance({ address: node.accounts[2]!.address })).toBe(parseEther('7'));

    const ws = createPublicClient({ transport: webSocket(node.wsUrl) });
    expect(await ws.getChainId()).toBe(4242);
    await (await ws.transport.getRpcClient()).close();

    expect(alive(node.pid)).toBe(true);
    await node.stop();
    expect(alive(node.pid)).toBe(false);
    await node.stop(); // idempotent
  });

  it('mines on an interval when asked to', async () => {
    const node = await startEvmNode({ blockTimeMs: 150, automine: false });
    started.push(node);
    const { publicClient } = devnetClients(node, node.accounts[0]!.privateKey);
    const first = await publicClient.getBlockNumber({ cacheTime: 0 });
    await new Promise((r) => setTimeout(r, 800));
    expect(await publicClient.getBlockNumber({ cacheTime: 0 })).toBeGreaterThan(first + 1n);
  });

  it('reports a clear error when the port is taken', async () => {
    const node = await startEvmNode();
    started.push(node);
    const port = Number(new URL(node.rpcUrl).port);
    const error = await startEvmNode({ port, startTimeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EvmNodeStartError);
    expect((error as EvmNodeStartError).details).toMatch(/EADDRINUSE/);
    // The first node is unharmed.
    const { publicClient } = devnetClients(node, node.accounts[0]!.privateKey);
    expect(await publicClient.getChainId()).toBe(31337);
  });
});

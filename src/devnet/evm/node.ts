import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Address, type Hex, bytesToHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { BaseError, type Retry } from '../../base/errors.js';
import { type OptionalPackage, optionalPackageDirectory } from '../../base/optional-package.js';

/** Hardhat's well-known development mnemonic: the accounts are public, never use them for value. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

export type DevAccount = { address: Address; privateKey: Hex };

export type StartEvmNodeParameters = {
  /** TCP port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Default 31337. */
  chainId?: number;
  /** Funded accounts derived from `mnemonic` (BIP-44 m/44'/60'/0'/0/i). Default 10. */
  accounts?: number;
  mnemonic?: string;
  /** Balance of each account in wei. Default 10,000 ETH. */
  balance?: bigint;
  /** Mine a block on every transaction (default true). */
  automine?: boolean;
  /** Also mine a block every this many milliseconds (interval mining); 0/absent: off. */
  blockTimeMs?: number;
  /**
   * EVM hardfork of the node. Default 'prague': Hardhat 2.29's gas estimation under 'osaka' can
   * propose limits above Osaka's 2^24 transaction gas cap and fail.
   */
  hardfork?: string;
  /** Unix time of the genesis block; default now. */
  initialTimestamp?: number;
  /** How long to wait for the node to answer. Default 60 s (the machine may be busy). */
  startTimeoutMs?: number;
  /** Print every JSON-RPC call and transaction, as `hardhat node` does by default (default off). */
  logging?: boolean;
};

export type EvmNode = {
  rpcUrl: string;
  wsUrl: string;
  chainId: number;
  accounts: DevAccount[];
  pid: number;
  /** The last lines the node printed (for error messages). */
  output(): string;
  /** Stops the node (SIGTERM, then SIGKILL after 5 s) and removes its temporary directory. */
  stop(): Promise<void>;
};

export class EvmNodeStartError extends BaseError {
  /** The environment must change, unless another process took the port first (`portTaken`). */
  static override readonly retry: Retry = 'after-fix';
  override name = 'EvmNodeStartError';
  /**
   * The port was taken between choosing and binding it: another port will do. Hardhat says so
   * only in its output ("listen EADDRINUSE: address already in use").
   */
  readonly portTaken: boolean;
  constructor(reason: string, output: string) {
    const portTaken = /EADDRINUSE/.test(output);
    super(`EVM node did not start: ${reason}`, {
      details: output.trim().split('\n').slice(-15).join('\n'),
      docsPath: 'docs/evm.md#devnet-node',
      retry: portTaken ? 'retry' : 'after-fix',
    });
    this.portTaken = portTaken;
  }
}

/** The devnet's EVM node is Hardhat 2's, an optional peer dependency of the package. */
export const HARDHAT: OptionalPackage = {
  name: 'hardhat',
  feature: "The devnet's EVM node",
  installCommand: 'npm install --save-dev hardhat@2.29',
};

/** Derives the node's funded accounts (the same ones the node derives from the mnemonic). */
export function devAccounts(count = 10, mnemonic = DEV_MNEMONIC): DevAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const account = mnemonicToAccount(mnemonic, { addressIndex: i });
    const key = account.getHdKey().privateKey;
    if (!key) throw new Error('HD key without a private key');
    return { address: account.address, privateKey: bytesToHex(key) };
  });
}

/** A port that was free a moment ago (the node is restarted on another one if it is taken). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real Hardhat (EDR) JSON-RPC node on 127.0.0.1 as a child process (`node`, never npx),
 * configured through a minimal config file in a temporary directory; works offline. Resolves
 * once the node answers `eth_chainId` with the configured chain id.
 */
export async function startEvmNode(params: StartEvmNodeParameters = {}): Promise<EvmNode> {
  const attempts = params.port ? 1 : 3;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await startOnce(params, params.port || (await freePort()));
    } catch (error) {
      lastError = error;
      // Only a port taken between choosing and binding is worth another try.
      if (!(error instanceof EvmNodeStartError) || !error.portTaken) throw error;
    }
  }
  throw lastError;
}

async function startOnce(params: StartEvmNodeParameters, port: number): Promise<EvmNode> {
  const chainId = params.chainId ?? 31337;
  const count = params.accounts ?? 10;
  const mnemonic = params.mnemonic ?? DEV_MNEMONIC;
  const balance = params.balance ?? 10_000n * 10n ** 18n;
  const hardhatPackage = optionalPackageDirectory(HARDHAT);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'phala-bridge-evm-'));
  // Hardhat refuses to run from a project where it is not installed locally.
  symlinkSync(path.dirname(hardhatPackage), path.join(dir, 'node_modules'), 'dir');
  const config = {
    networks: {
      hardhat: {
        chainId,
        hardfork: params.hardfork ?? 'prague',
        accounts: { mnemonic, count, accountsBalance: balance.toString() },
        mining: { auto: params.automine ?? true, interval: params.blockTimeMs ?? 0 },
        // `hardhat node` prints every call and transaction unless told not to: at a few hundred
        // transactions a second that formatting took most of the node's one thread.
        loggingEnabled: params.logging ?? false,
        ...(params.initialTimestamp
          ? { initialDate: new Date(params.initialTimestamp * 1000).toISOString() }
          : {}),
      },
    },
  };
  const configPath = path.join(dir, 'hardhat.config.cjs');
  writeFileSync(configPath, `module.exports = ${JSON.stringify(config, null, 2)};\n`);
  // Runs Hardhat's CLI in this process, and exits when our stdin closes: a parent that dies,
  // even by SIGKILL, takes its node with it.
  const runner = path.join(dir, 'run-node.cjs');
  writeFileSync(
    runner,
    [
      "process.stdin.on('end', () => process.exit(0));",
      "process.stdin.on('error', () => process.exit(0));",
      'process.stdin.resume();',
      'const [cli, ...args] = process.argv.slice(2);',
      'process.argv = [process.argv[0], cli, ...args];',
      'require(cli);',
      '',
    ].join('\n'),
  );

  const child = spawn(
    process.execPath,
    [
      runner,
      path.join(hardhatPackage, 'internal/cli/cli.js'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
      '--config',
      configPath,
    ],
    {
      cwd: dir,
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n'));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const output = () => lines.join('\n');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const cleanup = () => {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (!hasExited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };

  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    // Another process may answer on this port: only our child's own "Started" line counts.
    await waitUntilAnswering(
      rpcUrl,
      chainId,
      child,
      () => hasExited,
      () => /Started HTTP and WebSocket JSON-RPC server/.test(output()),
      params.startTimeoutMs ?? 60_000,
    );
  } catch (error) {
    await stop();
    throw new EvmNodeStartError(error instanceof Error ? error.message : String(error), output());
  }
  if (child.pid === undefined) throw new EvmNodeStartError('no pid', output());
  return {
    rpcUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    chainId,
    accounts: devAccounts(count, mnemonic),
    pid: child.pid,
    output,
    stop,
  };
}

async function waitUntilAnswering(
  rpcUrl: string,
  chainId: number,
  child: ChildProcess,
  hasExited: () => boolean,
  listening: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (hasExited()) throw new Error(`node exited with code ${child.exitCode}`);
    if (!listening()) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(2_000),
      });
      const body = (await res.json()) as { result?: unknown };
      if (body.result === `0x${chainId.toString(16)}`) return;
      throw new Error(`node answered chain id ${String(body.result)}, expected ${chainId}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('node answered')) throw error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer on ${rpcUrl} within ${timeoutMs} ms`);
}

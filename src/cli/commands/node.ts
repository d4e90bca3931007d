import { type Command, Option } from 'commander';
import { runUntilSignal } from '../../base/signals.js';
import {
  type DevChainOptions,
  type RpcLimitOptions,
  addDevChainOptions,
  addPortOption,
  addRpcLimitOptions,
  devChainLogger,
  rpcLimitsFrom,
} from '../dev-chain-options.js';
import { integerArgument } from '../io.js';

/**
 * `phala-bridge node --chain phala --rpc-port <port> [--data-dir d] [--block-time ms] [--dev]`:
 * one Substrate-RPC dev node on 127.0.0.1 (WebSocket and HTTP on one port), dev accounts funded,
 * Alice sudo, the RPC limits of `--rpc-max-*`. Runs until SIGINT/SIGTERM.
 */

type NodeOptions = DevChainOptions &
  RpcLimitOptions & {
    dev?: boolean;
    chain: 'phala';
    rpcPort: number;
    finalityLag: number;
    manualSeal?: boolean;
    statePruning?: number;
  };

export function registerNodeCommand(program: Command): void {
  const command = program
    .command('node')
    .description('Run a Substrate-RPC dev node of the Phala-style chain (dev accounts funded, Alice sudo)')
    .addOption(new Option('--chain <name>', 'chain to run').choices(['phala']).default('phala'));
  addPortOption(command, '--rpc-port', 'JSON-RPC port (WebSocket and HTTP); 0 picks a free one', 9944);
  addDevChainOptions(command, {
    dataDir: 'keep the chain here across restarts',
    blockTime: 'produce a block every <ms>; default: one block per transaction',
  })
    .option(
      '--finality-lag <blocks>',
      'blocks become final this many blocks later',
      integerArgument('--finality-lag', 0, 10_000),
      0,
    )
    .option('--manual-seal', 'produce blocks only on dev_newBlock (needs --dev)')
    .option(
      '--state-pruning <blocks>',
      'keep the state of this many recent blocks (default: all)',
      integerArgument('--state-pruning', 64, 100_000_000),
    );
  addRpcLimitOptions(command).action(async (options: NodeOptions) => {
    const [{ startDevNode }, logger] = await Promise.all([
      import('../../devnet/substrate/node.js'),
      devChainLogger('devnode'),
    ]);
    const node = await startDevNode({
      chain: options.chain,
      rpcPort: options.rpcPort,
      host: options.host,
      dataDir: options.dataDir,
      blockTime: options.blockTime,
      finalityLag: options.finalityLag,
      manualSeal: options.manualSeal,
      stateHistory: options.statePruning,
      dev: options.dev ?? false,
      rpc: rpcLimitsFrom(options),
      logger,
    });
    const info = {
      chain: node.chain.spec.name,
      wsUrl: node.wsUrl,
      httpUrl: node.httpUrl,
      genesisHash: node.chain.genesis.hashHex,
      best: node.chain.best.number,
    };
    // Handlers first: a Ctrl-C as soon as the endpoints show stops cleanly.
    const stopped = runUntilSignal(() => node.stop());
    if (options.json) process.stdout.write(`${JSON.stringify(info)}\n`);
    else {
      process.stdout.write(
        `${info.chain} dev node\n  ws:      ${info.wsUrl}\n  http:    ${info.httpUrl}\n  genesis: ${info.genesisHash}\n  best:    #${info.best}\n`,
      );
    }
    await stopped;
  });
}

import { type Command, InvalidArgumentError, Option } from 'commander';
import { runUntilSignal } from '../../base/signals.js';

/**
 * `phala-bridge node --chain phala --rpc-port <port> [--data-dir d] [--block-time ms]`: one
 * Substrate-RPC dev node on 127.0.0.1 (WebSocket and HTTP on one port), dev accounts funded,
 * Alice sudo. Runs until SIGINT/SIGTERM.
 */

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

type NodeOptions = {
  chain: 'phala';
  rpcPort: number;
  host: string;
  dataDir?: string;
  blockTime?: number;
  finalityLag: number;
  manualSeal?: boolean;
  statePruning?: number;
  json?: boolean;
};

export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('Run a Substrate-RPC dev node of the Phala-style chain (dev accounts funded, Alice sudo)')
    .addOption(new Option('--chain <name>', 'chain to run').choices(['phala']).default('phala'))
    .option(
      '--rpc-port <port>',
      'JSON-RPC port (WebSocket and HTTP); 0 picks a free one',
      integer('--rpc-port', 0, 65535),
      9944,
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'keep the chain here across restarts')
    .option(
      '--block-time <ms>',
      'produce a block every <ms>; default: one block per transaction',
      integer('--block-time', 1, 3_600_000),
    )
    .option(
      '--finality-lag <blocks>',
      'blocks become final this many blocks later',
      integer('--finality-lag', 0, 10_000),
      0,
    )
    .option('--manual-seal', 'produce blocks only on dev_newBlock')
    .option(
      '--state-pruning <blocks>',
      'keep the state of this many recent blocks (default: all)',
      integer('--state-pruning', 64, 100_000_000),
    )
    .option('--json', 'print the endpoints as one JSON line')
    .action(async (options: NodeOptions) => {
      const [{ startDevNode }, { pino, destination }] = await Promise.all([
        import('../../devnet/substrate/node.js'),
        import('pino'),
      ]);
      const logger = pino({ name: 'devnode', level: process.env.LOG_LEVEL ?? 'info' }, destination(2));
      const node = await startDevNode({
        chain: options.chain,
        rpcPort: options.rpcPort,
        host: options.host,
        dataDir: options.dataDir,
        blockTime: options.blockTime,
        finalityLag: options.finalityLag,
        manualSeal: options.manualSeal,
        stateHistory: options.statePruning,
        logger,
      });
      const info = {
        chain: node.chain.spec.name,
        wsUrl: node.wsUrl,
        httpUrl: node.httpUrl,
        genesisHash: node.chain.genesis.hashHex,
        best: node.chain.best.number,
      };
      if (options.json) process.stdout.write(`${JSON.stringify(info)}\n`);
      else {
        process.stdout.write(
          `${info.chain} dev node\n  ws:      ${info.wsUrl}\n  http:    ${info.httpUrl}\n  genesis: ${info.genesisHash}\n  best:    #${info.best}\n`,
        );
      }
      await runUntilSignal(() => node.stop());
    });
}

import { type Command, InvalidArgumentError } from 'commander';
import { runUntilSignal } from '../../base/signals.js';

/**
 * `phala-bridge relay-devnet [--data-dir d] [--relay-port p] [--phala-port p] [--sibling-port p]
 * [--block-time ms] [--json]`: the relay chain, the Phala-style parachain (2035) and the sibling
 * parachain (2000) on 127.0.0.1, wired for XCM (UMP, DMP, HRMP). Runs until SIGINT/SIGTERM.
 */

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

type RelayDevnetOptions = {
  host: string;
  dataDir?: string;
  relayPort: number;
  phalaPort: number;
  siblingPort: number;
  blockTime?: number;
  json?: boolean;
};

export function registerRelayDevnetCommand(program: Command): void {
  program
    .command('relay-devnet')
    .description('Run a relay chain, the Phala-style parachain and a sibling parachain, wired for XCM')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'keep the three chains here across restarts')
    .option(
      '--relay-port <port>',
      'relay chain RPC port; 0 picks a free one',
      integer('--relay-port', 0, 65535),
      9900,
    )
    .option('--phala-port <port>', 'Phala chain RPC port', integer('--phala-port', 0, 65535), 9944)
    .option('--sibling-port <port>', 'sibling chain RPC port', integer('--sibling-port', 0, 65535), 9988)
    .option(
      '--block-time <ms>',
      'produce a block every <ms> on each chain; default: blocks when there is something to include',
      integer('--block-time', 1, 3_600_000),
    )
    .option('--json', 'print the endpoints as one JSON line')
    .action(async (options: RelayDevnetOptions) => {
      const [{ startRelayDevnet }, { pino, destination }] = await Promise.all([
        import('../../devnet/relay-devnet.js'),
        import('pino'),
      ]);
      const logger = pino({ name: 'relay-devnet', level: process.env.LOG_LEVEL ?? 'info' }, destination(2));
      const devnet = await startRelayDevnet({
        host: options.host,
        dataDir: options.dataDir,
        blockTime: options.blockTime,
        ports: { relay: options.relayPort, phala: options.phalaPort, sibling: options.siblingPort },
        logger,
      });
      const chains = [devnet.relay, devnet.phala, devnet.sibling].map((c) => ({
        name: c.name,
        paraId: c.paraId,
        wsUrl: c.wsUrl,
        httpUrl: c.httpUrl,
        genesisHash: c.genesisHash,
      }));
      if (options.json) process.stdout.write(`${JSON.stringify({ chains })}\n`);
      else {
        for (const c of chains) {
          const label = c.paraId === null ? c.name : `${c.name} (para ${c.paraId})`;
          process.stdout.write(`${label.padEnd(20)} ${c.wsUrl}  genesis ${c.genesisHash}\n`);
        }
      }
      await runUntilSignal(() => devnet.stop());
    });
}

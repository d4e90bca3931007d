import type { Command } from 'commander';
import { runUntilSignal } from '../../base/signals.js';
import {
  type DevChainOptions,
  addDevChainOptions,
  addPortOption,
  devChainLogger,
} from '../dev-chain-options.js';

/**
 * `phala-bridge relay-devnet [--data-dir d] [--relay-port p] [--phala-port p] [--sibling-port p]
 * [--block-time ms] [--dev] [--json]`: the relay chain, the Phala-style parachain (2035) and the sibling
 * parachain (2000) on 127.0.0.1, wired for XCM (UMP, DMP, HRMP). Runs until SIGINT/SIGTERM.
 */

type RelayDevnetOptions = DevChainOptions & {
  relayPort: number;
  phalaPort: number;
  siblingPort: number;
};

export function registerRelayDevnetCommand(program: Command): void {
  const command = program
    .command('relay-devnet')
    .description('Run a relay chain, the Phala-style parachain and a sibling parachain, wired for XCM');
  addDevChainOptions(command, {
    dataDir: 'keep the three chains here across restarts',
    blockTime: 'produce a block every <ms> on each chain; default: blocks when there is something to include',
  });
  addPortOption(command, '--relay-port', 'relay chain RPC port; 0 picks a free one', 9900);
  addPortOption(command, '--phala-port', 'Phala chain RPC port', 9944);
  addPortOption(command, '--sibling-port', 'sibling chain RPC port', 9988);
  command.action(async (options: RelayDevnetOptions) => {
    const [{ startRelayDevnet }, logger] = await Promise.all([
      import('../../devnet/relay-devnet.js'),
      devChainLogger('relay-devnet'),
    ]);
    const devnet = await startRelayDevnet({
      host: options.host,
      dataDir: options.dataDir,
      blockTime: options.blockTime,
      dev: options.dev ?? false,
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
    // Handlers first: a Ctrl-C as soon as the endpoints show stops cleanly.
    const stopped = runUntilSignal(() => devnet.stop());
    if (options.json) process.stdout.write(`${JSON.stringify({ chains })}\n`);
    else {
      for (const c of chains) {
        const label = c.paraId === null ? c.name : `${c.name} (para ${c.paraId})`;
        process.stdout.write(`${label.padEnd(20)} ${c.wsUrl}  genesis ${c.genesisHash}\n`);
      }
    }
    await stopped;
  });
}

import type { Command } from 'commander';
import { runUntilSignal } from '../../base/signals.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Run the relayer daemon (watch every chain, queue, dispatch to workers, submit results)')
    .option(
      '-c, --config <file>',
      'configuration file (YAML or JSON); without one, use the embedded devnet (npm start)',
    )
    .option(
      '--record <tape>',
      'append every request the relayer queues to this NDJSON tape (config: recordTape)',
    )
    .action(async (opts: { config?: string; record?: string }) => {
      if (!opts.config) {
        // No configuration: the embedded devnet, every role on this machine (as `npm start`).
        const { runDevnetCommand } = await import('../devnet-run.js');
        await runDevnetCommand({}, runUntilSignal);
        // The code the devnet set (130 interrupted, 1 demo failed), not a blanket 0.
        process.exit();
      }
      const { loadConfig } = await import('../../config/load.js');
      const { runRelayer } = await import('../../relayer/run.js');
      const config = loadConfig(opts.config);
      await runRelayer(opts.record ? { ...config, recordTape: opts.record } : config);
      // Everything is stopped and flushed; do not wait for stray sockets to let the process go.
      process.exit(0);
    });
}

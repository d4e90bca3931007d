import type { Command } from 'commander';

/**
 * `phala-bridge worker --config <file>`: runs one pRuntime worker (docs/pruntime-worker.md) from
 * the configuration's `worker` section and its Phala-style chain, until SIGTERM/SIGINT (then it
 * finishes the requests in hand within `shutdownGraceMs`, or hands them back).
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      "Run a pRuntime worker: register with its quote, take its keys, serve its cluster's requests",
    )
    .requiredOption('-c, --config <file>', 'configuration file (YAML or JSON) with a `worker` section')
    .action(async (opts: { config: string }) => {
      const { loadConfig } = await import('../../config/load.js');
      const config = loadConfig(opts.config);
      const { runWorker } = await import('../../pruntime/worker/run.js');
      await runWorker(config);
    });
}

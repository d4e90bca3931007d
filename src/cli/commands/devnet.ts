import { type Command, InvalidArgumentError } from 'commander';
import { runUntilSignal } from '../../base/signals.js';
import type { DevnetCommandOptions } from '../devnet-run.js';

/**
 * `phala-bridge devnet [--demo] [--exit] [--data-dir d] [--redis-url u | --redis-cluster h:p,…] [--workers n]`
 * (`npm start`):
 * every chain, the gateway, a gatekeeper, workers and the relayer on this machine, with a line per
 * step and every endpoint printed. `--demo` then sends one request from each origin and prints each
 * journey. Ctrl-C stops everything, during start-up too, and removes what the start made (its temp
 * data directory, its Redis keys, a redis-server it started) unless `--keep`; each start is fresh.
 */
export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('Start every chain, a gatekeeper, two workers and the relayer on this machine')
    .option('--demo', 'then run one request from each origin and print its journey')
    .option('--exit', 'stop once started (and after the demo), instead of running until Ctrl-C')
    .option(
      '--data-dir <dir>',
      'where chains, enclaves and the generated config (devnet.json, 0600) live, kept after stop (default: a fresh temp dir, removed on stop; an existing one keeps its sim TEE platform)',
    )
    .option(
      '--redis-url <url>',
      'Redis to use (default redis://127.0.0.1:6379; started if installed and silent)',
    )
    .option(
      '--redis-cluster <nodes>',
      'a running Redis Cluster to use instead, as host:port,host:port,… (redis.clusterNodes)',
      parseClusterNodes,
    )
    .option(
      '--keep',
      'leave the temp data directory (keys, config) and the Redis keys after stopping (removed otherwise)',
    )
    .option('--workers <n>', 'pRuntime workers to start (default 2)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgumentError('expected 1 to 16');
      return n;
    })
    .action(async (opts: DevnetCommandOptions) => {
      const { runDevnetCommand } = await import('../devnet-run.js');
      await runDevnetCommand(opts, runUntilSignal);
      // Everything is stopped; stray sockets must not hold the process. The code it set stays
      // (1: the demo failed, 130: interrupted during start-up).
      process.exit();
    });
}

/** `host:port,host:port,…` → `redis.clusterNodes`. */
export function parseClusterNodes(value: string): { host: string; port: number }[] {
  return value.split(',').map((node) => {
    const match = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(node);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535)
      throw new InvalidArgumentError(`expected host:port,host:port,… (got "${node}")`);
    return { host: match[1]!, port };
  });
}

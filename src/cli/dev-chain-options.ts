import type { Command } from 'commander';
import type { Logger } from '../log/logger.js';
import { integerArgument } from './io.js';

/**
 * What the dev-chain commands (`node`, `relay-devnet`) share: where they listen, their data dir,
 * block production, JSON output, their port flags and their stderr logger, so the commands read
 * and report them the same way.
 */
export type DevChainOptions = { host: string; dataDir?: string; blockTime?: number; json?: boolean };

/** A `--<name>-port` option: a TCP port, 0 for a free one. */
export function addPortOption(
  command: Command,
  flag: string,
  description: string,
  fallback: number,
): Command {
  return command.option(`${flag} <port>`, description, integerArgument(flag, 0, 65535), fallback);
}

export function addDevChainOptions(command: Command, help: { dataDir: string; blockTime: string }): Command {
  return command
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', help.dataDir)
    .option('--block-time <ms>', help.blockTime, integerArgument('--block-time', 1, 3_600_000))
    .option('--json', 'print the endpoints as one JSON line');
}

/** A logger to stderr (stdout carries the endpoints), loaded only when the command runs. */
export async function devChainLogger(name: string): Promise<Logger> {
  const { pino, destination } = await import('pino');
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info' }, destination(2));
}

import type { Command } from 'commander';
import type { RpcLimits } from '../devnet/substrate/rpc/limits.js';
import type { Logger } from '../log/logger.js';
import { integerArgument } from './io.js';

/**
 * What the dev-chain commands (`node`, `relay-devnet`) share: where they listen, their data dir,
 * block production, JSON output, their port flags and their stderr logger, so the commands read
 * and report them the same way.
 */
export type DevChainOptions = {
  host: string;
  dataDir?: string;
  blockTime?: number;
  json?: boolean;
  dev?: boolean;
};

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
    .option('--json', 'print the endpoints as one JSON line')
    .option('--dev', 'serve the dev_* RPC methods (dev_newBlock, dev_timeTravel, dev_setFinalityLag)');
}

/**
 * The RPC server limits a dev node takes on the command line, named as polkadot-sdk's node
 * names them where it has them (sizes in MiB, as there). Unset ones keep the defaults of
 * src/devnet/substrate/rpc/limits.ts.
 */
export type RpcLimitOptions = {
  rpcMaxConnections?: number;
  rpcMaxRequestSize?: number;
  rpcMaxResponseSize?: number;
  rpcMaxSubscriptionsPerConnection?: number;
  rpcMaxSubscriptions?: number;
  rpcMaxBatchRequestLen?: number;
  rpcMaxRequestCost?: number;
  rpcMaxBatchCost?: number;
  rpcMaxJsonValues?: number;
  rpcMaxConcurrentBodies?: number;
  rpcMaxBufferedBodySize?: number;
};

export function addRpcLimitOptions(command: Command): Command {
  const int = (flag: string, max: number) => integerArgument(flag, 1, max);
  return command
    .option(
      '--rpc-max-connections <n>',
      'WebSocket connections (default 100)',
      int('--rpc-max-connections', 1_000_000),
    )
    .option(
      '--rpc-max-request-size <MiB>',
      'one request body or frame (default 15)',
      int('--rpc-max-request-size', 4096),
    )
    .option(
      '--rpc-max-response-size <MiB>',
      'one response (default 15)',
      int('--rpc-max-response-size', 4096),
    )
    .option(
      '--rpc-max-subscriptions-per-connection <n>',
      'subscriptions of one connection (default 1024)',
      int('--rpc-max-subscriptions-per-connection', 1_000_000),
    )
    .option(
      '--rpc-max-subscriptions <n>',
      'subscriptions of all connections (default 8192)',
      int('--rpc-max-subscriptions', 100_000_000),
    )
    .option(
      '--rpc-max-batch-request-len <n>',
      'calls in one batch (default 64)',
      int('--rpc-max-batch-request-len', 1_000_000),
    )
    .option(
      '--rpc-max-request-cost <units>',
      'cost of one call, e.g. state_queryStorage keys × blocks (default 100000)',
      int('--rpc-max-request-cost', 1_000_000_000),
    )
    .option(
      '--rpc-max-batch-cost <units>',
      'summed cost of a batch (default 200000)',
      int('--rpc-max-batch-cost', 1_000_000_000),
    )
    .option(
      '--rpc-max-json-values <n>',
      'JSON values in one request (default 200000)',
      int('--rpc-max-json-values', 1_000_000_000),
    )
    .option(
      '--rpc-max-concurrent-bodies <n>',
      'HTTP request bodies received at once (default 8)',
      int('--rpc-max-concurrent-bodies', 100_000),
    )
    .option(
      '--rpc-max-buffered-body-size <MiB>',
      'bytes of all HTTP bodies being received (default 32)',
      int('--rpc-max-buffered-body-size', 65_536),
    );
}

export function rpcLimitsFrom(options: RpcLimitOptions): Partial<RpcLimits> {
  const mib = (n: number | undefined) => (n === undefined ? undefined : n * 1024 * 1024);
  return {
    maxConnections: options.rpcMaxConnections,
    maxRequestBytes: mib(options.rpcMaxRequestSize),
    maxResponseBytes: mib(options.rpcMaxResponseSize),
    maxSubscriptionsPerConnection: options.rpcMaxSubscriptionsPerConnection,
    maxSubscriptions: options.rpcMaxSubscriptions,
    maxBatch: options.rpcMaxBatchRequestLen,
    maxRequestCost: options.rpcMaxRequestCost,
    maxBatchCost: options.rpcMaxBatchCost,
    maxJsonValues: options.rpcMaxJsonValues,
    maxConcurrentBodies: options.rpcMaxConcurrentBodies,
    maxBufferedBodyBytes: mib(options.rpcMaxBufferedBodySize),
  };
}

/** A logger to stderr (stdout carries the endpoints), loaded only when the command runs. */
export async function devChainLogger(name: string): Promise<Logger> {
  const { pino, destination } = await import('pino');
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info' }, destination(2));
}

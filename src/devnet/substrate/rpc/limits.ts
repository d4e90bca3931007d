import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * Every limit of the dev node's JSON-RPC server, in one place, with its default. Where
 * polkadot-sdk's node (sc-rpc-server / jsonrpsee) has the same limit, the name of its CLI flag and
 * its default are kept (`--rpc-max-connections` 100, `--rpc-max-request-size` and
 * `--rpc-max-response-size` 15 MiB, `--rpc-max-subscriptions-per-connection` 1024,
 * `--rpc-max-batch-request-len`); the rest are this node's own, named in the same style.
 */
export type RpcLimits = {
  /** `--rpc-max-connections`: open WebSocket connections. */
  maxConnections: number;
  /** `--rpc-max-request-size` (MiB on the CLI): one HTTP body or WebSocket frame. */
  maxRequestBytes: number;
  /** `--rpc-max-response-size` (MiB on the CLI): one serialized response. */
  maxResponseBytes: number;
  /** `--rpc-max-subscriptions-per-connection`. */
  maxSubscriptionsPerConnection: number;
  /** `--rpc-max-subscriptions`: subscriptions of all connections together. */
  maxSubscriptions: number;
  /** `--rpc-max-batch-request-len`: calls in one batch (polkadot-sdk: unlimited by default). */
  maxBatch: number;
  /** `--rpc-max-request-cost`: cost units of one call (state_queryStorage: keys × blocks). */
  maxRequestCost: number;
  /** `--rpc-max-batch-cost`: the sum of the costs of a batch's calls. */
  maxBatchCost: number;
  /** `--rpc-max-json-values`: values in one request's JSON (checked before parsing it). */
  maxJsonValues: number;
  /** `--rpc-max-concurrent-bodies`: HTTP request bodies being received at once. */
  maxConcurrentBodies: number;
  /** `--rpc-max-buffered-body-size` (MiB on the CLI): bytes of all bodies being received. */
  maxBufferedBodyBytes: number;
  /** Unsent bytes of one connection beyond which it is closed (a client that stopped reading). */
  maxSendBufferBytes: number;
  /** Requests of one connection waiting to be answered; beyond it, `-32009 Server is busy`. */
  maxPendingPerConnection: number;
  /** Calls costing more than `heavyCost` run this many at a time, node-wide. */
  maxConcurrentHeavy: number;
  heavyCost: number;
  /** Long work gives the event loop back after this many ms, so `system_health` stays quick. */
  sliceMs: number;
};

const MiB = 1024 * 1024;

export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxConnections: 100,
  maxRequestBytes: 15 * MiB,
  maxResponseBytes: 15 * MiB,
  maxSubscriptionsPerConnection: 1024,
  maxSubscriptions: 8192,
  maxBatch: 64,
  maxRequestCost: 100_000,
  maxBatchCost: 200_000,
  maxJsonValues: 200_000,
  maxConcurrentBodies: 8,
  maxBufferedBodyBytes: 32 * MiB,
  maxSendBufferBytes: 64 * MiB,
  maxPendingPerConnection: 4096,
  maxConcurrentHeavy: 2,
  heavyCost: 1000,
  sliceMs: 3,
});

/** The CLI flag of each limit, for error messages that say what to change. */
export const RPC_LIMIT_FLAGS: Readonly<Record<keyof RpcLimits, string>> = Object.freeze({
  maxConnections: '--rpc-max-connections',
  maxRequestBytes: '--rpc-max-request-size',
  maxResponseBytes: '--rpc-max-response-size',
  maxSubscriptionsPerConnection: '--rpc-max-subscriptions-per-connection',
  maxSubscriptions: '--rpc-max-subscriptions',
  maxBatch: '--rpc-max-batch-request-len',
  maxRequestCost: '--rpc-max-request-cost',
  maxBatchCost: '--rpc-max-batch-cost',
  maxJsonValues: '--rpc-max-json-values',
  maxConcurrentBodies: '--rpc-max-concurrent-bodies',
  maxBufferedBodyBytes: '--rpc-max-buffered-body-size',
  maxSendBufferBytes: 'maxSendBufferBytes',
  maxPendingPerConnection: 'maxPendingPerConnection',
  maxConcurrentHeavy: 'maxConcurrentHeavy',
  heavyCost: 'heavyCost',
  sliceMs: 'sliceMs',
});

/** A limit set to something other than a positive integer; retrying will not help. */
export class RpcLimitsError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'RpcLimitsError';
}

/** The defaults with what the caller set; every value must be a positive integer. */
export function resolveRpcLimits(overrides: Partial<RpcLimits> = {}): RpcLimits {
  const limits: RpcLimits = { ...DEFAULT_RPC_LIMITS };
  for (const key of Object.keys(DEFAULT_RPC_LIMITS) as (keyof RpcLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RpcLimitsError(`${RPC_LIMIT_FLAGS[key]}: expected a positive integer, got ${value}`, {
        docsPath: 'docs/substrate-devnode.md#rpc-limits',
      });
    }
    limits[key] = value;
  }
  return limits;
}

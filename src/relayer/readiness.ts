import type { ApiPromise } from '@polkadot/api';
import { type Client, createPublicClient, http, BaseError as ViemBaseError } from 'viem';
import { getBlockNumber } from 'viem/actions';
import { BaseError, type Retry, causes, errorMessage } from '../base/errors.js';
import { redactUrl } from '../base/redact-url.js';
import type { RedisConfig } from '../config/schema.js';
import type { RedisConnection } from './redis.js';

/**
 * `/readyz`: one check per configured chain (EVM, the Phala-style chain, sibling parachains, the
 * relay chain) and one for Redis, each with `ok` and a `detail` an operator can act on
 * (`evm: RPC http://***@host:8545: connect ECONNREFUSED 10.0.0.5:8545`; URL userinfo masked).
 * Checks run side by side and each is cut off after `READINESS_TIMEOUT_MS`: a dead RPC makes its
 * own check fail, never the endpoint hang. build.ts makes the chain checks, the daemon adds Redis.
 */
export type ReadinessResult = { ok: boolean; detail?: string };
export type ReadinessCheck = { name: string; check: () => Promise<ReadinessResult> };

export const READINESS_TIMEOUT_MS = 2_000;

/** A check (or a read inside one) that did not answer in time. A later look may succeed. */
export class ReadinessTimeoutError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'ReadinessTimeoutError';
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms`);
  }
}

export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ReadinessTimeoutError(what, timeoutMs)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The most telling line of a failure: a socket error's own text (`connect ECONNREFUSED …`) from
 * anywhere in the cause chain, else the innermost link's (short) message; one line, URL userinfo
 * masked.
 */
export function failureDetail(error: unknown): string {
  let best: string | undefined;
  for (const link of causes(error)) {
    if (link instanceof ReadinessTimeoutError) return redactUrl(link.shortMessage);
    const code = typeof link === 'object' && link !== null ? (link as { code?: unknown }).code : undefined;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) {
      const message = (link as Error).message;
      return redactUrl(message ? message.split('\n')[0]! : code).slice(0, 300);
    }
    // The innermost link says most ("bad port" rather than viem's "HTTP request failed.").
    if (link instanceof ViemBaseError)
      best = link.details ? `${link.shortMessage.replace(/\.$/, '')} (${link.details})` : link.shortMessage;
    else if (link instanceof BaseError) best = link.shortMessage;
    else if (link instanceof Error && link.message) best = link.message;
  }
  return redactUrl((best ?? errorMessage(error)).split('\n')[0]!).slice(0, 300);
}

/** Every check side by side, each bounded; a check that throws or times out is `ok: false`. */
export async function runReadiness(
  checks: readonly ReadinessCheck[],
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<Record<string, ReadinessResult>> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        return [c.name, await withTimeout(c.check(), timeoutMs, c.name)] as const;
      } catch (error) {
        return [c.name, { ok: false, detail: failureDetail(error) }] as const;
      }
    }),
  );
  return Object.fromEntries(results);
}

/** How far behind the chain's head a watcher may be and still be ready. */
type LagLimit = { checkpoint: () => Promise<bigint | number | undefined>; maxLag: number };

async function lagOf(head: number, lag: LagLimit | undefined, timeoutMs: number) {
  if (!lag) return { ok: true, text: '' };
  try {
    const checkpoint = await withTimeout(lag.checkpoint(), timeoutMs, 'checkpoint');
    // No checkpoint yet: the watcher has not finished a block since it started here.
    if (checkpoint === undefined) return { ok: true, text: ', no checkpoint yet' };
    const behind = head - Number(checkpoint);
    return { ok: behind >= 0 && behind < lag.maxLag, text: `, lag ${behind} blocks` };
  } catch (error) {
    // The checkpoint lives in Redis, which has its own check: the chain itself answered.
    return { ok: true, text: `, lag unknown (${failureDetail(error)})` };
  }
}

/** An EVM chain: its RPC answers with a block number, and its watcher keeps up. */
export function evmReadiness(p: {
  chain: string;
  rpcUrl: string;
  client?: Client;
  lag?: LagLimit;
  timeoutMs?: number;
}): ReadinessCheck {
  const timeoutMs = p.timeoutMs ?? READINESS_TIMEOUT_MS;
  // Its own client: no retries, a timeout under the check's, so the answer is about this look.
  const client =
    p.client ?? createPublicClient({ transport: http(p.rpcUrl, { retryCount: 0, timeout: timeoutMs }) });
  const where = `evm: RPC ${redactUrl(p.rpcUrl)}`;
  return {
    name: `chain:${p.chain}`,
    check: async () => {
      let head: number;
      try {
        head = Number(
          await withTimeout(getBlockNumber(client, { cacheTime: 0 }), timeoutMs, 'eth_blockNumber'),
        );
      } catch (error) {
        return { ok: false, detail: `${where}: ${failureDetail(error)}` };
      }
      const lag = await lagOf(head, p.lag, timeoutMs);
      return { ok: lag.ok, detail: `evm: head #${head}${lag.text}` };
    },
  };
}

/**
 * A Substrate chain (the Phala-style chain, a sibling parachain, the relay chain) over its
 * polkadot-js connection: connected, and its finalized head readable (and the watcher keeping up).
 */
export function substrateReadiness(p: {
  chain: string;
  kind: 'phala' | 'parachain' | 'relay';
  wsUrl: string;
  api: ApiPromise;
  lag?: LagLimit;
  timeoutMs?: number;
}): ReadinessCheck {
  const timeoutMs = p.timeoutMs ?? READINESS_TIMEOUT_MS;
  const where = `${p.kind}: RPC ${redactUrl(p.wsUrl)}`;
  return {
    name: `chain:${p.chain}`,
    check: async () => {
      // Calls on a disconnected ApiPromise wait for the reconnection: answer without asking.
      if (!p.api.isConnected) return { ok: false, detail: `${where}: disconnected (reconnecting)` };
      let head: number;
      try {
        head = await withTimeout(
          (async () => {
            const hash = await p.api.rpc.chain.getFinalizedHead();
            return (await p.api.rpc.chain.getHeader(hash)).number.toNumber();
          })(),
          timeoutMs,
          'finalized head',
        );
      } catch (error) {
        return { ok: false, detail: `${where}: ${failureDetail(error)}` };
      }
      const lag = await lagOf(head, p.lag, timeoutMs);
      return { ok: lag.ok, detail: `${p.kind}: finalized #${head}${lag.text}` };
    },
  };
}

/** A chain in the config that this process has no connection to (and does not need one). */
export function unusedChainReadiness(chain: string, why: string): ReadinessCheck {
  return { name: `chain:${chain}`, check: async () => ({ ok: true, detail: why }) };
}

const redisErrors = new WeakMap<RedisConnection, { message: string | null }>();

/**
 * Remembers the connection's last error until it is ready again, for the Redis check's detail
 * (`connect ECONNREFUSED 127.0.0.1:6379` says more than "no answer"). Call once, early.
 */
export function watchRedisErrors(redis: RedisConnection): void {
  if (redisErrors.has(redis)) return;
  const last = { message: null as string | null };
  redisErrors.set(redis, last);
  redis.on('error', (error: unknown) => {
    last.message = failureDetail(error);
  });
  redis.on('ready', () => {
    last.message = null;
  });
}

/** Redis answers a PING within the timeout; `where` names it (a masked URL, or "cluster"). */
export function redisReadiness(redis: RedisConnection, where: string, timeoutMs = 1_000): ReadinessCheck {
  const label = `redis ${redactUrl(where)}`;
  return {
    name: 'redis',
    check: async () => {
      try {
        // Not connected: a PING would only wait in ioredis' offline queue.
        if (redis.status !== 'ready') throw new Error('not connected');
        await withTimeout(redis.ping(), timeoutMs, 'PING');
        return { ok: true };
      } catch (error) {
        const last = redisErrors.get(redis)?.message;
        return {
          ok: false,
          detail: `${label}: ${last ?? failureDetail(error)} (connection ${redis.status})`,
        };
      }
    },
  };
}

/** How the Redis check names the server: its URL (masked), or the cluster's or Sentinel's nodes. */
export function redisWhere(config: RedisConfig): string {
  if (config.clusterNodes?.length)
    return `cluster ${config.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (config.sentinels?.length) return `sentinel ${config.sentinelName ?? ''}`.trim();
  return config.url;
}

import { randomBytes } from 'node:crypto';
import { BaseError, type Retry } from '../base/errors.js';
import type { RedisConnection } from './redis.js';

/**
 * A named lease in Redis with a fencing token, so that a role that must run in one process at a
 * time (a chain's watcher, a signer's submitter) does, across any number of relayer processes.
 *
 * The holder renews before the TTL runs out; if it stalls past the TTL another process takes the
 * lease with a higher token. Every write the role makes passes through `assertHeld`, which fails
 * once the token is no longer the current one, so a stalled former holder cannot act on stale
 * authority (Kleppmann's fencing argument).
 */
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
if not current then redis.call('INCR', KEYS[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return tonumber(redis.call('GET', KEYS[2]))`;

// Renewal only extends the holder's own key: a key that vanished (expired, flushed, failed over)
// is lost, never silently taken again under a new token, which would keep others out for a TTL.
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return tonumber(redis.call('GET', KEYS[2]))`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export type LeaseParameters = {
  redis: RedisConnection;
  /** Full key of the lease, under the deployment prefix. */
  key: string;
  ttlMs?: number;
  renewEveryMs?: number;
  onLost?: () => void;
};

export class Lease {
  readonly #redis: RedisConnection;
  readonly #key: string;
  readonly #fenceKey: string;
  readonly #owner = randomBytes(12).toString('hex');
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #onLost: (() => void) | undefined;
  #token: number | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(parameters: LeaseParameters) {
    this.#redis = parameters.redis;
    this.#key = parameters.key;
    this.#fenceKey = `${parameters.key}:fence`;
    this.#ttlMs = parameters.ttlMs ?? 10_000;
    this.#renewEveryMs = parameters.renewEveryMs ?? Math.floor(this.#ttlMs / 3);
    this.#onLost = parameters.onLost;
  }

  /** The fencing token while held, else null. */
  get token(): number | null {
    return this.#token;
  }

  /** Tries once; true when this process now holds the lease (and keeps renewing it). */
  async tryAcquire(): Promise<boolean> {
    const token = (await this.#redis.eval(
      ACQUIRE,
      2,
      this.#key,
      this.#fenceKey,
      this.#owner,
      String(this.#ttlMs),
    )) as number;
    if (token === 0) return false;
    this.#token = token;
    this.#timer ??= setInterval(() => void this.#renew(), this.#renewEveryMs).unref();
    return true;
  }

  async #renew(): Promise<void> {
    try {
      const token = (await this.#redis.eval(
        RENEW,
        2,
        this.#key,
        this.#fenceKey,
        this.#owner,
        String(this.#ttlMs),
      )) as number;
      if (token !== this.#token) this.#lose();
    } catch {
      // A Redis hiccup: keep the lease until the TTL says otherwise; the next renewal decides.
    }
  }

  #lose(): void {
    this.#token = null;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#onLost?.();
  }

  /** Throws unless this process still holds the lease with the same token. */
  async assertHeld(): Promise<number> {
    const token = this.#token;
    const owner = await this.#redis.get(this.#key);
    const fence = Number(await this.#redis.get(this.#fenceKey));
    if (token === null || owner !== this.#owner || fence !== token) {
      if (token !== null) this.#lose();
      throw new LeaseLostError(this.#key);
    }
    return token;
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#token = null;
    await this.#redis.eval(RELEASE, 1, this.#key, this.#owner).catch(() => undefined);
  }
}

export class LeaseLostError extends BaseError {
  /** Another process holds it now; this one may get it again later. */
  static override readonly retry: Retry = 'retry';
  override name = 'LeaseLostError';
  constructor(key: string) {
    super(`Lease ${key} is no longer held by this process.`);
  }
}

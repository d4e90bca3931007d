import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Address } from 'viem';
import { NonceLockTimeoutError } from '../errors.js';

/** Where the nonce manager reads the chain's view of an account's nonce. */
export type NonceSource = (address: Address, blockTag: 'pending' | 'latest') => Promise<number>;

export type RedisNonceManagerOptions = {
  redis: Redis | Cluster;
  /** Key prefix; keys are `<prefix>:{<chain>:<address>}:nonce` and `...:nonce-lock` (one hash slot). */
  keyPrefix: string;
  /**
   * Which chain the nonces belong to: the chain id, plus the genesis hash where chains can be
   * restarted under the same id (devnets), so stale nonces of an old chain are never reused.
   * A function is called once, when the nonces are first needed.
   */
  chain: string | (() => Promise<string>);
  address: Address;
  /** `getTransactionCount`; the `pending` count includes transactions in the node's pool. */
  source: NonceSource;
  /** How long one holder may keep the lock before it expires (default 20 s). */
  lockTtlMs?: number;
  /** How long to wait for the lock (default 60 s). */
  lockWaitMs?: number;
};

// Compare-and-delete: only the holder's token releases the lock.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
// Fencing: the next nonce is only written while the writer still holds the lock.
const SET_IF_HOLDER = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[2], ARGV[2]) return 1 else return 0 end`;

/**
 * One signer's nonces, shared by every process that signs with that key: the next nonce lives in
 * Redis and is only read and advanced under a Redis lock, so two submitters never pick the same
 * nonce. The nonce is advanced only after the node accepted the transaction; after any failure
 * it is reset to the chain's `pending` count, so no gap is left and a nonce taken by an outside
 * transaction is skipped at once (no "nonce too low" loop).
 */
export class RedisNonceManager {
  readonly #o: RedisNonceManagerOptions;
  #keys: Promise<{ nonce: string; lock: string }> | null = null;

  constructor(options: RedisNonceManagerOptions) {
    this.#o = options;
  }

  #resolveKeys(): Promise<{ nonce: string; lock: string }> {
    this.#keys ??= (async () => {
      const chain = typeof this.#o.chain === 'string' ? this.#o.chain : await this.#o.chain();
      const id = `${chain}:${this.#o.address.toLowerCase()}`;
      return { nonce: `${this.#o.keyPrefix}:{${id}}:nonce`, lock: `${this.#o.keyPrefix}:{${id}}:nonce-lock` };
    })();
    // A failed lookup (RPC down) is retried on the next call.
    this.#keys.catch(() => {
      this.#keys = null;
    });
    return this.#keys;
  }

  /**
   * Runs `send` with the next nonce, under the lock. When `send` resolves, the next nonce is
   * `nonce + 1`; when it throws, the next nonce is reconciled with the chain and the error is
   * rethrown.
   */
  async withNextNonce<T>(send: (nonce: number) => Promise<T>): Promise<T> {
    const keys = await this.#resolveKeys();
    const token = await this.#lock(keys.lock);
    try {
      const stored = await this.#o.redis.get(keys.nonce);
      const nonce = stored === null ? await this.#o.source(this.#o.address, 'pending') : Number(stored);
      let result: T;
      try {
        result = await send(nonce);
      } catch (error) {
        await this.#write(keys, token, await this.#o.source(this.#o.address, 'pending'));
        throw error;
      }
      await this.#write(keys, token, nonce + 1);
      return result;
    } finally {
      await this.#o.redis.eval(RELEASE, 1, keys.lock, token);
    }
  }

  /** Resets the next nonce to the chain's pending count (under the lock) and returns it. */
  async reconcile(): Promise<number> {
    const keys = await this.#resolveKeys();
    const token = await this.#lock(keys.lock);
    try {
      const next = await this.#o.source(this.#o.address, 'pending');
      await this.#write(keys, token, next);
      return next;
    } finally {
      await this.#o.redis.eval(RELEASE, 1, keys.lock, token);
    }
  }

  /** The stored next nonce, or null when none is stored yet. */
  async peek(): Promise<number | null> {
    const stored = await this.#o.redis.get((await this.#resolveKeys()).nonce);
    return stored === null ? null : Number(stored);
  }

  async #write(keys: { nonce: string; lock: string }, token: string, next: number): Promise<void> {
    await this.#o.redis.eval(SET_IF_HOLDER, 2, keys.lock, keys.nonce, token, String(next));
  }

  async #lock(lockKey: string): Promise<string> {
    const token = randomBytes(16).toString('hex');
    const ttl = this.#o.lockTtlMs ?? 20_000;
    const until = Date.now() + (this.#o.lockWaitMs ?? 60_000);
    let wait = 5;
    while (true) {
      const ok = await this.#o.redis.set(lockKey, token, 'PX', ttl, 'NX');
      if (ok === 'OK') return token;
      if (Date.now() > until)
        throw new NonceLockTimeoutError(`nonce lock for ${this.#o.address} not free`, {
          details: `waited ${this.#o.lockWaitMs ?? 60_000} ms for ${lockKey}`,
        });
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 200);
    }
  }
}

import type { ApiPromise } from '@polkadot/api';

/**
 * Pipelined nonces for signers that send several extrinsics without waiting for each to land:
 * the first nonce of a signer comes from `system_accountNextIndex` (the chain's nonce counting
 * the pool), every later one is the previous plus one, with no round trip. Correct only while
 * this process is the signer's one sender (the relayer's submit lease guarantees it); after a
 * nonce error, a refused broadcast or a reorg, `reset` makes the next `take` read the chain again
 * (a hole left behind is then filled by the next extrinsic, never waited out).
 */
export class NonceCounter {
  readonly #api: ApiPromise;
  /** Per signer: the next nonce to hand out, as a promise so that takes queue behind one read. */
  readonly #next = new Map<string, Promise<number>>();

  constructor(api: ApiPromise) {
    this.#api = api;
  }

  /** The signer's next nonce; concurrent takes get consecutive nonces. */
  take(address: string): Promise<number> {
    const current = this.#next.get(address) ?? this.#read(address);
    const next = current.then((nonce) => nonce + 1);
    // A failed read is not cached: the next take reads again.
    next.catch(() => {
      if (this.#next.get(address) === next) this.#next.delete(address);
    });
    this.#next.set(address, next);
    return current;
  }

  /** Forgets what this process counted for the signer: the next take reads the chain. */
  reset(address: string): void {
    this.#next.delete(address);
  }

  /** Forgets every signer (after a reorg, which may undo included extrinsics). */
  resetAll(): void {
    this.#next.clear();
  }

  async #read(address: string): Promise<number> {
    return (await this.#api.rpc.system.accountNextIndex(address)).toNumber();
  }
}

import type { DevChain } from '../chain/chain.js';

/**
 * What a call costs, estimated from its parameters before it runs: one unit per storage value
 * read, key returned or block produced. A call or batch over its budget is refused before any
 * work is done. Parameters are not validated here (the handler does that); anything that does
 * not parse costs what its method costs at least.
 */
export function callCost(chain: DevChain, method: string, params: readonly unknown[]): number {
  switch (method) {
    case 'state_queryStorage':
      // Every key read at every block of the range.
      return count(params[0]) * blockSpan(chain, params[1], params[2]);
    case 'state_queryStorageAt':
    case 'state_getReadProof':
    case 'state_subscribeStorage':
      return count(params[0]);
    case 'state_getKeysPaged':
    case 'state_getKeysPagedAt':
      return Math.max(1, positive(params[1]));
    case 'state_getKeys':
      return KEYS_LIMIT;
    case 'chain_getBlockHash':
    case 'chain_getHead':
      return Array.isArray(params[0]) ? Math.max(1, params[0].length) : 1;
    case 'dev_newBlock': {
      const options = params[0];
      const n =
        typeof options === 'object' && options !== null
          ? positive((options as { count?: unknown }).count)
          : 1;
      return Math.max(1, n) * BLOCK_COST;
    }
    default:
      return 1;
  }
}

/** The most keys state_getKeys returns. */
export const KEYS_LIMIT = 100_000;
/** Producing a block costs about as much as this many storage reads. */
const BLOCK_COST = 100;

function count(value: unknown): number {
  return Array.isArray(value) ? Math.max(1, value.length) : 1;
}

function positive(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function blockSpan(chain: DevChain, from: unknown, to: unknown): number {
  const number = (hash: unknown, fallback: number): number => {
    if (typeof hash !== 'string') return fallback;
    return chain.blockByHash(hash.toLowerCase())?.number ?? fallback;
  };
  const start = number(from, chain.best.number);
  const end = number(to, chain.best.number);
  return Math.max(1, end - start + 1);
}

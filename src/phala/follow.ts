import type { ApiPromise } from '@polkadot/api';
import type { Option } from '@polkadot/types';
import type { StorageData } from '@polkadot/types/interfaces';
import type { Header } from '@polkadot/types/interfaces';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../base/bytes.js';
import { ChainDataError } from './errors.js';
import { type DecodedEvent, decodeEventRecords } from './events.js';
import { eventRecordsOf } from './submit.js';

/**
 * Follows finalized blocks in order, every block exactly once, from a cursor: each new finalized
 * head is filled in from the last processed block (so blocks finalized together, or while the
 * connection was down, are backfilled by number). A failing handler is retried on the same block;
 * nothing is skipped.
 */

export type FinalizedBlock = {
  number: number;
  hash: Hex;
  parentHash: Hex;
  events: DecodedEvent[];
  /** Full extrinsic encodings (only with `includeExtrinsics`). */
  extrinsics: Hex[] | null;
};

export type FollowOptions = {
  /** First block to deliver; default: the finalized head at start. */
  from?: number;
  onBlock(block: FinalizedBlock): Promise<void> | void;
  /** Told about each failure (RPC or handler) before the block is retried. */
  onError?(error: unknown, blockNumber: number): void;
  includeExtrinsics?: boolean;
  /** First retry delay; doubles to 8× on repeated failures. Default 250 ms. */
  retryDelayMs?: number;
};

export type Follower = {
  /** The last block delivered (or from - 1). */
  readonly cursor: number;
  /** Resolves once following has started (the subscription is live). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
};

/** One finalized block by number: hash, header and events (and extrinsics if asked). */
export async function finalizedBlockAt(
  api: ApiPromise,
  number: number,
  includeExtrinsics = false,
): Promise<FinalizedBlock> {
  const hash = await api.rpc.chain.getBlockHash(number);
  if (hash.isEmpty) throw new ChainDataError(`no block ${number}`);
  const [header, raw, body] = await Promise.all([
    api.rpc.chain.getHeader(hash),
    api.rpc.state.getStorage(api.query.system.events.key(), hash) as Promise<
      Option<StorageData> | StorageData
    >,
    includeExtrinsics ? api.rpc.chain.getBlock(hash) : Promise.resolve(null),
  ]);
  if (header.number.toNumber() !== number)
    throw new ChainDataError(`block ${hash.toHex()} is not number ${number}`);
  return {
    number,
    hash: hash.toHex() as Hex,
    parentHash: header.parentHash.toHex() as Hex,
    events: decodeEventRecords(api, eventRecordsOf(api, raw)),
    extrinsics: body
      ? body.block.extrinsics.map((x: { toU8a(): Uint8Array }) => u8aToHex(x.toU8a()) as Hex)
      : null,
  };
}

export function followFinalizedBlocks(api: ApiPromise, options: FollowOptions): Follower {
  let stopped = false;
  let next: number | null = options.from ?? null;
  let target = -1;
  let wake: (() => void) | null = null;
  let unsubscribe: (() => void) | null = null;
  const baseDelay = options.retryDelayMs ?? 250;

  const raise = (header: Header) => {
    const n = header.number.toNumber();
    if (n > target) target = n;
    if (next === null) next = n;
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  // After a reconnect, ask for the finalized head at once (the resubscription also delivers it).
  const onConnected = () => {
    api.rpc.chain
      .getFinalizedHead()
      .then((hash) => api.rpc.chain.getHeader(hash))
      .then(raise)
      .catch(() => {});
  };
  api.on('connected', onConnected);

  const ready = api.rpc.chain.subscribeFinalizedHeads(raise).then((unsub) => {
    unsubscribe = unsub;
    if (stopped) unsub();
  });

  const loop = (async () => {
    await ready.catch(() => {});
    let failures = 0;
    while (!stopped) {
      if (next === null || next > target) {
        await sleep(60_000);
        continue;
      }
      const number = next;
      try {
        const block = await finalizedBlockAt(api, number, options.includeExtrinsics);
        if (stopped) break;
        await options.onBlock(block);
        next = number + 1;
        failures = 0;
      } catch (error) {
        if (stopped) break;
        failures++;
        try {
          options.onError?.(error, number);
        } catch {
          // the error callback must not stop following
        }
        await sleep(baseDelay * 2 ** Math.min(failures - 1, 3));
      }
    }
  })();

  return {
    get cursor() {
      return (next ?? 0) - 1;
    },
    ready,
    async stop() {
      stopped = true;
      api.off('connected', onConnected);
      wake?.();
      unsubscribe?.();
      await loop;
    },
  };
}

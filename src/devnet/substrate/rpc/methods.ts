import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { errorMessage } from '../../../base/errors.js';
import {
  type DevChain,
  type StoredBlock,
  SubmitError,
  type TxStatus,
  type TxStatusDetail,
  UnknownBlockError,
} from '../chain/chain.js';
import { FeeDetailsTy, RuntimeApiError, RuntimeDispatchInfo } from '../runtime/executive.js';
import { GRANDPA_ENGINE_ID } from '../chain/grandpa.js';
import { runtimeVersionJson } from '../runtime/version.js';
import { StateDiscardedError } from '../storage/state-db.js';
import { KEYS_LIMIT } from './cost.js';
import { RpcError, RpcErrors } from './errors.js';
import {
  accountParam,
  arrayParam,
  bytesParam,
  hashParam,
  hexParam,
  noMoreParams,
  numberValue,
  optionalNumber,
  stringParam,
} from './params.js';
import type { WorkScheduler } from './work.js';

/**
 * The Substrate JSON-RPC methods (names, aliases, result shapes and subscription semantics of a
 * Substrate node), over a DevChain.
 */

export type Emit = (result: unknown, options?: { final?: boolean }) => void;
export type SubscriptionHandle = { start(emit: Emit): void; stop(): void };

export type MethodDef =
  | { kind: 'call'; handler(params: unknown[]): unknown }
  | {
      kind: 'subscribe';
      /** The notification method (e.g. `chain_newHead`). */
      notification: string;
      /** The unsubscribe method names. */
      unsubscribe: string[];
      subscribe(params: unknown[]): SubscriptionHandle;
    };

export type NodeInfo = { name: string; version: string };

export type MethodOptions = {
  /** Register dev_* (new block, time travel, finality lag): only on a node started with `--dev`. */
  dev: boolean;
  /** Where long calls give the event loop back. */
  work: WorkScheduler;
};

const MAX_KEYS_PAGED = 1000;
const MAX_STORAGE_KEYS = 1000;
const MAX_EXTRINSIC_BYTES = 5 * 1024 * 1024;

function withBlock<T>(chain: DevChain, at: string | undefined, fn: (block: StoredBlock) => T): T {
  let block: StoredBlock;
  try {
    block = chain.resolve(at);
  } catch (error) {
    if (error instanceof UnknownBlockError) throw RpcErrors.client(`UnknownBlock: ${error.message}`);
    throw error;
  }
  try {
    return fn(block);
  } catch (error) {
    if (error instanceof StateDiscardedError)
      throw RpcErrors.client(`UnknownBlock: State already discarded for ${block.hashHex}`);
    throw error;
  }
}

function submitError(error: unknown): never {
  if (error instanceof SubmitError) throw new RpcError(error.code, error.message, error.data);
  throw error;
}

/** A subscription that sends `initial` (if any) on start, then whatever `listen` delivers. */
function stream(initial: (() => unknown) | null, listen: (emit: Emit) => () => void): SubscriptionHandle {
  let stop: (() => void) | null = null;
  let stopped = false;
  return {
    start(emit) {
      if (stopped) return;
      if (initial) emit(initial());
      stop = listen(emit);
    },
    stop() {
      stopped = true;
      stop?.();
    },
  };
}

export function createMethods(
  chain: DevChain,
  node: NodeInfo,
  { dev, work }: MethodOptions,
): Map<string, MethodDef> {
  const methods = new Map<string, MethodDef>();
  const call = (names: string[], handler: (params: unknown[]) => unknown) => {
    for (const name of names) methods.set(name, { kind: 'call', handler });
  };
  const subscription = (
    names: string[],
    notification: string,
    unsubscribe: string[],
    subscribe: (params: unknown[]) => SubscriptionHandle,
  ) => {
    for (const name of names) methods.set(name, { kind: 'subscribe', notification, unsubscribe, subscribe });
  };
  const runtime = chain.runtime;
  // One header object per block, shared by every subscription it goes to (serialized once).
  const headers = new WeakMap<StoredBlock, unknown>();
  const headerOf = (block: StoredBlock): unknown => {
    let json = headers.get(block);
    if (json === undefined) {
      json = chain.headerJson(block);
      headers.set(block, json);
    }
    return json;
  };

  // ------------------------------------------------------------------------------ system
  call(['system_name'], () => node.name);
  call(['system_version'], () => node.version);
  call(['system_chain'], () => chain.spec.name);
  call(['system_chainType'], () => chain.spec.chainType);
  call(['system_properties'], () => chain.spec.properties);
  call(['system_health'], () => ({ peers: 0, isSyncing: false, shouldHavePeers: false }));
  call(['system_localPeerId'], () => '12D3KooWDevNodeLocalPeerPhalaBridge1111111111111111');
  call(['system_localListenAddresses'], () => []);
  call(['system_nodeRoles'], () => ['Authority']);
  call(['system_peers'], () => []);
  call(['system_syncState'], () => ({
    startingBlock: 0,
    currentBlock: chain.best.number,
    highestBlock: chain.best.number,
  }));
  call(['system_accountNextIndex', 'account_nextIndex'], (params) => {
    noMoreParams(params, 1);
    return chain.accountNextIndex(accountParam(params, 0));
  });

  // ------------------------------------------------------------------------------ chain
  const blockHash = (value: unknown): string | null => {
    if (value === undefined || value === null) return chain.best.hashHex;
    const block = chain.blockByNumber(numberValue(value, 'blockNumber'));
    return block ? block.hashHex : null;
  };
  call(['chain_getBlockHash', 'chain_getHead'], (params) => {
    noMoreParams(params, 1);
    const value = params[0];
    if (Array.isArray(value)) {
      if (value.length > 1000) throw RpcErrors.invalidParams('blockNumber: at most 1000 numbers');
      return value.map(blockHash);
    }
    return blockHash(value);
  });
  call(['chain_getHeader'], (params) => {
    noMoreParams(params, 1);
    const at = hashParam(params, 0, 'hash');
    const block = at ? chain.blockByHash(at) : chain.best;
    return block ? chain.headerJson(block) : null;
  });
  call(['chain_getBlock'], (params) => {
    noMoreParams(params, 1);
    const at = hashParam(params, 0, 'hash');
    const block = at ? chain.blockByHash(at) : chain.best;
    if (!block) return null;
    const justification = chain.justification(block);
    return {
      block: { header: chain.headerJson(block), extrinsics: block.extrinsics.map((x) => u8aToHex(x)) },
      // Justifications: [(ConsensusEngineId, EncodedJustification)], the engine id as serde gives
      // [u8; 4]. The bytes go as hex (Substrate's serde would give a number array; polkadot-js
      // decodes both).
      justifications: justification ? [[[...GRANDPA_ENGINE_ID], u8aToHex(justification)]] : null,
    };
  });
  call(['chain_getFinalizedHead', 'chain_getFinalisedHead'], (params) => {
    noMoreParams(params, 0);
    return chain.finalized.hashHex;
  });
  subscription(
    ['chain_subscribeNewHeads', 'chain_subscribeNewHead', 'subscribe_newHead'],
    'chain_newHead',
    ['chain_unsubscribeNewHeads', 'chain_unsubscribeNewHead', 'unsubscribe_newHead'],
    () =>
      stream(
        () => headerOf(chain.best),
        (emit) => chain.onNewBlock((block) => emit(headerOf(block))),
      ),
  );
  // Like Substrate's subscribe_headers: the current head first, then every import.
  subscription(['chain_subscribeAllHeads'], 'chain_allHead', ['chain_unsubscribeAllHeads'], () =>
    stream(
      () => headerOf(chain.best),
      (emit) => chain.onNewBlock((block) => emit(headerOf(block))),
    ),
  );
  subscription(
    ['chain_subscribeFinalizedHeads', 'chain_subscribeFinalisedHeads'],
    'chain_finalizedHead',
    ['chain_unsubscribeFinalizedHeads', 'chain_unsubscribeFinalisedHeads'],
    () =>
      stream(
        () => headerOf(chain.finalized),
        (emit) => chain.onFinalized((block) => emit(headerOf(block))),
      ),
  );

  // ------------------------------------------------------------------------------ grandpa
  call(['grandpa_proveFinality'], (params) => {
    noMoreParams(params, 1);
    const proof = chain.finalityProof(numberValue(params[0], 'blockNumber'));
    return proof ? u8aToHex(proof) : null;
  });
  // Every block is final in its own round, in which every authority precommitted.
  call(['grandpa_roundState'], (params) => {
    noMoreParams(params, 0);
    const { total, threshold } = chain.grandpaWeights;
    const votes = { currentWeight: total, missing: [] };
    return {
      setId: chain.grandpa.setId,
      best: {
        round: chain.finalized.number,
        totalWeight: total,
        thresholdWeight: threshold,
        prevotes: votes,
        precommits: votes,
      },
      background: [],
    };
  });
  subscription(
    ['grandpa_subscribeJustifications'],
    'grandpa_justifications',
    ['grandpa_unsubscribeJustifications'],
    (params) => {
      noMoreParams(params, 0);
      return stream(null, (emit) =>
        chain.onFinalized((block) => {
          const justification = chain.justification(block);
          if (justification) emit(u8aToHex(justification));
        }),
      );
    },
  );

  // ------------------------------------------------------------------------------ state
  call(['state_getMetadata'], (params) => {
    noMoreParams(params, 1);
    return withBlock(chain, hashParam(params, 0), () => u8aToHex(runtime.metadata.v14));
  });
  call(['state_getRuntimeVersion', 'chain_getRuntimeVersion'], (params) => {
    noMoreParams(params, 1);
    return withBlock(chain, hashParam(params, 0), () => runtimeVersionJson(runtime.version));
  });
  subscription(
    ['state_subscribeRuntimeVersion', 'chain_subscribeRuntimeVersion'],
    'state_runtimeVersion',
    ['state_unsubscribeRuntimeVersion', 'chain_unsubscribeRuntimeVersion'],
    // One runtime for the life of the chain: the current version, then nothing.
    () =>
      stream(
        () => runtimeVersionJson(runtime.version),
        () => () => {},
      ),
  );
  const storageValue = (key: string, at?: string) =>
    withBlock(chain, at, (block) => {
      const value = chain.state(block).get(key);
      return value ? value : null;
    });
  call(['state_getStorage', 'state_getStorageAt'], (params) => {
    noMoreParams(params, 2);
    const value = storageValue(hexParam(params, 0, 'key')!, hashParam(params, 1));
    return value ? u8aToHex(value) : null;
  });
  call(['state_getStorageHash', 'state_getStorageHashAt'], (params) => {
    noMoreParams(params, 2);
    const value = storageValue(hexParam(params, 0, 'key')!, hashParam(params, 1));
    return value ? u8aToHex(blake2AsU8a(value, 256)) : null;
  });
  call(['state_getStorageSize', 'state_getStorageSizeAt'], (params) => {
    noMoreParams(params, 2);
    const value = storageValue(hexParam(params, 0, 'key')!, hashParam(params, 1));
    return value ? value.length : null;
  });
  call(['state_getKeys'], (params) => {
    noMoreParams(params, 2);
    const prefix = hexParam(params, 0, 'prefix')!;
    return withBlock(chain, hashParam(params, 1), (block) => chain.state(block).keys(prefix, KEYS_LIMIT));
  });
  call(['state_getKeysPaged', 'state_getKeysPagedAt'], (params) => {
    noMoreParams(params, 4);
    const prefix = hexParam(params, 0, 'prefix', { optional: true }) ?? '0x';
    const count = numberValue(params[1], 'count');
    if (count > MAX_KEYS_PAGED) throw RpcErrors.invalidCount(count, MAX_KEYS_PAGED);
    const startKey = hexParam(params, 2, 'startKey', { optional: true });
    return withBlock(chain, hashParam(params, 3), (block) =>
      chain.state(block).keys(prefix, count, startKey && startKey > prefix ? startKey : undefined),
    );
  });
  const keysParam = (params: unknown[], index: number) =>
    (arrayParam(params, index, 'keys', { max: MAX_STORAGE_KEYS }) ?? []).map(
      (_, i, all) => hexParam(all, i, `keys[${i}]`)!,
    );
  call(['state_getReadProof'], (params) => {
    noMoreParams(params, 2);
    const keys = keysParam(params, 0);
    return withBlock(chain, hashParam(params, 1), (block) => ({
      at: block.hashHex,
      proof: chain.readProof(keys, block).map((node) => u8aToHex(node)),
    }));
  });
  call(['state_queryStorageAt'], (params) => {
    noMoreParams(params, 2);
    const keys = keysParam(params, 0);
    return withBlock(chain, hashParam(params, 1), (block) => {
      const state = chain.state(block);
      return [
        {
          block: block.hashHex,
          changes: keys.map((k) => {
            const v = state.get(k);
            return [k, v ? u8aToHex(v) : null];
          }),
        },
      ];
    });
  });
  // Keys × blocks reads: the cost budget bounds it, and it gives the event loop back between
  // blocks once a slice is used, so other calls are answered meanwhile.
  call(['state_queryStorage'], async (params) => {
    noMoreParams(params, 3);
    const keys = keysParam(params, 0);
    const from = withBlock(chain, hashParam(params, 1, 'fromBlock'), (b) => b);
    const to = withBlock(chain, hashParam(params, 2, 'toBlock'), (b) => b);
    if (from.number > to.number)
      throw RpcErrors.invalidBlockRange(`from ${from.number} is after to ${to.number}`);
    if (to.number - from.number > 1000) throw RpcErrors.invalidBlockRange('at most 1000 blocks');
    const out: { block: string; changes: [string, string | null][] }[] = [];
    let previous = new Map<string, string | null>();
    for (let n = from.number; n <= to.number; n++) {
      await work.pause();
      const block = chain.blockByNumber(n);
      if (!block) throw RpcErrors.client(`UnknownBlock: block ${n} is gone`);
      const state = chain.state(block);
      const changes: [string, string | null][] = [];
      const current = new Map<string, string | null>();
      for (const k of keys) {
        const v = state.get(k);
        const hex = v ? u8aToHex(v) : null;
        current.set(k, hex);
        if (n === from.number || previous.get(k) !== hex) changes.push([k, hex]);
      }
      previous = current;
      if (changes.length || n === from.number) out.push({ block: block.hashHex, changes });
    }
    return out;
  });
  subscription(['state_subscribeStorage'], 'state_storage', ['state_unsubscribeStorage'], (params) => {
    noMoreParams(params, 1);
    const keys = params[0] === undefined || params[0] === null ? null : keysParam(params, 0);
    const watched = keys ? new Set(keys) : null;
    return stream(
      keys
        ? () => {
            const state = chain.state();
            return {
              block: chain.best.hashHex,
              changes: keys.map((k) => {
                const v = state.get(k);
                return [k, v ? u8aToHex(v) : null];
              }),
            };
          }
        : null,
      (emit) =>
        chain.onNewBlock((block, _events, changes) => {
          const out: [string, string | null][] = [];
          for (const [k, v] of changes) {
            if (!watched || watched.has(k)) out.push([k, v ? u8aToHex(v) : null]);
          }
          if (out.length) emit({ block: block.hashHex, changes: out });
        }),
    );
  });
  call(['state_call', 'state_callAt'], (params) => {
    noMoreParams(params, 3);
    const method = stringParam(params, 0, 'method');
    const data = bytesParam(params, 1, 'data', { max: MAX_EXTRINSIC_BYTES });
    return withBlock(chain, hashParam(params, 2), (block) => {
      try {
        return u8aToHex(chain.callApi(method, data, block));
      } catch (error) {
        if (error instanceof RuntimeApiError) throw RpcErrors.client(`Execution failed: ${error.message}`);
        if (error instanceof RpcError) throw error;
        throw RpcErrors.client(`Execution failed: ${errorMessage(error)}`);
      }
    });
  });

  // ------------------------------------------------------------------------------ author
  call(['author_submitExtrinsic'], (params) => {
    noMoreParams(params, 1);
    const bytes = bytesParam(params, 0, 'extrinsic', { max: MAX_EXTRINSIC_BYTES });
    try {
      return chain.submit(bytes).hash;
    } catch (error) {
      return submitError(error);
    }
  });
  subscription(
    ['author_submitAndWatchExtrinsic'],
    'author_extrinsicUpdate',
    ['author_unwatchExtrinsic'],
    (params) => {
      noMoreParams(params, 1);
      const bytes = bytesParam(params, 0, 'extrinsic', { max: MAX_EXTRINSIC_BYTES });
      // Statuses may come before the subscription id is sent; they wait here until start().
      const buffered: TxStatus[] = [];
      let emit: Emit | null = null;
      let done = false;
      const deliver = (status: TxStatus) => {
        if (done) return;
        const final =
          typeof status === 'object'
            ? 'finalized' in status || 'usurped' in status
            : status === 'invalid' || status === 'dropped';
        if (final) done = true;
        emit?.(status, { final });
      };
      const watcher = (status: TxStatus) => {
        if (emit) deliver(status);
        else buffered.push(status);
      };
      let submitted: { hash: string; status: 'ready' | 'future' };
      try {
        submitted = chain.submit(bytes, watcher);
      } catch (error) {
        return submitError(error);
      }
      buffered.unshift(submitted.status);
      return {
        start(e) {
          emit = e;
          for (const status of buffered.splice(0)) deliver(status);
        },
        stop() {
          done = true;
          chain.pool.get(submitted.hash)?.watchers.delete(watcher);
        },
      };
    },
  );
  // The new JSON-RPC spec's transaction watching, which says why a transaction failed.
  subscription(
    ['transactionWatch_v1_submitAndWatch'],
    'transactionWatch_v1_watchEvent',
    ['transactionWatch_v1_unwatch'],
    (params) => {
      noMoreParams(params, 1);
      const bytes = bytesParam(params, 0, 'transaction', { max: MAX_EXTRINSIC_BYTES });
      const buffered: unknown[] = [];
      let emit: Emit | null = null;
      let done = false;
      const send = (event: Record<string, unknown>) => {
        if (done) return;
        const final = ['finalized', 'invalid', 'dropped', 'error'].includes(event.event as string);
        if (final) done = true;
        if (emit) emit(event, { final });
        else buffered.push(event);
      };
      const watcher = (status: TxStatus, detail?: TxStatusDetail) => {
        if (status === 'ready' || status === 'future') return;
        if (status === 'invalid') send({ event: 'invalid', error: detail?.reason ?? 'invalid' });
        else if (status === 'dropped') send({ event: 'dropped', error: detail?.reason ?? 'dropped' });
        else if ('inBlock' in status)
          send({
            event: 'bestChainBlockIncluded',
            block: { hash: status.inBlock, index: detail?.index ?? 0 },
          });
        else if ('finalized' in status)
          send({ event: 'finalized', block: { hash: status.finalized, index: detail?.index ?? 0 } });
        else if ('usurped' in status) send({ event: 'dropped', error: detail?.reason ?? 'usurped' });
      };
      let hash: string | null = null;
      try {
        hash = chain.submit(bytes, watcher).hash;
        send({ event: 'validated' });
      } catch (error) {
        // An invalid transaction is an event of the subscription, not an RPC error, in this API.
        const reason = error instanceof SubmitError ? (error.data ?? error.message) : errorMessage(error);
        send({ event: 'invalid', error: String(reason) });
      }
      return {
        start(e) {
          emit = e;
          for (const event of buffered.splice(0)) {
            const final = ['finalized', 'invalid', 'dropped', 'error'].includes(
              (event as { event: string }).event,
            );
            e(event, { final });
          }
        },
        stop() {
          done = true;
          if (hash) chain.pool.get(hash)?.watchers.delete(watcher);
        },
      };
    },
  );
  let broadcasts = 0;
  call(['transaction_v1_broadcast'], (params) => {
    noMoreParams(params, 1);
    const bytes = bytesParam(params, 0, 'transaction', { max: MAX_EXTRINSIC_BYTES });
    try {
      chain.submit(bytes);
    } catch {
      // Broadcast is fire and forget: an invalid transaction is simply not propagated.
    }
    broadcasts++;
    return `broadcast-${broadcasts}`;
  });
  call(['transaction_v1_stop'], (params) => {
    noMoreParams(params, 1);
    stringParam(params, 0, 'operationId');
    return null;
  });
  call(['author_pendingExtrinsics'], (params) => {
    noMoreParams(params, 0);
    return chain.pool.all().map((tx) => u8aToHex(tx.bytes));
  });

  // ------------------------------------------------------------------------------ payment
  const paymentCall = (method: string, params: unknown[]) => {
    noMoreParams(params, 2);
    const ext = bytesParam(params, 0, 'extrinsic', { max: MAX_EXTRINSIC_BYTES });
    return withBlock(chain, hashParam(params, 1), (block) => {
      // The runtime API takes the opaque extrinsic (its encoding is the same bytes) and a length.
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, ext.length, true);
      const input = new Uint8Array(ext.length + 4);
      input.set(ext);
      input.set(len, ext.length);
      try {
        return chain.callApi(method, input, block);
      } catch (error) {
        throw RpcErrors.client(`Execution failed: ${errorMessage(error)}`);
      }
    });
  };
  call(['payment_queryInfo'], (params) => {
    const out = paymentCall('TransactionPaymentApi_query_info', params);
    const info = runtime.codec.decode(RuntimeDispatchInfo, out);
    // Substrate's RPC keeps the V1 shape (weight as the ref time only); polkadot-js expects it.
    return {
      weight: Number(info.weight.refTime),
      class: info.class.tag.toLowerCase(),
      partialFee: info.partialFee.toString(),
    };
  });
  call(['payment_queryFeeDetails'], (params) => {
    const out = paymentCall('TransactionPaymentApi_query_fee_details', params);
    const details = runtime.codec.decode(FeeDetailsTy, out);
    const fee = details.inclusionFee;
    return {
      inclusionFee: fee
        ? {
            baseFee: fee.baseFee.toString(),
            lenFee: fee.lenFee.toString(),
            adjustedWeightFee: fee.adjustedWeightFee.toString(),
          }
        : null,
      tip: details.tip.toString(),
    };
  });

  // ------------------------------------------------------------------------------ dev (test helpers)
  if (dev) {
    call(['dev_newBlock'], async (params) => {
      noMoreParams(params, 1);
      const options = (params[0] ?? {}) as { count?: unknown };
      const count = options.count === undefined ? 1 : numberValue(options.count, 'count');
      if (count < 1 || count > 1000) throw RpcErrors.invalidParams('count: 1..1000');
      let last = chain.best;
      for (let i = 0; i < count; i++) last = await chain.produceBlock();
      return last.hashHex;
    });
    call(['dev_timeTravel'], (params) => {
      noMoreParams(params, 1);
      const value = params[0];
      const ms =
        typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : Number.NaN;
      if (!Number.isFinite(ms))
        throw RpcErrors.invalidParams('date: expected a timestamp in ms or a date string');
      chain.setNextTimestamp(ms);
      return ms;
    });
    call(['dev_setFinalityLag'], (params) => {
      noMoreParams(params, 1);
      const lag = optionalNumber(params, 0, 'lag') ?? 0;
      chain.setFinalityLag(lag);
      return lag;
    });
  }

  // dev_* stay callable but unlisted, so polkadot-js does not warn about undecorated methods.
  call(['rpc_methods'], () => ({
    version: 1,
    methods: [...methods.keys(), ...unsubscribeNames(methods)].filter((m) => !m.startsWith('dev_')).sort(),
  }));
  return methods;
}

function unsubscribeNames(methods: Map<string, MethodDef>): string[] {
  const names = new Set<string>();
  for (const m of methods.values()) if (m.kind === 'subscribe') for (const u of m.unsubscribe) names.add(u);
  return [...names];
}

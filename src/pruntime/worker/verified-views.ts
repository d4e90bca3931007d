import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import {
  committedRequestStorageKey,
  contractStateStorageKey,
  decodeProvenCommittedRequest,
  decodeProvenContractState,
} from '../../phala/proven-storage.js';
import type { FinalizedStateReader } from './state-commit-gate.js';
import type { WorkerTrustConfig } from '../../config/schema.js';
import { EvmStateVerifier } from '../../evm/proofs/state-reader.js';
import type { Logger } from '../../log/logger.js';
import { WsProvider } from '@polkadot/api';
import { getAddress } from 'viem';
import { SubstrateLightClient } from '../../phala/light-client/client.js';
import type { VerifiedEvmView, VerifiedPhalaView } from './request-on-chain.js';

/**
 * The worker's verified views of the chains it answers (docs/ARCHITECTURE.md#trust-model), built
 * from `worker.trust` alone: a GRANDPA light client of the Phala-style chain, fed by the worker's
 * node connection but trusting none of its answers, and per EVM chain a reader of storage proofs
 * against headers a quorum of the worker's own endpoints agrees on.
 */

export type VerifiedViews = {
  phala: VerifiedPhalaView & { client: SubstrateLightClient };
  /** `ContractStates` at the latest verified finalized block: what the state commit gate waits on. */
  finalizedState: FinalizedStateReader;
  evm: ReadonlyMap<number, VerifiedEvmView & { verifier: EvmStateVerifier }>;
  /** Per-request cost of the checks, for the bench and `GET /info`. */
  stats(): VerifiedViewStats;
  close(): Promise<void>;
};

export type VerifiedViewStats = {
  phalaSyncs: number;
  phalaReadProofs: number;
  phalaKeysRead: number;
  evmQuorumRounds: number;
  /** JSON-RPC requests the EVM quorum sent (chain ids, heads, headers) plus eth_getProof reads. */
  evmRpcRequests: number;
  evmProofReads: number;
};

export type StartVerifiedViewsParameters = {
  trust: WorkerTrustConfig;
  /** The Phala-style node to read from (its answers are verified, never trusted). */
  wsUrl: string;
  logger: Logger;
  /** A head older than this is synced again before a read (default 1 s). */
  maxHeadAgeMs?: number;
  /** How long reads wait to share one read proof (default 2 ms). */
  readLingerMs?: number;
};

export async function startVerifiedViews(p: StartVerifiedViewsParameters): Promise<VerifiedViews> {
  // Its own connection to the node, used as a bare JSON-RPC transport: every answer is verified
  // by the light client (polkadot-js' decorated calls would decode with the node's metadata).
  const provider = new WsProvider(p.wsUrl, 1_000, {}, 10_000);
  await provider.isReady;
  const light = new SubstrateLightClient(
    {
      genesisHash: p.trust.phala.genesisHash as Hex,
      setId: p.trust.phala.setId,
      authorities: p.trust.phala.authorities.map((a) => ({ id: a.id as Hex, weight: a.weight })),
    },
    { request: (method, params) => provider.send(method, params) },
  );
  const stats: VerifiedViewStats = {
    phalaSyncs: 0,
    phalaReadProofs: 0,
    phalaKeysRead: 0,
    evmQuorumRounds: 0,
    evmRpcRequests: 0,
    evmProofReads: 0,
  };
  const head = await light.sync();
  stats.phalaSyncs++;
  p.logger.info({ finalized: head.number, hash: head.hash }, 'light client synced to the finalized head');

  const maxAge = p.maxHeadAgeMs ?? 1_000;
  let syncedAt = Date.now();
  const reads = new BatchedReads(light, p.readLingerMs ?? 2, stats);
  const phala: VerifiedViews['phala'] = {
    client: light,
    async head(minBlock) {
      const current = light.finalized;
      if (current && current.number >= minBlock && Date.now() - syncedAt < maxAge) return current;
      const synced = await light.sync();
      syncedAt = Date.now();
      stats.phalaSyncs++;
      return synced;
    },
    read: (keys, at) => reads.read(keys, at),
  };

  const evm = new Map<number, VerifiedEvmView & { verifier: EvmStateVerifier }>();
  for (const chain of p.trust.evm) {
    const verifier = new EvmStateVerifier({
      chainId: chain.chainId,
      endpoints: chain.endpoints,
      quorum: chain.quorum,
      depth: chain.depth,
      development: chain.quorum < 2,
    });
    evm.set(chain.chainId, {
      verifier,
      async readSlots(address, slots, atLeast) {
        const { header, values } = await verifier.readSlots(
          getAddress(address),
          slots,
          atLeast === undefined ? undefined : BigInt(atLeast),
        );
        return { blockNumber: Number(header.number), values };
      },
    });
  }

  const finalizedState: FinalizedStateReader = {
    async contractState(contractId) {
      const head = await phala.head(Number.MAX_SAFE_INTEGER);
      const key = contractStateStorageKey(fromHex(contractId, 'contractId', 32));
      const value = (await phala.read([key], head.hash)).get(toHex(key).toLowerCase() as Hex) ?? null;
      if (!value) return null;
      const state = decodeProvenContractState(value);
      return { version: state.version, stateRoot: state.stateRoot.toLowerCase() as Hex };
    },
    async committedRequest(requestId) {
      const head = await phala.head(Number.MAX_SAFE_INTEGER);
      const key = committedRequestStorageKey(fromHex(requestId, 'requestId', 32));
      const value = (await phala.read([key], head.hash)).get(toHex(key).toLowerCase() as Hex) ?? null;
      return value ? decodeProvenCommittedRequest(value) : null;
    },
  };

  return {
    phala,
    finalizedState,
    evm,
    stats: () => {
      const out = { ...stats, evmQuorumRounds: 0, evmRpcRequests: 0, evmProofReads: 0 };
      for (const view of evm.values()) {
        const s = view.verifier.stats;
        out.evmQuorumRounds += s.quorumRounds;
        out.evmProofReads += s.proofReads;
        out.evmRpcRequests += s.rpcRequests + s.proofReads;
      }
      return out;
    },
    async close() {
      await provider.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Reads asked for within `lingerMs` at the same block share one `state_getReadProof`: a burst of
 * requests costs one proof, not one each. Written here because it is a few lines over the light
 * client's own batch read (no queueing library fits a per-block key merge).
 */
class BatchedReads {
  readonly #pending = new Map<
    Hex,
    {
      keys: Map<Hex, Uint8Array>;
      waiters: { resolve(v: Map<Hex, Uint8Array | null>): void; reject(e: unknown): void }[];
    }
  >();

  constructor(
    private readonly light: SubstrateLightClient,
    private readonly lingerMs: number,
    private readonly stats: VerifiedViewStats,
  ) {}

  read(keys: Uint8Array[], at: Hex): Promise<Map<Hex, Uint8Array | null>> {
    return new Promise((resolve, reject) => {
      let batch = this.#pending.get(at);
      if (!batch) {
        batch = { keys: new Map(), waiters: [] };
        this.#pending.set(at, batch);
        setTimeout(() => void this.#flush(at), this.lingerMs);
      }
      for (const key of keys) batch.keys.set(toHex(key).toLowerCase() as Hex, key);
      batch.waiters.push({ resolve, reject });
    });
  }

  async #flush(at: Hex): Promise<void> {
    const batch = this.#pending.get(at);
    if (!batch) return;
    this.#pending.delete(at);
    try {
      const keys = [...batch.keys.values()];
      this.stats.phalaReadProofs++;
      this.stats.phalaKeysRead += keys.length;
      const values = await this.light.readStorage(keys, at);
      const normalised = new Map<Hex, Uint8Array | null>();
      for (const [key, value] of values) normalised.set(key.toLowerCase() as Hex, value);
      for (const waiter of batch.waiters) waiter.resolve(normalised);
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error);
    }
  }
}

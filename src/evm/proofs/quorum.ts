import type { Hex, PublicClient } from 'viem';
import { numberToHex } from 'viem';
import { z } from 'zod';
import { errorMessage } from '../../base/errors.js';
import {
  ChainIdMismatchError,
  EvmVerifierConfigError,
  HeaderHashMismatchError,
  InsufficientDepthError,
  type QuorumAnswer,
  QuorumNotReachedError,
  describeAnswer,
} from './errors.js';
import { type EvmBlockHeader, computeHeaderHash, parseEvmBlock, quantitySchema } from './header.js';
import { type EvmEndpoint, toEndpoint } from './rpc.js';

/** A block header that `quorum` endpoints agreed on and whose RLP hashes to the agreed hash. */
export type VerifiedEvmHeader = {
  chainId: number;
  number: bigint;
  hash: Hex;
  stateRoot: Hex;
  timestamp: bigint;
};

export type EvmHeaderQuorumOptions = {
  chainId: number;
  /** RPC URLs or viem public clients; none is trusted alone. */
  endpoints: readonly (string | PublicClient)[];
  /** How many endpoints must report the same header (k of n). */
  quorum: number;
  /** Confirmations: the verified block is this many blocks below the agreed head. */
  depth: number;
  /** Allows a single endpoint / quorum of 1 (a development chain, nothing at stake). */
  development?: boolean;
  /** Per RPC call; an endpoint slower than this counts as not agreeing. Default 5 s. */
  timeoutMs?: number;
  /** How long `latest()` reuses the last verified header. Default 1 s. */
  maxAgeMs?: number;
  /** How many verified headers are kept by number. Default 64. */
  cacheSize?: number;
};

/** Counters for benches and metrics: how many RPC reads verification costs. */
export type EvmQuorumStats = {
  /** Rounds run (each asks every endpoint for its head). */
  quorumRounds: number;
  /** Rounds whose block was verified before, so no headers were fetched. */
  headerCacheHits: number;
  /** `latest()` calls answered by a header verified less than maxAgeMs ago or by a round in flight. */
  latestReuses: number;
  /** JSON-RPC requests sent by the quorum (chain ids, heads, headers). */
  rpcRequests: number;
};

/** Refuses quorum parameters that would let one endpoint decide, unless `development` is set. */
export function checkQuorumParameters(endpoints: number, quorum: number, development: boolean): void {
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > endpoints) {
    throw new EvmVerifierConfigError(`quorum must be between 1 and the ${endpoints} endpoints`, {
      details: `quorum ${quorum}`,
    });
  }
  if (!development && quorum < 2) {
    throw new EvmVerifierConfigError(
      'a quorum of one endpoint trusts that endpoint; allowed only in development',
      {
        details: `${endpoints} endpoint(s), quorum ${quorum}`,
      },
    );
  }
}

type ChainIdState = { state: 'unknown' } | { state: 'ok' } | { state: 'mismatch'; chainId: number };

const chainIdAnswer = quantitySchema.transform((v) => Number(v));

/**
 * Block headers that k of n untrusted RPC endpoints agree on, each recomputed from its RLP.
 *
 * The block chosen is `depth` below the k-th highest head reported (rather than the lowest): at
 * least k endpoints claim to have it, and fewer than k liars can neither pull it back to an old
 * block by reporting a low head nor past the honest heads by reporting a high one.
 */
export class EvmHeaderQuorum {
  readonly chainId: number;
  readonly quorum: number;
  readonly depth: number;
  readonly stats: EvmQuorumStats = { quorumRounds: 0, headerCacheHits: 0, latestReuses: 0, rpcRequests: 0 };
  readonly endpoints: readonly EvmEndpoint[];
  readonly #maxAgeMs: number;
  readonly #cacheSize: number;
  readonly #chainIds: ChainIdState[];
  // Verified headers by number, oldest evicted first. BoundedCache cannot be asked without
  // inserting, and a miss here must not insert, so this is a plain Map kept to size.
  readonly #byNumber = new Map<bigint, VerifiedEvmHeader>();
  #latest: { header: VerifiedEvmHeader; at: number } | undefined;
  #inflight: Promise<VerifiedEvmHeader> | undefined;

  constructor(options: EvmHeaderQuorumOptions) {
    const timeoutMs = options.timeoutMs ?? 5_000;
    checkQuorumParameters(options.endpoints.length, options.quorum, options.development ?? false);
    if (!Number.isInteger(options.depth) || options.depth < 0) {
      throw new EvmVerifierConfigError('depth must be a whole number of blocks', {
        details: `${options.depth}`,
      });
    }
    this.chainId = options.chainId;
    this.quorum = options.quorum;
    this.depth = options.depth;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#cacheSize = Math.max(1, options.cacheSize ?? 64);
    this.endpoints = options.endpoints.map((e, i) => toEndpoint(e, i, timeoutMs));
    this.#chainIds = this.endpoints.map(() => ({ state: 'unknown' }));
  }

  /**
   * The newest verified header, reused for maxAgeMs; concurrent callers share one round. With
   * `atLeast` (a block a caller was told of, e.g. where a request was seen), a kept header older
   * than it is not reused: one fresh round is run (or joined) instead. The hint only decides
   * whether to ask again, never what is believed, so a false one costs one round.
   */
  async latest(atLeast?: bigint): Promise<VerifiedEvmHeader> {
    const enough = (h: VerifiedEvmHeader) => atLeast === undefined || h.number >= atLeast;
    if (this.#latest && Date.now() - this.#latest.at < this.#maxAgeMs && enough(this.#latest.header)) {
      this.stats.latestReuses++;
      return this.#latest.header;
    }
    if (this.#inflight) {
      this.stats.latestReuses++;
      const joined = await this.#inflight;
      // A round begun before the hinted block existed may end below it: one more, shared.
      if (enough(joined)) return joined;
    }
    this.#inflight ??= this.round().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** A header verified earlier by this quorum, if still kept. */
  verified(number: bigint): VerifiedEvmHeader | undefined {
    return this.#byNumber.get(number);
  }

  /** Runs one quorum round now (no reuse of the latest header). */
  async round(): Promise<VerifiedEvmHeader> {
    this.stats.quorumRounds++;
    const heads = await Promise.all(this.endpoints.map((e, i) => this.#head(e, i)));
    const mismatched = this.endpoints.flatMap((e, i) => {
      const s = this.#chainIds[i] as ChainIdState;
      return s.state === 'mismatch' ? [{ endpoint: e.label, chainId: s.chainId }] : [];
    });
    if (this.endpoints.length - mismatched.length < this.quorum) {
      throw new ChainIdMismatchError(this.chainId, mismatched);
    }
    const reported = heads.filter((h): h is bigint => typeof h === 'bigint').sort((a, b) => (a > b ? -1 : 1));
    const kthHead = reported[this.quorum - 1];
    if (kthHead === undefined) {
      throw new QuorumNotReachedError(
        null,
        this.quorum,
        this.endpoints.map((e, i) => {
          const h = heads[i];
          return typeof h === 'bigint'
            ? { endpoint: e.label, head: h }
            : { endpoint: e.label, error: String(h) };
        }),
      );
    }
    const target = kthHead - BigInt(this.depth);
    if (target < 0n) {
      throw new InsufficientDepthError(`chain head ${kthHead} is not yet ${this.depth} blocks deep`);
    }
    const known = this.#byNumber.get(target);
    if (known) {
      this.stats.headerCacheHits++;
      return this.#remember(known);
    }
    return this.#remember(await this.#agree(target));
  }

  /** The endpoint's head, after checking its chain id once; an error text when it cannot be used. */
  async #head(endpoint: EvmEndpoint, index: number): Promise<bigint | string> {
    const state = this.#chainIds[index] as ChainIdState;
    if (state.state === 'mismatch') return `serves chain ${state.chainId}`;
    try {
      if (state.state === 'unknown') {
        this.stats.rpcRequests++;
        const chainId = chainIdAnswer.parse(await endpoint.request('eth_chainId', []));
        this.#chainIds[index] = chainId === this.chainId ? { state: 'ok' } : { state: 'mismatch', chainId };
        if (chainId !== this.chainId) return `serves chain ${chainId}`;
      }
      this.stats.rpcRequests++;
      return quantitySchema.parse(await endpoint.request('eth_blockNumber', []));
    } catch (error) {
      return error instanceof z.ZodError ? 'malformed answer' : errorMessage(error);
    }
  }

  /** Asks every usable endpoint for block `target` and accepts the one hash k of them back with a valid header. */
  async #agree(target: bigint): Promise<VerifiedEvmHeader> {
    const usable = this.endpoints.filter((_, i) => (this.#chainIds[i] as ChainIdState).state === 'ok');
    const answers = await Promise.all(
      usable.map(
        async (endpoint): Promise<{ answer: QuorumAnswer; header?: EvmBlockHeader; computed?: Hex }> => {
          try {
            this.stats.rpcRequests++;
            const header = parseEvmBlock(
              await endpoint.request('eth_getBlockByNumber', [numberToHex(target), false]),
            );
            if (header.number !== target) {
              return { answer: { endpoint: endpoint.label, error: `answered block ${header.number}` } };
            }
            const computed = computeHeaderHash(header);
            return {
              answer: { endpoint: endpoint.label, hash: header.hash, valid: computed === header.hash },
              header,
              computed,
            };
          } catch (error) {
            return { answer: { endpoint: endpoint.label, error: errorMessage(error) } };
          }
        },
      ),
    );
    const claims = new Map<Hex, { valid: EvmBlockHeader[]; invalid: Hex[] }>();
    for (const { answer, header, computed } of answers) {
      if (!header || !answer.hash || !computed) continue;
      const group = claims.get(answer.hash) ?? { valid: [], invalid: [] };
      if (answer.valid) group.valid.push(header);
      else group.invalid.push(computed);
      claims.set(answer.hash, group);
    }
    const agreed = [...claims.values()].filter((g) => g.valid.length >= this.quorum);
    const seen = answers.map((a) => a.answer);
    // Two disjoint groups of k (possible when k <= n/2) leave nothing to choose: refuse.
    if (agreed.length !== 1) {
      for (const [hash, g] of claims) {
        if (g.valid.length < this.quorum && g.valid.length + g.invalid.length >= this.quorum) {
          throw new HeaderHashMismatchError(hash, g.invalid[0] as Hex, {
            details: `block ${target}: ${g.invalid.length} of the ${g.valid.length + g.invalid.length} endpoints reporting ${hash} sent a header that hashes otherwise`,
            metaMessages: seen.map(describeAnswer),
          });
        }
      }
      throw new QuorumNotReachedError(target, this.quorum, seen);
    }
    const header = (agreed[0] as { valid: EvmBlockHeader[] }).valid[0] as EvmBlockHeader;
    return {
      chainId: this.chainId,
      number: header.number,
      hash: header.hash,
      stateRoot: header.stateRoot,
      timestamp: header.timestamp,
    };
  }

  #remember(header: VerifiedEvmHeader): VerifiedEvmHeader {
    if (!this.#byNumber.has(header.number)) {
      if (this.#byNumber.size >= this.#cacheSize)
        this.#byNumber.delete(this.#byNumber.keys().next().value as bigint);
      this.#byNumber.set(header.number, header);
    }
    if (!this.#latest || header.number >= this.#latest.header.number)
      this.#latest = { header, at: Date.now() };
    return header;
  }
}

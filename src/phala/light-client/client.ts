import { z } from 'zod';
import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { type PollUntilParameters, pollUntil } from '../../base/poll.js';
import { type LightClientConfig, type LightClientConfigInput, lightClientConfigSchema } from './config.js';
import { LightClientError } from './errors.js';
import {
  type Authority,
  GRANDPA_ENGINE_ID,
  type Header,
  authoritySetChangeOf,
  headerFromJson,
} from './header.js';
import { decodeFinalityProof, verifyJustification } from './justification.js';
import {
  type RpcTransport,
  hashSchema,
  optionalBytesSchema,
  optionalHashSchema,
  optionalHeaderSchema,
  readProofSchema,
  rpcCall,
  signedBlockSchema,
  transportFromProvider,
} from './rpc.js';
import { verifyReadProof } from './trie-proof.js';

/** A header the client has verified as finalized (or pinned). */
export type VerifiedHeader = {
  number: number;
  hash: Hex;
  parentHash: Hex;
  stateRoot: Hex;
  extrinsicsRoot: Hex;
};

export type AuthoritySet = { setId: bigint; authorities: readonly Authority[] };

/** A scheduled change seen in a finalized header, enacted once block `enactAt` is finalized. */
type PendingChange = { enactAt: number; authorities: Authority[]; signalledAt: number };

const verified = (h: Header): VerifiedHeader => ({
  number: h.number,
  hash: h.hash,
  parentHash: h.parentHash,
  stateRoot: h.stateRoot,
  extrinsicsRoot: h.extrinsicsRoot,
});

/** Substrate answers at most this many numbers in one `chain_getBlockHash` list. */
const HASH_BATCH = 1000;

/**
 * Follows the finalized chain of a Substrate (GRANDPA) chain through an untrusted RPC node, the
 * way Phala's pRuntime does with what pherry feeds it: from a pinned genesis (or checkpoint) and
 * authority set, each new finalized block is accepted only with a GRANDPA justification of the set
 * in force and an unbroken parent-hash chain back to the last verified block; scheduled authority
 * set changes announced in those headers are enacted when their block is finalized (forced changes
 * are refused). Storage is read with `state_getReadProof` at a verified block and checked against
 * its state root.
 */
export class SubstrateLightClient {
  readonly config: LightClientConfig;
  readonly #rpc: RpcTransport;
  #finalized: VerifiedHeader | null = null;
  #set: AuthoritySet;
  #pending: PendingChange | null = null;
  /** Verified headers by hash, oldest first (insertion order), at most `headerCacheSize`. */
  readonly #headers = new Map<Hex, VerifiedHeader>();
  #syncing: Promise<VerifiedHeader> | null = null;

  constructor(config: LightClientConfigInput, rpc: RpcTransport) {
    this.config = lightClientConfigSchema.parse(config);
    this.#rpc = rpc;
    this.#set = { setId: this.config.setId, authorities: this.config.authorities };
  }

  /**
   * A client over a polkadot-js provider (`WsProvider`, `HttpProvider`: the one an `ApiPromise` was
   * created with, or its own), used as a bare JSON-RPC transport; none of its answers is trusted.
   */
  static fromProvider(
    config: LightClientConfigInput,
    provider: { send(method: string, params: unknown[]): Promise<unknown> },
  ): SubstrateLightClient {
    return new SubstrateLightClient(config, transportFromProvider(provider));
  }

  /** The latest verified finalized header; null before the first `sync()`. */
  get finalized(): VerifiedHeader | null {
    return this.#finalized;
  }

  get authoritySet(): AuthoritySet {
    return this.#set;
  }

  /** A verified finalized header still in the cache. */
  header(hash: Hex): VerifiedHeader | undefined {
    return this.#headers.get(hash.toLowerCase() as Hex);
  }

  /** Brings the client up to the node's finalized head; concurrent calls share one run. */
  sync(): Promise<VerifiedHeader> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  /** Syncs until block `number` is verified final; errors count as "not yet" until the timeout. */
  waitFinalized(number: number, p: Partial<PollUntilParameters> = {}): Promise<VerifiedHeader> {
    return pollUntil(
      async () => {
        const head =
          this.#finalized && this.#finalized.number >= number ? this.#finalized : await this.sync();
        return head.number >= number ? head : null;
      },
      { label: `finalized block ${number}`, intervalMs: 500, ...p },
    );
  }

  /**
   * Reads `keys` (full storage keys) with one read proof at verified block `at` (default: the
   * latest finalized one), each to its value or null (proven absent), by the key's 0x-hex.
   */
  async readStorage(keys: readonly Uint8Array[], at?: Hex): Promise<Map<Hex, Uint8Array | null>> {
    const header = at === undefined ? (this.#finalized ?? (await this.sync())) : this.header(at);
    if (!header) {
      throw new LightClientError('not-verified', 'Storage can be read only at a verified finalized block.', {
        details: `${at} is not among the ${this.#headers.size} verified headers kept`,
      });
    }
    const answer = await rpcCall(
      this.#rpc,
      'state_getReadProof',
      [keys.map((k) => toHex(k)), header.hash],
      readProofSchema,
    );
    if (answer.at !== header.hash) {
      throw new LightClientError('rpc-answer', 'The node answered with a read proof at another block.', {
        details: `asked ${header.hash}, got ${answer.at}`,
      });
    }
    return verifyReadProof({
      stateRoot: header.stateRoot,
      proof: answer.proof.map((node, i) => fromHex(node, `proof[${i}]`)),
      keys,
    });
  }

  /** One key's value (null when proven absent). */
  async readStorageValue(key: Uint8Array, at?: Hex): Promise<Uint8Array | null> {
    return (await this.readStorage([key], at)).get(toHex(key)) ?? null;
  }

  async #sync(): Promise<VerifiedHeader> {
    const base = this.#finalized ?? (await this.#start());
    const headHash = await rpcCall(this.#rpc, 'chain_getFinalizedHead', [], hashSchema);
    if (this.#headers.has(headHash)) return base;
    const head = await this.#header(headHash);
    if (head.number <= base.number) return base;

    const finality = await this.#finalityFor(head, base);
    const chain = await this.#chainBetween(base, finality.target, finality.known);

    // Walk the new blocks in order: a scheduled change enacted at block n needs n justified by
    // the old set, and everything after by the new one (set id + 1).
    let set = this.#set;
    let pending = this.#pending;
    let from = 0;
    for (const [i, h] of chain.entries()) {
      const change = authoritySetChangeOf(h);
      if (change) {
        if (pending) {
          throw new LightClientError(
            'authority-set-change-unsupported',
            'A GRANDPA authority set change is announced while another is pending.',
            { details: `block ${h.number} (${h.hash}); the pending one is enacted at ${pending.enactAt}` },
          );
        }
        pending = { ...change, signalledAt: h.number };
      }
      if (pending?.enactAt === h.number) {
        const justification =
          h === finality.target ? finality.justification : await this.#justificationFor(h);
        verifyJustification({
          justification,
          ...set,
          expectedHash: h.hash,
          expectedNumber: h.number,
        });
        set = { setId: set.setId + 1n, authorities: pending.authorities };
        pending = null;
        this.#accept(chain.slice(from, i + 1), set, pending);
        from = i + 1;
      }
    }
    if (from < chain.length) {
      verifyJustification({
        justification: finality.justification,
        ...set,
        expectedHash: finality.target.hash,
        expectedNumber: finality.target.number,
      });
      this.#accept(chain.slice(from), set, pending);
    }
    return this.#finalized ?? base;
  }

  /** The pinned block, checked against what the node serves: genesis, or the configured checkpoint. */
  async #start(): Promise<VerifiedHeader> {
    const { genesisHash, checkpoint } = this.config;
    const served = await rpcCall(this.#rpc, 'chain_getBlockHash', [0], optionalHashSchema);
    if (served !== genesisHash) {
      throw new LightClientError('genesis-mismatch', 'The node serves another chain.', {
        details: `its genesis is ${served}, pinned ${genesisHash}`,
      });
    }
    const pinned = await this.#header(checkpoint ?? genesisHash);
    if (!checkpoint && pinned.number !== 0) {
      throw new LightClientError('genesis-mismatch', 'The pinned genesis hash is not block 0.', {
        details: `it is block ${pinned.number}`,
      });
    }
    const start = verified(pinned);
    this.#accept([pinned], this.#set, null);
    return start;
  }

  #accept(headers: Header[], set: AuthoritySet, pending: PendingChange | null): void {
    for (const h of headers) {
      this.#headers.set(h.hash, verified(h));
      if (this.#headers.size > this.config.headerCacheSize) {
        this.#headers.delete(this.#headers.keys().next().value as Hex);
      }
    }
    const last = headers[headers.length - 1];
    if (last) this.#finalized = verified(last);
    this.#set = set;
    this.#pending = pending;
  }

  /** A header by hash, whose hash is recomputed here from its fields. */
  async #header(hash: Hex): Promise<Header> {
    const json = await rpcCall(this.#rpc, 'chain_getHeader', [hash], optionalHeaderSchema);
    if (!json) {
      throw new LightClientError('broken-chain', 'The node does not have a block it named.', {
        details: hash,
      });
    }
    const header = headerFromJson(json);
    if (header.hash !== hash) {
      throw new LightClientError('header-mismatch', 'The node answered with another header.', {
        details: `asked ${hash}, its header hashes to ${header.hash}`,
      });
    }
    return header;
  }

  /** `grandpa_proveFinality(n)`, or null when the node has none (or no such method). */
  async #proveFinality(number: number): Promise<ReturnType<typeof decodeFinalityProof> | null> {
    let encoded: Hex | null;
    try {
      encoded = await rpcCall(this.#rpc, 'grandpa_proveFinality', [number], optionalBytesSchema);
    } catch (error) {
      if (error instanceof LightClientError && error.reason === 'rpc-error') return null;
      throw error;
    }
    return encoded ? decodeFinalityProof(fromHex(encoded, 'finality proof')) : null;
  }

  /** The GRANDPA justification stored with a block (`chain_getBlock`), if any. */
  async #storedJustification(hash: Hex): Promise<Uint8Array | null> {
    const block = await rpcCall(this.#rpc, 'chain_getBlock', [hash], signedBlockSchema.nullable());
    const found = block?.justifications?.find(([engine]) => engine === GRANDPA_ENGINE_ID);
    return found ? fromHex(found[1], 'justification') : null;
  }

  /**
   * A justification finalizing `head` or a later block: the node's finality proof (which may
   * target a later block and bring the headers up to it), else the one stored with `head`.
   */
  async #finalityFor(
    head: Header,
    base: VerifiedHeader,
  ): Promise<{ justification: Uint8Array; target: Header; known: Map<Hex, Header> }> {
    const proof = await this.#proveFinality(head.number);
    if (proof) {
      const known = new Map(proof.unknownHeaders.map((h) => [h.hash, h] as const));
      known.set(head.hash, head);
      const target = known.get(proof.block) ?? (await this.#header(proof.block));
      if (target.number > base.number) return { justification: proof.justification, target, known };
    }
    const stored = await this.#storedJustification(head.hash);
    if (!stored) {
      throw new LightClientError(
        'no-justification',
        'The node gives no GRANDPA justification for its finalized head.',
        {
          details: `block ${head.number} (${head.hash})`,
        },
      );
    }
    return { justification: stored, target: head, known: new Map([[head.hash, head]]) };
  }

  /** The justification of exactly block `h` (blocks that enact a set change always keep theirs). */
  async #justificationFor(h: Header): Promise<Uint8Array> {
    const proof = await this.#proveFinality(h.number);
    if (proof?.block === h.hash) return proof.justification;
    const stored = await this.#storedJustification(h.hash);
    if (!stored) {
      throw new LightClientError(
        'no-justification',
        'The node gives no justification for a block that changes the authority set.',
        {
          details: `block ${h.number} (${h.hash})`,
        },
      );
    }
    return stored;
  }

  /**
   * The headers after `base` up to `target`, in ascending order, each the parent of the next and
   * the first a child of `base`. Known headers are used first; the rest are fetched by number
   * (hashes in batches, headers in parallel) and must link, or the sync fails.
   */
  async #chainBetween(base: VerifiedHeader, target: Header, known: Map<Hex, Header>): Promise<Header[]> {
    const down: Header[] = [target];
    let low = target;
    for (;;) {
      if (low.number <= base.number + 1) break;
      const parent = known.get(low.parentHash);
      if (!parent) break;
      this.#linked(parent, low);
      down.push(parent);
      low = parent;
    }
    if (low.number > base.number + 1) {
      const numbers = Array.from({ length: low.number - base.number - 1 }, (_, i) => low.number - 1 - i);
      const hashes: (Hex | null)[] = [];
      for (let i = 0; i < numbers.length; i += HASH_BATCH) {
        const batch = numbers.slice(i, i + HASH_BATCH);
        const answer = await rpcCall(this.#rpc, 'chain_getBlockHash', [batch], z.array(optionalHashSchema));
        if (answer.length !== batch.length) {
          throw new LightClientError(
            'rpc-answer',
            'The node answered chain_getBlockHash with a list of another length.',
          );
        }
        hashes.push(...answer);
      }
      const fetched = await this.#headersByHash(hashes, numbers);
      for (const parent of fetched) {
        this.#linked(parent, low);
        down.push(parent);
        low = parent;
      }
    }
    if (low.parentHash !== base.hash || low.number !== base.number + 1) {
      throw new LightClientError(
        'broken-chain',
        'The finalized chain does not descend from the last verified block.',
        {
          details: `block ${low.number} has parent ${low.parentHash}; last verified is ${base.number} (${base.hash})`,
        },
      );
    }
    return down.reverse();
  }

  #linked(parent: Header, child: Header): void {
    if (child.parentHash !== parent.hash || parent.number + 1 !== child.number) {
      throw new LightClientError('broken-chain', 'A header is not the parent of the next.', {
        details: `block ${child.number} names parent ${child.parentHash}; got ${parent.number} (${parent.hash})`,
      });
    }
  }

  async #headersByHash(hashes: (Hex | null)[], numbers: number[]): Promise<Header[]> {
    const out: Header[] = new Array(hashes.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < hashes.length) {
        const i = next++;
        const hash = hashes[i];
        if (!hash) {
          throw new LightClientError('broken-chain', 'The node has no block at a finalized height.', {
            details: `block ${numbers[i]}`,
          });
        }
        out[i] = await this.#header(hash);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.fetchConcurrency, hashes.length) }, worker));
    return out;
  }
}

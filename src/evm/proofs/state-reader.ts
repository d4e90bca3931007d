import {
  type Address,
  type Hex,
  type PublicClient,
  concat,
  getAddress,
  keccak256,
  numberToHex,
  pad,
} from 'viem';
import { z } from 'zod';
import { errorMessage } from '../../base/errors.js';
import { EvmProofError, EvmRpcUnavailableError, EvmVerifierConfigError } from './errors.js';
import { type EvmQuorumStats, EvmHeaderQuorum, type VerifiedEvmHeader } from './quorum.js';
import { requestProof, slotWord, verifyProofAnswer } from './storage-proof.js';

/**
 * A worker's view of one EVM chain: which RPC endpoints it asks, how many must agree and how deep
 * a block must be. Put it in the worker's config; `development` alone allows a single endpoint.
 */
export const evmVerifierConfigSchema = z
  .strictObject({
    chainId: z.number().int().positive(),
    endpoints: z.array(z.url({ protocol: /^https?$/, error: 'an http(s) URL' })).min(1),
    /** k of the n endpoints that must report the same header. */
    quorum: z.number().int().min(1),
    /** Confirmations below the agreed head. */
    depth: z.number().int().min(0),
    development: z.boolean().default(false),
    /** Per RPC call. */
    timeoutMs: z.number().int().positive().default(5_000),
    /** How long one verified header serves later reads. */
    maxAgeMs: z.number().int().min(0).default(1_000),
    /** How long slot reads of one account wait for others to share one eth_getProof. */
    batchWindowMs: z.number().int().min(0).max(1_000).default(2),
  })
  .superRefine((c, ctx) => {
    if (c.quorum > c.endpoints.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: `more than the ${c.endpoints.length} endpoints`,
      });
    }
    if (!c.development && c.quorum < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: 'at least 2 (one endpoint alone is trusted only with development: true)',
      });
    }
  });

export type EvmVerifierConfig = z.input<typeof evmVerifierConfigSchema>;

/** The storage slot of `mapping[key]` for a mapping declared at `mappingSlot`: keccak256(key ‖ slot), key left-padded to 32 bytes. */
export function mappingSlot(key: Hex, mappingSlot: bigint): Hex {
  return keccak256(concat([pad(key, { size: 32 }), numberToHex(mappingSlot, { size: 32 })]));
}

export type EvmVerifierStats = EvmQuorumStats & {
  /** readSlots calls. */
  reads: number;
  /** Batches flushed (each one verified header and one successful eth_getProof). */
  batches: number;
  /** eth_getProof requests sent, refused answers included. */
  proofReads: number;
  /** eth_getProof answers refused (failed or did not verify) before another endpoint was asked. */
  proofRefusals: number;
};

export type ReadSlotsResult = {
  header: VerifiedEvmHeader;
  /** Proven 32-byte value of each requested slot, keyed exactly as the slot was passed. */
  values: Map<Hex, Hex>;
};

type Waiter = { slots: readonly Hex[]; resolve(r: ReadSlotsResult): void; reject(e: unknown): void };
type Batch = {
  address: Address;
  words: Set<Hex>;
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
  /** The newest block any waiter was told of: the batch's header is asked for at least that. */
  atLeast?: bigint;
};

/** At most this many slots go into one eth_getProof; a fuller batch is sent at once. */
const MAX_SLOTS_PER_PROOF = 256;

/**
 * Reads EVM contract storage without trusting any one RPC endpoint: each value is proven by an
 * eth_getProof against the state root of a header k of n endpoints agree on. Reads of one
 * account arriving within `batchWindowMs` share one header and one eth_getProof.
 */
export class EvmStateVerifier {
  readonly quorum: EvmHeaderQuorum;
  readonly #config: z.output<typeof evmVerifierConfigSchema>;
  readonly #counters = { reads: 0, batches: 0, proofReads: 0, proofRefusals: 0 };
  readonly #pending = new Map<Address, Batch>();
  #nextEndpoint = 0;

  /** `clients` replace the URLs' own clients (same order and count), e.g. for custom transports. */
  constructor(config: EvmVerifierConfig, options: { clients?: readonly PublicClient[] } = {}) {
    const parsed = evmVerifierConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new EvmVerifierConfigError('invalid EVM verifier configuration', {
        metaMessages: parsed.error.issues.map((i) => `- ${i.path.join('.') || '(root)'}: ${i.message}`),
      });
    }
    this.#config = parsed.data;
    if (options.clients && options.clients.length !== parsed.data.endpoints.length) {
      throw new EvmVerifierConfigError('one client per endpoint expected');
    }
    this.quorum = new EvmHeaderQuorum({
      chainId: parsed.data.chainId,
      endpoints: options.clients ?? parsed.data.endpoints,
      quorum: parsed.data.quorum,
      depth: parsed.data.depth,
      development: parsed.data.development,
      timeoutMs: parsed.data.timeoutMs,
      maxAgeMs: parsed.data.maxAgeMs,
    });
  }

  get stats(): EvmVerifierStats {
    return { ...this.quorum.stats, ...this.#counters };
  }

  /** The newest header the endpoints agree on (shared with concurrent reads). */
  header(): Promise<VerifiedEvmHeader> {
    return this.quorum.latest();
  }

  /**
   * Proven values of `slots` of `address`'s storage at a verified header; with `atLeast`, a header
   * no older than that block when the endpoints have one (EvmHeaderQuorum.latest).
   */
  readSlots(address: Address, slots: readonly Hex[], atLeast?: bigint): Promise<ReadSlotsResult> {
    this.#counters.reads++;
    const account = getAddress(address);
    let words: Hex[];
    try {
      words = slots.map(slotWord);
    } catch (error) {
      return Promise.reject(error);
    }
    let batch = this.#pending.get(account);
    if (batch && batch.words.size + words.length > MAX_SLOTS_PER_PROOF) {
      this.#flush(batch);
      batch = undefined;
    }
    if (!batch) {
      const created: Batch = { address: account, words: new Set(), waiters: [], timer: undefined };
      created.timer = setTimeout(() => this.#flush(created), this.#config.batchWindowMs);
      this.#pending.set(account, created);
      batch = created;
    }
    for (const w of words) batch.words.add(w);
    if (atLeast !== undefined && (batch.atLeast === undefined || atLeast > batch.atLeast))
      batch.atLeast = atLeast;
    return new Promise((resolve, reject) => batch.waiters.push({ slots, resolve, reject }));
  }

  #flush(batch: Batch): void {
    clearTimeout(batch.timer);
    if (this.#pending.get(batch.address) === batch) this.#pending.delete(batch.address);
    this.#counters.batches++;
    this.#read(batch.address, [...batch.words], batch.atLeast).then(
      ({ header, values }) => {
        for (const w of batch.waiters) {
          w.resolve({ header, values: new Map(w.slots.map((s) => [s, values.get(slotWord(s)) as Hex])) });
        }
      },
      (error: unknown) => {
        for (const w of batch.waiters) w.reject(error);
      },
    );
  }

  /**
   * One eth_getProof for `words`, verified against the latest agreed header. Endpoints are taken in
   * turn; one whose answer fails or does not verify is passed over for the next, so a lying endpoint
   * costs a read, not the result. All failing: the last refusal (or RpcUnavailable) is thrown.
   */
  async #read(
    address: Address,
    words: Hex[],
    atLeast: bigint | undefined,
  ): Promise<{ header: VerifiedEvmHeader; values: Map<Hex, Hex> }> {
    const header = await this.quorum.latest(atLeast);
    const endpoints = this.quorum.endpoints;
    const start = this.#nextEndpoint;
    this.#nextEndpoint = (start + 1) % endpoints.length;
    const failures: string[] = [];
    let refusal: EvmProofError | undefined;
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[(start + i) % endpoints.length] as (typeof endpoints)[number];
      try {
        this.#counters.proofReads++;
        const answer = await requestProof(endpoint, address, words, header.number);
        const { values } = await verifyProofAnswer({
          stateRoot: header.stateRoot,
          address,
          slots: words,
          answer,
        });
        return { header, values };
      } catch (error) {
        this.#counters.proofRefusals++;
        if (error instanceof EvmProofError) refusal = error;
        failures.push(`- ${endpoint.label}: ${errorMessage(error)}`);
      }
    }
    if (refusal) throw refusal;
    throw new EvmRpcUnavailableError(`no endpoint answered eth_getProof for ${address}`, {
      details: `block ${header.number}`,
      metaMessages: failures,
    });
  }
}

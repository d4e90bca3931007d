import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { BaseError, errorMessage, type Retry } from '../../../base/errors.js';
import { TIMESTAMP_INHERENT, timestampStorage } from '../pallets/timestamp.js';
import { EVENTS_KEY, System } from '../pallets/system.js';
import type { BlockInfo, Env } from '../runtime/context.js';
import { ExtrinsicFormatError, TransactionValidityError } from '../runtime/errors.js';
import {
  BlockExecutor,
  type BuiltBlock,
  ExecutionEnv,
  buildGenesis,
  callRuntimeApi,
  hashHeader,
  validateTransaction,
} from '../runtime/executive.js';
import type { EventRecordValue } from '../runtime/refs.js';
import type { Runtime } from '../runtime/runtime.js';
import { type DigestItemValue, DigestItem, Header, type HeaderValue } from '../runtime/types.js';
import { t } from '../scale/ty.js';
import { StorageOverlay } from '../storage/overlay.js';
import { readProof } from '../storage/read-proof.js';
import { type StateChanges, StateDb, type StorageReader } from '../storage/state-db.js';
import { orderedTrieRoot } from '../storage/trie.js';
import {
  GRANDPA_AUTHORITIES_KEY,
  type GrandpaSetInfo,
  GrandpaVoters,
  encodeFinalityProof,
} from './grandpa.js';
import { ChainLog, DataDirError } from './persistence.js';
import { PoolError, type TxStatus, type TxStatusDetail, type TxWatcher, TransactionPool } from './pool.js';

/**
 * A dev chain: a runtime, its state with history, blocks, a transaction pool, block production
 * (instant, on an interval, or manual) and finality (immediate or lagging). The RPC server and
 * the multi-chain devnet drive it through this class only.
 */

export type ChainProperties = { ss58Format: number; tokenDecimals: number; tokenSymbol: string };

export type ChainSpec = {
  /** `system_chain`, e.g. "Phala Devnet". */
  name: string;
  id: string;
  chainType: 'Development' | 'Local' | 'Live';
  properties: ChainProperties;
  runtime: Runtime;
  blockHashCount: number;
  /** Minimum step between block timestamps (the Timestamp pallet's MinimumPeriod). */
  minimumPeriod: bigint;
  /** Digest items of a new block (e.g. an Aura pre-runtime slot). */
  digest(block: { number: number; timestamp: bigint }): DigestItemValue[];
  /** For parachains: the para id (informational here; the XCM layer uses it). */
  paraId?: number;
};

export type BlockProduction =
  | { mode: 'instant' }
  | { mode: 'interval'; intervalMs: number }
  | { mode: 'manual' };

export type StoredBlock = {
  number: number;
  hash: Uint8Array;
  hashHex: string;
  header: HeaderValue;
  /** Full extrinsic encodings, with their length prefixes. */
  extrinsics: Uint8Array[];
  timestamp: number;
};

export type ChainLogger = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

const silent: ChainLogger = { info() {}, warn() {}, error() {} };

export type DevChainOptions = {
  spec: ChainSpec;
  production?: BlockProduction;
  /** 0: every block final at once; N: blocks become final N blocks later. */
  finalityLag?: number;
  /**
   * Finality is applied this long after a block is imported (default 100 ms), as a finality
   * gadget would: clients see `inBlock` before `finalized` (polkadot-js drops an `inBlock` status
   * that a `finalized` overtakes). 0 finalizes in the same tick.
   */
  finalityDelayMs?: number;
  /** Keep the state of this many recent blocks (default: all); older state reads fail as discarded. */
  stateHistory?: number;
  /**
   * The GRANDPA authorities (ed25519 secret URIs, weight 1 each; default `['//Alice']`). They sign
   * a justification for every finalized block; the set never changes (set id 0). Part of the
   * genesis state (`:grandpa_authorities`), so a data dir is bound to its list.
   */
  grandpaAuthorities?: readonly string[];
  dataDir?: string;
  clock?: () => number;
  logger?: ChainLogger;
};

export type NewBlockListener = (
  block: StoredBlock,
  events: EventRecordValue[],
  changes: StateChanges,
) => void;
export type FinalizedListener = (block: StoredBlock) => void;
export type InherentDataProvider = (block: {
  number: number;
  timestamp: bigint;
}) => Iterable<[string, unknown]>;

/** Errors author_submitExtrinsic reports: code, message, data as a Substrate node does. */
export class SubmitError extends BaseError {
  /** The pool's answer to these bytes. */
  static override readonly retry: Retry = 'never';
  override name = 'SubmitError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: string,
  ) {
    super(message);
  }
}

export class UnknownBlockError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'UnknownBlockError';
}

export class DevChain {
  readonly spec: ChainSpec;
  readonly runtime: Runtime;
  readonly pool = new TransactionPool();
  readonly #db: StateDb;
  readonly #voters: GrandpaVoters;
  /** Encoded GRANDPA justifications of finalized blocks, by number (made again on demand after a restart). */
  readonly #justifications = new Map<number, Uint8Array>();
  readonly #blocks: StoredBlock[] = [];
  readonly #byHash = new Map<string, StoredBlock>();
  readonly #log: ChainLog | null;
  readonly #logger: ChainLogger;
  readonly #clock: () => number;
  readonly #newBlock = new Set<NewBlockListener>();
  readonly #finalizedListeners = new Set<FinalizedListener>();
  readonly #inherentProviders = new Set<InherentDataProvider>();
  /** Watchers of transactions included in a block that is not final yet, by block number. */
  readonly #awaitingFinality = new Map<number, { hash: string; index: number; watchers: TxWatcher[] }[]>();
  #finalityLag: number;
  readonly #finalityDelayMs: number;
  readonly #stateHistory: number | null;
  #finalityTimer: NodeJS.Timeout | null = null;
  #finalized = 0;
  #timeOffset = 0;
  #production: BlockProduction;
  #timer: NodeJS.Timeout | null = null;
  #instantScheduled = false;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: DevChainOptions, voters: GrandpaVoters) {
    this.spec = options.spec;
    this.runtime = options.spec.runtime;
    this.#db = new StateDb(this.runtime.version.stateVersion);
    this.#voters = voters;
    this.#log = options.dataDir ? new ChainLog(options.dataDir) : null;
    this.#logger = options.logger ?? silent;
    this.#clock = options.clock ?? Date.now;
    this.#finalityLag = options.finalityLag ?? 0;
    this.#finalityDelayMs = options.finalityDelayMs ?? 100;
    this.#stateHistory =
      options.stateHistory && options.stateHistory > 0 ? Math.floor(options.stateHistory) : null;
    this.#production = options.production ?? { mode: 'instant' };
    this.runtime.onUnexpectedError = (error, call) =>
      this.#logger.error(
        { call: `${call.tag}.${call.value.tag}`, error: errorMessage(error) },
        'pallet code threw',
      );
  }

  static async start(options: DevChainOptions): Promise<DevChain> {
    await cryptoWaitReady();
    const voters = GrandpaVoters.fromUris(options.grandpaAuthorities ?? ['//Alice']);
    const chain = new DevChain(options, voters);
    chain.#init();
    chain.#startProduction();
    return chain;
  }

  // ---------------------------------------------------------------- genesis and restart

  #init(): void {
    const genesisChanges = buildGenesis(this.runtime, this.#db.reader());
    // What pallet-grandpa's genesis writes: the set a light client starts from.
    genesisChanges.set(GRANDPA_AUTHORITIES_KEY, this.#voters.authorityListStorage());
    this.#db.commit(0, genesisChanges);
    const header: HeaderValue = {
      parentHash: new Uint8Array(32),
      number: 0,
      stateRoot: this.#db.headRoot(),
      extrinsicsRoot: orderedTrieRoot([], this.runtime.version.stateVersion),
      digest: { logs: [] },
    };
    const genesis = this.#store(header, [], 0);
    const persisted = this.#log?.load() ?? null;
    if (this.#log && !persisted) {
      this.#log.append({
        kind: 'genesis',
        v: 1,
        chain: this.spec.id,
        genesisHash: genesis.hashHex,
        changes: [...genesisChanges].map(([k, v]) => [k, v ? u8aToHex(v) : null]),
      });
    }
    if (persisted) {
      if (persisted.genesis.genesisHash !== genesis.hashHex || persisted.genesis.chain !== this.spec.id) {
        throw new DataDirError(
          `data dir holds chain ${persisted.genesis.chain} (genesis ${persisted.genesis.genesisHash}), not ${this.spec.id} (genesis ${genesis.hashHex})`,
          { details: 'use another --data-dir, or delete this one to start over' },
        );
      }
      for (const record of persisted.blocks) {
        const changes: StateChanges = new Map(
          record.changes.map(([k, v]) => [k, v === null ? null : hexToU8a(v)]),
        );
        this.#db.commit(record.number, changes);
        const header = this.runtime.codec.decode(Header, hexToU8a(record.header)) as HeaderValue;
        const block = this.#store(
          header,
          record.extrinsics.map((x) => hexToU8a(x)),
          record.timestamp,
        );
        if (block.hashHex !== record.hash)
          throw new DataDirError(`data dir: block ${record.number} hash mismatch`);
      }
      this.#logger.info({ blocks: persisted.blocks.length, dataDir: this.#log?.file }, 'chain restored');
    }
    this.#finalized = Math.max(0, this.best.number - this.#finalityLag);
  }

  #store(header: HeaderValue, extrinsics: Uint8Array[], timestamp: number): StoredBlock {
    const hash = hashHeader(this.runtime, header);
    const block: StoredBlock = {
      number: header.number,
      hash,
      hashHex: u8aToHex(hash),
      header,
      extrinsics,
      timestamp,
    };
    this.#blocks.push(block);
    this.#byHash.set(block.hashHex, block);
    return block;
  }

  // ---------------------------------------------------------------- reading

  get genesis(): StoredBlock {
    return this.#blocks[0]!;
  }
  get genesisHash(): Uint8Array {
    return this.genesis.hash;
  }
  get best(): StoredBlock {
    return this.#blocks[this.#blocks.length - 1]!;
  }
  get finalized(): StoredBlock {
    return this.#blocks[this.#finalized]!;
  }
  get finalityLag(): number {
    return this.#finalityLag;
  }
  get production(): BlockProduction {
    return this.#production;
  }

  blockByNumber(n: number): StoredBlock | undefined {
    return Number.isInteger(n) && n >= 0 ? this.#blocks[n] : undefined;
  }
  blockByHash(hash: string): StoredBlock | undefined {
    return this.#byHash.get(hash.toLowerCase());
  }
  /** The block a query names (hash), or the best block when none is given. */
  resolve(hash?: string | null): StoredBlock {
    if (hash === undefined || hash === null) return this.best;
    const block = this.blockByHash(hash);
    if (!block) throw new UnknownBlockError(`Header was not found for block ${hash}`);
    return block;
  }

  state(block: StoredBlock = this.best): StorageReader {
    return this.#db.reader(block.number);
  }

  /** A read-only environment at a block, for reading storage with pallet storage items. */
  env(block: StoredBlock = this.best): Env {
    return new ExecutionEnv(this.runtime, new StorageOverlay(this.state(block)), this.#blockInfo(block));
  }

  #blockInfo(block: StoredBlock): BlockInfo {
    return {
      number: block.number,
      parentHash: block.header.parentHash,
      genesisHash: this.genesisHash,
      hash: block.hash,
    };
  }

  headerJson(block: StoredBlock) {
    return {
      parentHash: u8aToHex(block.header.parentHash),
      number: `0x${block.number.toString(16)}`,
      stateRoot: u8aToHex(block.header.stateRoot),
      extrinsicsRoot: u8aToHex(block.header.extrinsicsRoot),
      digest: {
        logs: block.header.digest.logs.map((log) => u8aToHex(this.runtime.codec.encode(DigestItem, log))),
      },
    };
  }

  /** The events of a block, decoded. */
  events(block: StoredBlock): EventRecordValue[] {
    const raw = this.state(block).get(EVENTS_KEY);
    if (!raw) return [];
    return this.runtime.codec.decode(t.vec(this.runtime.refs.eventRecord), raw);
  }

  // ---------------------------------------------------------------- finality proofs

  /** The GRANDPA set a light client pins: genesis hash, set id, [authority, weight]. */
  get grandpa(): GrandpaSetInfo {
    return this.#voters.info(this.genesisHash);
  }
  get grandpaWeights(): { total: number; threshold: number } {
    return this.#voters.weights();
  }

  /** The SCALE GrandpaJustification of a finalized block (none for genesis or unfinalized blocks). */
  justification(block: StoredBlock): Uint8Array | null {
    if (block.number === 0 || block.number > this.#finalized || this.#blocks[block.number] !== block)
      return null;
    let justification = this.#justifications.get(block.number);
    if (!justification) {
      justification = this.#voters.justify(block.hash, block.number);
      this.#justifications.set(block.number, justification);
    }
    return justification;
  }

  /** `grandpa_proveFinality`: SCALE FinalityProof of a finalized block, from its own justification. */
  finalityProof(number: number): Uint8Array | null {
    const block = this.blockByNumber(number);
    const justification = block ? this.justification(block) : null;
    return block && justification ? encodeFinalityProof(block.hash, justification) : null;
  }

  /** `state_getReadProof`: the trie nodes proving these keys' values (or absence) at a block. */
  readProof(keys: readonly string[], block: StoredBlock = this.best): Uint8Array[] {
    return readProof(
      this.#db.trieAt(block.number),
      keys.map((k) => hexToU8a(k)),
    );
  }

  callApi(method: string, input: Uint8Array, block: StoredBlock = this.best): Uint8Array {
    return callRuntimeApi(this.runtime, method, input, this.state(block), this.#blockInfo(block));
  }

  accountNextIndex(account: Uint8Array): number {
    const nonce = System.account(this.env(), account).nonce;
    return this.pool.nextNonce(u8aToHex(account), nonce);
  }

  // ---------------------------------------------------------------- listeners

  onNewBlock(listener: NewBlockListener): () => void {
    this.#newBlock.add(listener);
    return () => this.#newBlock.delete(listener);
  }
  onFinalized(listener: FinalizedListener): () => void {
    this.#finalizedListeners.add(listener);
    return () => this.#finalizedListeners.delete(listener);
  }
  /** Adds inherent data to every block (a composed chain's downward/horizontal messages, say). */
  addInherentDataProvider(provider: InherentDataProvider): () => void {
    this.#inherentProviders.add(provider);
    return () => this.#inherentProviders.delete(provider);
  }

  // ---------------------------------------------------------------- transactions

  /**
   * Validates and pools a transaction; returns its hash. Throws SubmitError with the code,
   * message and data a Substrate node's author RPC gives.
   */
  submit(bytes: Uint8Array, watcher?: TxWatcher): { hash: string; status: 'ready' | 'future' } {
    if (this.#closed) throw new SubmitError(1012, 'Transaction is temporarily banned');
    const best = this.best;
    let validated: ReturnType<typeof validateTransaction>;
    try {
      validated = validateTransaction(
        this.runtime,
        this.state(best),
        {
          number: best.number,
          hash: best.hash,
          genesisHash: this.genesisHash,
        },
        bytes,
      );
    } catch (error) {
      throw toSubmitError(error);
    }
    const { ext, validity, who, nonce } = validated;
    const stateNonce = System.account(this.env(best), who!).nonce;
    let added: ReturnType<TransactionPool['add']>;
    try {
      added = this.pool.add(ext.hash, bytes, who!, nonce, stateNonce, validity, watcher);
    } catch (error) {
      if (error instanceof PoolError) throw new SubmitError(error.code, error.message, error.data);
      throw error;
    }
    if (added.status === 'ready') this.#scheduleInstant();
    return { hash: u8aToHex(ext.hash), status: added.status };
  }

  // ---------------------------------------------------------------- block production

  #startProduction(): void {
    if (this.#production.mode === 'interval') {
      const ms = this.#production.intervalMs;
      this.#timer = setInterval(() => {
        void this.produceBlock().catch(() => {});
      }, ms);
      this.#timer.unref?.();
    }
  }

  #scheduleInstant(): void {
    if (this.#production.mode !== 'instant' || this.#instantScheduled) return;
    this.#instantScheduled = true;
    setImmediate(() => {
      this.#instantScheduled = false;
      void this.produceBlock().catch(() => {});
    });
  }

  /** Moves the clock of the next blocks forward to `timestamp` (ms) for tests of expiry. */
  setNextTimestamp(timestamp: number): void {
    const now = this.#clock();
    this.#timeOffset = Math.max(0, timestamp - now);
  }

  setFinalityLag(lag: number): void {
    this.#finalityLag = Math.max(0, Math.floor(lag));
    this.#advanceFinality();
  }

  /** Builds, imports and announces one block with what the pool has ready. */
  produceBlock(): Promise<StoredBlock> {
    const run = this.#queue.then(() => this.#produce());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #produce(): Promise<StoredBlock> {
    if (this.#closed) throw new BaseError('chain is stopped');
    const parent = this.best;
    const parentTimestamp = parent.number === 0 ? 0 : parent.timestamp;
    const timestamp = BigInt(
      Math.max(this.#clock() + this.#timeOffset, parentTimestamp + Number(this.spec.minimumPeriod)),
    );
    const number = parent.number + 1;
    const inherentData = new Map<string, unknown>([[TIMESTAMP_INHERENT, timestamp]]);
    for (const provider of this.#inherentProviders)
      for (const [k, v] of provider({ number, timestamp })) inherentData.set(k, v);
    const executor = new BlockExecutor(this.runtime, this.state(parent), {
      number,
      parentHash: parent.hash,
      genesisHash: this.genesisHash,
      inherentData,
      digest: this.spec.digest({ number, timestamp }),
      blockHashCount: this.spec.blockHashCount,
    });
    let built: BuiltBlock;
    const included: { hash: string; index: number; watchers: TxWatcher[] }[] = [];
    try {
      executor.initialize();
      for (const tx of this.pool.ready((s) => System.account(this.env(parent), hexToU8a(s)).nonce)) {
        try {
          const applied = executor.apply(tx.bytes);
          this.pool.remove(tx.hash);
          included.push({ hash: tx.hash, index: applied.index, watchers: [...tx.watchers] });
        } catch (error) {
          if (error instanceof TransactionValidityError && error.validity.kind === 'invalid') {
            if (error.validity.reason === 'ExhaustsResources') break;
            if (error.validity.reason === 'Future') continue;
          }
          this.pool.remove(tx.hash, 'invalid', errorMessage(error));
          this.#logger.warn({ tx: tx.hash, reason: errorMessage(error) }, 'dropped transaction');
        }
      }
      built = executor.finalize((changes) => this.#db.rootWith(changes));
    } catch (error) {
      this.#logger.error({ number, error: errorMessage(error) }, 'block production failed');
      throw error;
    }
    const timestampMs = Number(timestampStorage.Now.get(executor.env));
    if (this.#log) {
      this.#log.append({
        kind: 'block',
        number,
        hash: u8aToHex(built.hash),
        header: u8aToHex(this.runtime.codec.encode(Header, built.header)),
        extrinsics: built.extrinsics.map((x) => u8aToHex(x)),
        changes: [...built.changes].map(([k, v]) => [k, v ? u8aToHex(v) : null]),
        timestamp: timestampMs,
      });
    }
    this.#db.commit(number, built.changes);
    // Prune in steps, so the cost is paid once every 64 blocks.
    if (this.#stateHistory !== null && number % 64 === 0) {
      this.#db.prune(Math.min(number - this.#stateHistory, this.#finalized));
    }
    const block = this.#store(built.header, built.extrinsics, timestampMs);
    if (block.hashHex !== u8aToHex(built.hash)) throw new Error('block hash mismatch');
    // The pool forgets what the block made stale and promotes what it made ready.
    this.pool.prune((s) => System.account(this.env(block), hexToU8a(s)).nonce);
    for (const tx of included)
      for (const w of tx.watchers) w({ inBlock: block.hashHex }, { index: tx.index });
    if (included.length) this.#awaitingFinality.set(number, included);
    for (const listener of this.#newBlock) {
      try {
        listener(block, built.events, built.changes);
      } catch (error) {
        this.#logger.error({ error: errorMessage(error) }, 'new block listener failed');
      }
    }
    this.#scheduleFinality();
    if (this.pool.ready((s) => System.account(this.env(block), hexToU8a(s)).nonce).length)
      this.#scheduleInstant();
    return block;
  }

  #scheduleFinality(): void {
    if (this.#finalityDelayMs <= 0) {
      this.#advanceFinality();
      return;
    }
    if (this.#finalityTimer) return;
    this.#finalityTimer = setTimeout(() => {
      this.#finalityTimer = null;
      if (!this.#closed) this.#advanceFinality();
    }, this.#finalityDelayMs);
  }

  /** Resolves once block `number` is final. */
  whenFinalized(number: number): Promise<StoredBlock> {
    if (this.#finalized >= number) return Promise.resolve(this.#blocks[number]!);
    return new Promise((resolve) => {
      const off = this.onFinalized((block) => {
        if (block.number >= number) {
          off();
          resolve(this.#blocks[number]!);
        }
      });
    });
  }

  #advanceFinality(): void {
    const target = Math.max(this.#finalized, this.best.number - this.#finalityLag);
    while (this.#finalized < target) {
      this.#finalized++;
      const block = this.#blocks[this.#finalized]!;
      this.#justifications.set(block.number, this.#voters.justify(block.hash, block.number));
      const waiting = this.#awaitingFinality.get(block.number);
      if (waiting) {
        this.#awaitingFinality.delete(block.number);
        for (const tx of waiting)
          for (const w of tx.watchers) w({ finalized: block.hashHex }, { index: tx.index });
      }
      for (const listener of this.#finalizedListeners) {
        try {
          listener(block);
        } catch (error) {
          this.#logger.error({ error: errorMessage(error) }, 'finalized listener failed');
        }
      }
    }
  }

  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#finalityTimer) clearTimeout(this.#finalityTimer);
    await this.#queue;
    for (const tx of this.pool.all()) this.pool.remove(tx.hash, 'dropped', 'the node is stopping');
    this.#log?.close();
  }
}

function toSubmitError(error: unknown): SubmitError {
  if (error instanceof SubmitError) return error;
  if (error instanceof TransactionValidityError) {
    return error.validity.kind === 'invalid'
      ? new SubmitError(1010, 'Invalid Transaction', error.message)
      : new SubmitError(1011, 'Unknown Transaction Validity', error.message);
  }
  if (error instanceof ExtrinsicFormatError) {
    if (error.stage === 'call') {
      return new SubmitError(
        1002,
        `Verification Error: Runtime error: Execution failed: Runtime panicked: Bad input data provided to validate_transaction: ${error.message}`,
        `RuntimeApi("Execution failed: Runtime panicked: Bad input data provided to validate_transaction: ${error.message}")`,
      );
    }
    return new SubmitError(1001, `Extrinsic has invalid format: ${error.message}`);
  }
  return new SubmitError(1002, `Verification Error: ${errorMessage(error)}`);
}

export type { TxStatus, TxStatusDetail, TxWatcher };

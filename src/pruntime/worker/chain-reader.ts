import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import { blake2_256 } from '../../crypto/hash.js';
import * as contracts from '../../phala/actions/contracts.js';
import { ContractCodeUnreadableError, contractCodeOf } from '../../protocol/contract-code.js';
import * as registry from '../../phala/actions/registry.js';
import type { PhalaClient } from '../../phala/client.js';
import type { WorkerInfo } from '../../phala/types.js';
import type { SealedState } from '../enclave/executor.js';
import { RequestRejectedError, WorkerError } from './errors.js';

/**
 * What a worker reads from the Phala-style chain (docs/pruntime-worker.md#what-it-reads), each
 * read bounded by a timeout so a stalled connection fails a job (to be retried) instead of
 * holding it. Immutable things are cached: a contract's code hash and cluster, and code by hash
 * (checked against its hash before use). State is read fresh for every request.
 */

export class ChainReadTimeoutError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'ChainReadTimeoutError';
  constructor(what: string, ms: number) {
    super(`Reading ${what} from the chain took longer than ${ms} ms.`, {
      docsPath: '/docs/pruntime-worker.md#what-it-reads-from-the-chain',
    });
  }
}

export type ContractFacts = { codeHash: Hex; cluster: Hex };

/**
 * Code cache bound: entries and the bytes they take (a contract is ≤ 512 KiB on chain; a
 * JavaScript string is counted at two bytes a UTF-16 unit, a module at its length).
 */
const MAX_CODE_ENTRIES = 64;
const MAX_CODE_BYTES = 32 * 1024 * 1024;

const cachedSize = (code: string | Uint8Array): number =>
  typeof code === 'string' ? code.length * 2 : code.byteLength;

export class ChainReader {
  readonly client: PhalaClient;
  readonly #timeoutMs: number;
  readonly #contracts = new Map<Hex, ContractFacts>();
  readonly #code = new Map<Hex, string | Uint8Array>();
  #codeBytes = 0;

  constructor(client: PhalaClient, options: { timeoutMs?: number } = {}) {
    this.client = client;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
  }

  /** A contract's code hash and cluster (immutable once instantiated), or null if there is none. */
  async contract(contractId: Hex): Promise<ContractFacts | null> {
    const id = contractId.toLowerCase() as Hex;
    const cached = this.#contracts.get(id);
    if (cached) return cached;
    const info = await this.#timed(`contract ${id}`, contracts.getContract(this.client, id));
    if (!info) return null;
    const facts = { codeHash: info.codeHash, cluster: info.cluster };
    this.#contracts.set(id, facts);
    return facts;
  }

  /**
   * The contract code stored under `codeHash` as the engine runs it (protocol/contract-code.ts):
   * a WebAssembly module's bytes, or the JavaScript source. JavaScript that is not UTF-8 can never
   * run on any worker: that is a rejection, not a retry. A module is handed out as the cached
   * bytes: callers must not write to it.
   */
  async code(codeHash: Hex): Promise<string | Uint8Array | null> {
    const hash = codeHash.toLowerCase() as Hex;
    const cached = this.#code.get(hash);
    if (cached !== undefined) {
      this.#code.delete(hash);
      this.#code.set(hash, cached);
      return cached;
    }
    const hex = await this.#timed(`code ${hash}`, contracts.getCode(this.client, hash));
    if (hex === null) return null;
    const bytes = fromHex(hex, 'code');
    if (toHex(blake2_256(bytes)) !== hash)
      throw new WorkerError('The chain returned code that does not match its hash.', { details: hash });
    let code: string | Uint8Array;
    try {
      code = contractCodeOf(bytes);
    } catch (error) {
      if (error instanceof ContractCodeUnreadableError)
        throw new RequestRejectedError('code-unreadable', `code ${hash} is not UTF-8`);
      throw error;
    }
    this.#code.set(hash, code);
    this.#codeBytes += cachedSize(code);
    for (const [key, value] of this.#code) {
      if (this.#code.size <= MAX_CODE_ENTRIES && this.#codeBytes <= MAX_CODE_BYTES) break;
      this.#code.delete(key);
      this.#codeBytes -= cachedSize(value);
    }
    return code;
  }

  /** The contract's committed (sealed) state and its version, or null before the first commit. */
  async state(contractId: Hex): Promise<SealedState | null> {
    const state = await this.#timed(
      `state of ${contractId}`,
      contracts.getContractState(this.client, contractId),
    );
    return state ? { version: state.version, sealed: fromHex(state.state, 'state') } : null;
  }

  /** Every published public key of a contract, by epoch (PhalaRegistry.ContractKeyHistory). */
  async contractKeyEpochs(contractId: Hex): Promise<Map<number, Hex>> {
    const current = await this.#timed(
      `key of ${contractId}`,
      registry.getContractKey(this.client, contractId),
    );
    const epochs = new Map<number, Hex>();
    if (!current) return epochs;
    const latest = Number(current.epoch);
    const keys = await this.#timed(
      `key history of ${contractId}`,
      Promise.all(
        Array.from({ length: latest + 1 }, (_, epoch) =>
          registry.getContractKeyAt(this.client, contractId, BigInt(epoch)),
        ),
      ),
    );
    keys.forEach((key, epoch) => {
      if (key) epochs.set(epoch, key.toLowerCase() as Hex);
    });
    return epochs;
  }

  /** A contract's public key at one epoch, as published on chain. */
  async contractKeyAt(contractId: Hex, epoch: number): Promise<Hex | null> {
    const key = await this.#timed(
      `key of ${contractId} at epoch ${epoch}`,
      registry.getContractKeyAt(this.client, contractId, BigInt(epoch)),
    );
    return key ? (key.toLowerCase() as Hex) : null;
  }

  worker(worker: Hex): Promise<WorkerInfo | null> {
    return this.#timed(`worker ${worker}`, registry.getWorker(this.client, worker));
  }

  measurementAllowed(measurement: Hex): Promise<boolean> {
    return this.#timed('the measurement allowlist', registry.isMeasurementAllowed(this.client, measurement));
  }

  /** Chain time in unix seconds (Timestamp.Now), what approvals expire against. */
  async chainTime(): Promise<number> {
    const now = (await this.#timed('the chain time', this.client.api.query.timestamp!.now!())) as unknown as {
      toString(): string;
    };
    return Math.floor(Number(now.toString()) / 1000);
  }

  async finalizedHead(): Promise<number> {
    const hash = await this.#timed('the finalized head', this.client.api.rpc.chain.getFinalizedHead());
    const header = await this.#timed('a header', this.client.api.rpc.chain.getHeader(hash));
    return header.number.toNumber();
  }

  /**
   * Index of the `Xcm` variant of the chain's `RequestOrigin` type, read from its metadata (the
   * request id of an XCM request hashes `index ‖ SCALE(location)`); null when the chain has none.
   */
  xcmOriginIndex(): number | null {
    for (const { type } of this.client.api.registry.lookup.types) {
      const path = type.path.map((segment) => segment.toString());
      if (path[path.length - 1] !== 'RequestOrigin' || !type.def.isVariant) continue;
      const variant = type.def.asVariant.variants.find((v) => v.name.toString() === 'Xcm');
      return variant ? variant.index.toNumber() : null;
    }
    return null;
  }

  #timed<T>(what: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ChainReadTimeoutError(what, this.#timeoutMs)), this.#timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

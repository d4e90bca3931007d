import path from 'node:path';
import type { IKeyringPair } from '@polkadot/types/types';
import { compactAddLength, stringToU8a } from '@polkadot/util';
import { type Hex, concatBytes, toHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { blake2_256 } from '../../crypto/hash.js';
import { openKeyHandover } from '../../crypto/key-handover.js';
import type { PublicIdentity } from '../../crypto/keys.js';
import { ContractEngine, type ContractEngineOptions } from '../engine/engine.js';
import {
  ContractExecutor,
  type ExecuteRequest,
  type ExecuteResult,
  type QueryRequest,
  type QueryResult,
  type SignBatchRequest,
} from './executor.js';
import { EnclaveIdentity } from './identity.js';
import { KeyStore, type StoredKeyInfo } from './key-store.js';
import type { TeeKind, TeePlatform } from './platform.js';
import { Sealer } from './sealing.js';
import { identityTransactionSigner } from './transaction-signer.js';

/**
 * The enclave boundary of a pRuntime worker (docs/pruntime.md#enclave). Everything that touches
 * a secret happens behind this class: the identity keys, the contract keys, request inputs,
 * contract state and outputs. What it hands out are public keys, quotes, envelopes, hashes and
 * signatures over results it computed itself; it never signs a digest a caller chose.
 */
export type EnclaveOptions = {
  /** Where `identity.sealed` and `keys/` live. */
  dataDir: string;
  platform: TeePlatform;
  /** An engine to run contracts in (shared with others); started and owned here when absent. */
  engine?: ContractEngine;
  engineOptions?: ContractEngineOptions;
};

export type KeyHandoverParameters = {
  /** The envelope from the gatekeeper (purpose handover, sealed to this worker's X25519 key). */
  envelope: Uint8Array;
  epoch: number;
  /** The key's public half as published on chain; the handover is refused if it differs. */
  expectedPublicKey?: Uint8Array;
};

const WORKER_MESSAGE_TAG = compactAddLength(stringToU8a('phala-bridge/worker-message/v1'));

export class Enclave {
  readonly tee: TeeKind;
  /** The measurement quotes report and sealing is bound to. */
  readonly measurement: Hex;
  readonly publicIdentity: PublicIdentity;
  /** True when this start made a new identity (there was no sealed one). */
  readonly createdIdentity: boolean;
  readonly #platform: TeePlatform;
  readonly #identity: EnclaveIdentity;
  readonly #keys: KeyStore;
  readonly #executor: ContractExecutor;
  readonly #engine: ContractEngine;
  readonly #ownsEngine: boolean;

  private constructor(
    platform: TeePlatform,
    measurement: Uint8Array,
    identity: EnclaveIdentity,
    created: boolean,
    keys: KeyStore,
    engine: ContractEngine,
    ownsEngine: boolean,
  ) {
    this.tee = platform.tee;
    this.measurement = toHex(measurement);
    this.publicIdentity = identity.public;
    this.createdIdentity = created;
    this.#platform = platform;
    this.#identity = identity;
    this.#keys = keys;
    this.#engine = engine;
    this.#ownsEngine = ownsEngine;
    this.#executor = new ContractExecutor(identity, keys, engine);
  }

  /**
   * Unseals the identity and keys under `dataDir`, or makes a new identity when there is none.
   * A sealed identity this build cannot open (another measurement or platform) stops the start
   * with IdentityUnsealError; it is never silently replaced.
   */
  static async open(options: EnclaveOptions): Promise<Enclave> {
    const measurement = await options.platform.measurement();
    const sealer = Sealer.derive(await options.platform.sealingSecret(), measurement);
    const { identity, created } = await EnclaveIdentity.loadOrCreate(options.dataDir, sealer);
    const keys = await KeyStore.open(path.join(options.dataDir, 'keys'), sealer);
    const engine = options.engine ?? (await ContractEngine.start(options.engineOptions));
    return new Enclave(options.platform, measurement, identity, created, keys, engine, !options.engine);
  }

  /** PROTOCOL §5 report data for this worker's keys (with an optional 32-byte freshness nonce). */
  reportData(nonce?: Uint8Array): Uint8Array {
    return this.#identity.reportData(nonce);
  }

  /** An attestation quote whose report data binds this worker's public keys. */
  async quote(nonce?: Uint8Array): Promise<Uint8Array> {
    return this.#platform.quote(this.#identity.reportData(nonce));
  }

  /** Opens a gatekeeper's key handover and keeps the key, sealed at rest. */
  async receiveKeyHandover(parameters: KeyHandoverParameters): Promise<StoredKeyInfo> {
    if (!Number.isInteger(parameters.epoch) || parameters.epoch < 0 || parameters.epoch > 0xffffffff)
      throw new InvalidInputError('epoch', 'a u32');
    const handover = this.#identity.withEncryptionKey((secretKey, publicKey) =>
      openKeyHandover(secretKey, publicKey, parameters.epoch, parameters.envelope),
    );
    try {
      return await this.#keys.receive(handover, parameters.expectedPublicKey);
    } finally {
      handover.secretKey.fill(0);
    }
  }

  /** Public information about every key held (never the secrets). */
  keys(): StoredKeyInfo[] {
    return this.#keys.list();
  }

  hasContractKey(contractId: Hex): boolean {
    return this.#keys.contractKeys(contractId).length > 0;
  }

  /** Runs a request and returns its signed result (see executor.ts). */
  execute(request: ExecuteRequest): Promise<ExecuteResult> {
    return this.#executor.execute(request);
  }

  /** Signs one FulfillmentBatch over EVM results this enclave produced (see executor.ts). */
  signBatch(request: SignBatchRequest): { root: Hex; count: number; signature: Hex } {
    return this.#executor.signBatch(request);
  }

  /** Answers a direct query, sealed end to end to the client's response key. */
  query(request: QueryRequest): Promise<QueryResult> {
    return this.#executor.query(request);
  }

  /**
   * Signs a message from this worker to the Phala-style chain's message queue:
   * blake2_256(SCALE("phala-bridge/worker-message/v1", topic Text, sequence u64, payload Bytes)),
   * Substrate-style. The tag keeps it from ever colliding with a result or state signature.
   */
  signWorkerMessage(topic: string, sequence: bigint, payload: Uint8Array): Hex {
    if (sequence < 0n || sequence >= 1n << 64n) throw new InvalidInputError('sequence', 'a u64');
    const seq = new Uint8Array(8);
    new DataView(seq.buffer).setBigUint64(0, sequence, true);
    const digest = blake2_256(
      concatBytes(WORKER_MESSAGE_TAG, compactAddLength(stringToU8a(topic)), seq, compactAddLength(payload)),
    );
    return toHex(this.#identity.signSubstrateDigest(digest));
  }

  /**
   * The identity key's ecdsa chain account as a polkadot-js signer, for the worker's own
   * transactions (registration); it refuses bytes shaped like a phala-bridge payload
   * (transaction-signer.ts), so it is no signing oracle for results.
   */
  transactionSigner(ss58Format = 42): IKeyringPair {
    return identityTransactionSigner(this.#identity, ss58Format);
  }

  async close(): Promise<void> {
    if (this.#ownsEngine) await this.#engine.close();
  }

  toJSON(): { tee: TeeKind; measurement: Hex; identity: PublicIdentity } {
    return { tee: this.tee, measurement: this.measurement, identity: this.publicIdentity };
  }
}

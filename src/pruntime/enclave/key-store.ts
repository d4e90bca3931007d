import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { blake2b } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type Hex, concatBytes, equalBytes, fromHex, toHex, utf8 } from '../../base/bytes.js';
import { BaseError, type Retry } from '../../base/errors.js';
import { openEnvelope, sealEnvelope } from '../../crypto/envelope.js';
import { outputContext, requestContext, stateContext } from '../../crypto/envelope-context.js';
import type { KeyHandover, KeyHandoverKind } from '../../crypto/key-handover.js';
import { type KeyPair, keyPairFromSecret } from '../../crypto/keys.js';
import type { Sealer } from './sealing.js';
import { readIfExists, writeSealedFile } from './sealed-files.js';

/**
 * Contract and cluster keys the worker was handed by gatekeepers, one sealed file per key under
 * `<dataDir>/keys/` (label `key:<kind>:<id>:<epoch>`). In memory each key is a ContractKey whose
 * secret stays in a #private field; the store offers what the executor needs to do with it.
 */
export type StoredKeyInfo = { kind: KeyHandoverKind; id: Hex; epoch: number; publicKey: Hex };

export class KeyMismatchError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'KeyMismatchError';
  constructor(id: Hex, epoch: number) {
    super('Handed-over key does not match the published public key.', {
      details: `key ${id} epoch ${epoch}`,
      docsPath: '/docs/pruntime.md#key-handover-and-the-key-store',
    });
  }
}

const FILE_PATTERN = /^(contract|cluster)-([0-9a-f]{64})-(\d{1,10})\.sealed$/;

function label(kind: KeyHandoverKind, id: Hex, epoch: number): string {
  return `key:${kind}:${id}:${epoch}`;
}

/** A contract's X25519 key at one epoch, and the derivations made from it (docs/pruntime.md#keys). */
export class ContractKey {
  readonly #pair: KeyPair;
  readonly contractId: Uint8Array;
  readonly epoch: number;

  constructor(contractId: Uint8Array, epoch: number, pair: KeyPair) {
    this.contractId = new Uint8Array(contractId);
    this.epoch = epoch;
    this.#pair = pair;
  }

  get publicKey(): Uint8Array {
    return new Uint8Array(this.#pair.publicKey);
  }

  /**
   * A request input, sealed by the client to this key for (origin, requester, end user, contract,
   * response key); the end user defaults to the requester (PROTOCOL §2).
   */
  openRequest(
    envelope: Uint8Array,
    originKey: string,
    requester: Uint8Array,
    responseKey: Uint8Array,
    endUser: Uint8Array = requester,
  ): Uint8Array {
    return this.#open(
      'request',
      requestContext(originKey, requester, this.contractId, responseKey, endUser),
      envelope,
    );
  }

  /** A direct query: like a request from origin "query" whose requester is the response key. */
  openQuery(envelope: Uint8Array, responseKey: Uint8Array): Uint8Array {
    return this.#open(
      'request',
      requestContext('query', responseKey, this.contractId, responseKey),
      envelope,
    );
  }

  openState(sealed: Uint8Array, version: bigint): Uint8Array {
    return this.#open('state', stateContext(this.contractId, version), sealed);
  }

  sealState(canonical: Uint8Array, version: bigint): Uint8Array {
    return sealEnvelope({
      recipientPublicKey: this.#pair.publicKey,
      purpose: 'state',
      context: stateContext(this.contractId, version),
      plaintext: canonical,
    });
  }

  /**
   * The state root: BLAKE2b-256 keyed with a key derived from the contract key. Keyed so that a
   * small state (a counter, a flag) cannot be guessed by hashing candidates against the root
   * published on chain; still identical on every worker that holds the key.
   */
  stateRoot(canonical: Uint8Array): Uint8Array {
    const key = hkdf(sha256, this.#pair.secretKey, utf8('phala-bridge/state-root/v1'), this.contractId, 32);
    return blake2b(canonical, { dkLen: 32, key });
  }

  /** The seed of `ctx.random` for one request: unpredictable without the key, equal on every worker. */
  randomSeed(requestId: Uint8Array): Uint8Array {
    return hkdf(
      sha256,
      this.#pair.secretKey,
      utf8('phala-bridge/random/v1'),
      concatBytes(this.contractId, requestId),
      32,
    );
  }

  #open(purpose: 'request' | 'state', context: Uint8Array, envelope: Uint8Array): Uint8Array {
    return openEnvelope({
      recipientSecretKey: this.#pair.secretKey,
      recipientPublicKey: this.#pair.publicKey,
      purpose,
      context,
      envelope,
    });
  }

  toJSON(): string {
    return `[ContractKey ${toHex(this.contractId)}@${this.epoch}]`;
  }
}

/** Seals an output to a requester's response key (no contract key involved). */
export function sealOutput(responseKey: Uint8Array, id: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return sealEnvelope({
    recipientPublicKey: responseKey,
    purpose: 'output',
    context: outputContext(id),
    plaintext,
  });
}

export class KeyStore {
  readonly #dir: string;
  readonly #sealer: Sealer;
  readonly #keys = new Map<string, { info: StoredKeyInfo; key: ContractKey }>();

  private constructor(dir: string, sealer: Sealer) {
    this.#dir = dir;
    this.#sealer = sealer;
  }

  /** Opens every sealed key under `dir`; a key this enclave cannot unseal stops the start. */
  static async open(dir: string, sealer: Sealer): Promise<KeyStore> {
    const store = new KeyStore(dir, sealer);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const name of names.sort()) {
      const match = FILE_PATTERN.exec(name);
      if (!match) continue;
      const kind = match[1] as KeyHandoverKind;
      const id = `0x${match[2]}` as Hex;
      const epoch = Number(match[3]);
      const sealed = await readIfExists(path.join(dir, name));
      if (!sealed) continue;
      const secret = sealer.open(label(kind, id, epoch), sealed);
      store.#remember(kind, id, epoch, secret);
      secret.fill(0);
    }
    return store;
  }

  /** Stores a handover (already opened by the enclave), sealed at rest. Idempotent. */
  async receive(handover: KeyHandover, expectedPublicKey?: Uint8Array): Promise<StoredKeyInfo> {
    const id = toHex(handover.id);
    const pair = keyPairFromSecret('x25519', handover.secretKey);
    if (expectedPublicKey && !equalBytes(pair.publicKey, expectedPublicKey))
      throw new KeyMismatchError(id, handover.epoch);
    const file = path.join(this.#dir, `${handover.kind}-${id.slice(2)}-${handover.epoch}.sealed`);
    await writeSealedFile(
      file,
      this.#sealer.seal(label(handover.kind, id, handover.epoch), handover.secretKey),
    );
    return this.#remember(handover.kind, id, handover.epoch, handover.secretKey);
  }

  list(): StoredKeyInfo[] {
    return [...this.#keys.values()].map((k) => ({ ...k.info }));
  }

  /** The contract's keys, newest epoch first. */
  contractKeys(contractId: Hex): ContractKey[] {
    return [...this.#keys.values()]
      .filter((k) => k.info.kind === 'contract' && k.info.id === contractId.toLowerCase())
      .sort((a, b) => b.info.epoch - a.info.epoch)
      .map((k) => k.key);
  }

  #remember(kind: KeyHandoverKind, id: Hex, epoch: number, secret: Uint8Array): StoredKeyInfo {
    const pair = keyPairFromSecret('x25519', secret);
    const info: StoredKeyInfo = { kind, id, epoch, publicKey: toHex(pair.publicKey) };
    this.#keys.set(label(kind, id, epoch), { info, key: new ContractKey(fromHex(id), epoch, pair) });
    return info;
  }
}

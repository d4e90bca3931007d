import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, u32be, utf8 } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { type KeyPair, keyPairFromSecret } from '../../crypto/keys.js';
import { MASTER_KEY_LENGTH, checkEpoch, deriveContractSecretKey, deriveMasterPublicKey } from './derive.js';

/**
 * The master keys a gatekeeper holds, one per epoch (old epochs are kept: workers need the old
 * contract keys to open state sealed before a rotation). Internal to the gatekeeper enclave: it
 * never leaves it except sealed (at rest, or to another attested gatekeeper).
 *
 * Encoding (the sealed file's and the gatekeeper handover's plaintext):
 *
 *   "PBMR" ‖ 0x01 ‖ u32be(count) ‖ count × (u32be(epoch) ‖ master key (32)), epochs ascending
 */
const MAGIC = utf8('PBMR');
const ENTRY = 4 + MASTER_KEY_LENGTH;
const MAX_ENTRIES = 4096;

export class MasterKeyRing {
  readonly #keys = new Map<number, Uint8Array>();

  /** Epochs held, ascending. */
  epochs(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The newest epoch held, or null when empty. */
  latest(): number | null {
    const epochs = this.epochs();
    return epochs.length ? epochs[epochs.length - 1]! : null;
  }

  has(epoch: number): boolean {
    return this.#keys.has(epoch);
  }

  /** Makes a fresh random master key for `epoch` (inside the enclave: the only place one is made). */
  generate(epoch: number): void {
    checkEpoch(epoch);
    if (this.#keys.has(epoch)) throw new InvalidInputError('epoch', `an epoch not held yet (${epoch} is)`);
    this.#keys.set(epoch, randomBytes(MASTER_KEY_LENGTH));
  }

  /** Holds a given master key for `epoch` (a seeded development devnet's; never in production). */
  insert(epoch: number, masterKey: Uint8Array): void {
    checkEpoch(epoch);
    if (masterKey.length !== MASTER_KEY_LENGTH)
      throw new InvalidInputError('masterKey', `${MASTER_KEY_LENGTH} bytes (got ${masterKey.length})`);
    if (this.#keys.has(epoch)) throw new InvalidInputError('epoch', `an epoch not held yet (${epoch} is)`);
    this.#keys.set(epoch, new Uint8Array(masterKey));
  }

  /** Adds every epoch of `other` this ring lacks; returns the epochs added. */
  merge(other: MasterKeyRing): number[] {
    const added: number[] = [];
    for (const [epoch, key] of other.#keys) {
      if (!this.#keys.has(epoch)) {
        this.#keys.set(epoch, new Uint8Array(key));
        added.push(epoch);
      }
    }
    return added.sort((a, b) => a - b);
  }

  /** Forgets one epoch (a key that was never published: another gatekeeper's won the epoch). */
  forget(epoch: number): void {
    this.#keys.get(epoch)?.fill(0);
    this.#keys.delete(epoch);
  }

  masterPublicKey(epoch: number): Uint8Array {
    return deriveMasterPublicKey(this.#key(epoch), epoch);
  }

  /** The contract's X25519 key pair at `epoch` (PROTOCOL §3). The caller zeroes its secret. */
  contractKeyPair(contractId: Uint8Array, epoch: number): KeyPair {
    const secret = deriveContractSecretKey(this.#key(epoch), contractId, epoch);
    try {
      return keyPairFromSecret('x25519', secret);
    } finally {
      secret.fill(0);
    }
  }

  /** The plaintext encoding, for sealing; the caller zeroes it after use. */
  encode(epochs: number[] = this.epochs()): Uint8Array {
    const sorted = [...new Set(epochs)].sort((a, b) => a - b);
    const parts: Uint8Array[] = [MAGIC, Uint8Array.of(1), u32be(sorted.length)];
    for (const epoch of sorted) parts.push(u32be(epoch), this.#key(epoch));
    return concatBytes(...parts);
  }

  static decode(bytes: Uint8Array): MasterKeyRing {
    const fail = (what: string): never => {
      throw new InvalidInputError('master key ring', `a v1 master key ring (${what})`);
    };
    if (bytes.length < 9) fail('too short');
    for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) fail('bad magic');
    if (bytes[4] !== 1) fail('unsupported version');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(5, false);
    if (count > MAX_ENTRIES || bytes.length !== 9 + count * ENTRY) fail('wrong length');
    const ring = new MasterKeyRing();
    let last = -1;
    for (let i = 0; i < count; i++) {
      const offset = 9 + i * ENTRY;
      const epoch = view.getUint32(offset, false);
      if (epoch <= last) fail('epochs not ascending');
      last = epoch;
      ring.#keys.set(epoch, bytes.slice(offset + 4, offset + ENTRY));
    }
    return ring;
  }

  /** Zeroes every key (when the enclave closes). */
  clear(): void {
    for (const key of this.#keys.values()) key.fill(0);
    this.#keys.clear();
  }

  #key(epoch: number): Uint8Array {
    const key = this.#keys.get(epoch);
    if (!key) throw new InvalidInputError('epoch', `a held master key epoch (not ${epoch})`);
    return key;
  }

  toJSON(): string {
    return `[MasterKeyRing epochs=${this.epochs().join(',')}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}

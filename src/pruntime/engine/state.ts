import { toHex, utf8 } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';

/**
 * A contract's key-value state and its canonical serialization (docs/pruntime.md#state):
 *
 *   "PBST" ‖ 0x01 ‖ u32be(count) ‖ entries in ascending byte order of their keys:
 *       u32be(keyLength) ‖ key ‖ u8(type) ‖ u32be(valueLength) ‖ value
 *
 * `type` is 0 for bytes and 1 for a UTF-8 string, so `get` returns what `set` was given. Keys
 * are bytes (a string key is its UTF-8), unique and non-empty. The encoding is a function of the
 * entries alone: the same state gives the same bytes on every worker.
 */
export const STATE_MAGIC = utf8('PBST');
export const STATE_VERSION = 1;
export const STATE_HEADER_BYTES = 9;
export const STATE_ENTRY_OVERHEAD = 9;
export const MAX_KEY_BYTES = 1024;

export type StateValueType = 'bytes' | 'string';
export type StateEntry = { key: Uint8Array; type: StateValueType; value: Uint8Array };

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export class ContractState {
  // Keyed by the key's hex, which is a faithful, ordered-irrelevant map key.
  readonly #entries = new Map<string, StateEntry>();
  #size = STATE_HEADER_BYTES;

  /** Bytes of the canonical serialization of the current entries. */
  get size(): number {
    return this.#size;
  }

  get count(): number {
    return this.#entries.size;
  }

  get(key: Uint8Array): StateEntry | undefined {
    return this.#entries.get(toHex(key));
  }

  has(key: Uint8Array): boolean {
    return this.#entries.has(toHex(key));
  }

  /** The canonical size after `set(key, …value)`, without changing anything. */
  sizeAfterSet(key: Uint8Array, valueLength: number): number {
    const previous = this.#entries.get(toHex(key));
    const removed = previous ? STATE_ENTRY_OVERHEAD + previous.key.length + previous.value.length : 0;
    return this.#size - removed + STATE_ENTRY_OVERHEAD + key.length + valueLength;
  }

  set(key: Uint8Array, type: StateValueType, value: Uint8Array): void {
    checkKey(key);
    const id = toHex(key);
    const previous = this.#entries.get(id);
    if (previous) this.#size -= STATE_ENTRY_OVERHEAD + previous.key.length + previous.value.length;
    this.#entries.set(id, { key: new Uint8Array(key), type, value: new Uint8Array(value) });
    this.#size += STATE_ENTRY_OVERHEAD + key.length + value.length;
  }

  delete(key: Uint8Array): boolean {
    const id = toHex(key);
    const previous = this.#entries.get(id);
    if (!previous) return false;
    this.#entries.delete(id);
    this.#size -= STATE_ENTRY_OVERHEAD + previous.key.length + previous.value.length;
    return true;
  }

  /** Entries in canonical (ascending key) order. */
  entries(): StateEntry[] {
    return [...this.#entries.values()].sort((a, b) => compareBytes(a.key, b.key));
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(this.#size);
    const view = new DataView(out.buffer);
    out.set(STATE_MAGIC, 0);
    out[4] = STATE_VERSION;
    view.setUint32(5, this.#entries.size, false);
    let offset = STATE_HEADER_BYTES;
    for (const entry of this.entries()) {
      view.setUint32(offset, entry.key.length, false);
      out.set(entry.key, offset + 4);
      offset += 4 + entry.key.length;
      out[offset] = entry.type === 'bytes' ? 0 : 1;
      view.setUint32(offset + 1, entry.value.length, false);
      out.set(entry.value, offset + 5);
      offset += 5 + entry.value.length;
    }
    return out;
  }

  static empty(): ContractState {
    return new ContractState();
  }

  /**
   * Parses a canonical serialization; anything that is not exactly one (bad magic, unsorted or
   * duplicate keys, trailing bytes, …) is refused, so one state has one encoding.
   */
  static parse(bytes: Uint8Array, field = 'state'): ContractState {
    const fail = (what: string): never => {
      throw new InvalidInputError(field, `a canonical contract state (${what})`);
    };
    if (bytes.length < STATE_HEADER_BYTES) fail('too short');
    for (let i = 0; i < 4; i++) if (bytes[i] !== STATE_MAGIC[i]) fail('bad magic');
    if (bytes[4] !== STATE_VERSION) fail(`unsupported version ${bytes[4]}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(5, false);
    const state = new ContractState();
    let offset = STATE_HEADER_BYTES;
    let previousKey: Uint8Array | null = null;
    for (let i = 0; i < count; i++) {
      if (offset + 4 > bytes.length) fail('truncated entry');
      const keyLength = view.getUint32(offset, false);
      if (keyLength === 0 || keyLength > MAX_KEY_BYTES) fail('bad key length');
      if (offset + 4 + keyLength + 5 > bytes.length) fail('truncated entry');
      const key = bytes.subarray(offset + 4, offset + 4 + keyLength);
      offset += 4 + keyLength;
      const typeByte = bytes[offset];
      if (typeByte !== 0 && typeByte !== 1) fail('bad value type');
      const valueLength = view.getUint32(offset + 1, false);
      if (offset + 5 + valueLength > bytes.length) fail('truncated value');
      const value = bytes.subarray(offset + 5, offset + 5 + valueLength);
      offset += 5 + valueLength;
      if (previousKey && compareBytes(previousKey, key) >= 0) fail('keys not strictly ascending');
      if (typeByte === 1 && !isUtf8(value)) fail('string value is not UTF-8');
      previousKey = key;
      state.set(key, typeByte === 0 ? 'bytes' : 'string', value);
    }
    if (offset !== bytes.length) fail('trailing bytes');
    return state;
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new InvalidInputError('state key', `1 to ${MAX_KEY_BYTES} bytes`);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The canonical serialization of the empty state (what a new contract starts from). */
export const EMPTY_STATE: Uint8Array = ContractState.empty().serialize();

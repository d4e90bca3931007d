// The contract's state: keys of 1 to 1,024 bytes, values of any length, kept encrypted between
// requests. Keys and values are strings (as UTF-8) or Uint8Arrays. Read-only in a query.
import * as host from "./host";
import { bytesOf } from "./bytes";

export class state {
  /** The value under `key`, or null when there is none. */
  static get<K>(key: K): Uint8Array | null {
    const k = bytesOf(key);
    const len = host.state_get(k.dataStart, k.length, 0, 0);
    if (len < 0) return null;
    const out = new Uint8Array(len);
    if (len > 0) host.state_get(k.dataStart, k.length, out.dataStart, len);
    return out;
  }

  /** The value under `key` read as UTF-8, or null when there is none. */
  static getString<K>(key: K): string | null {
    const value = state.get(key);
    if (value === null) return null;
    return String.UTF8.decodeUnsafe(value.dataStart, value.length);
  }

  static set<K, V>(key: K, value: V): void {
    const k = bytesOf(key);
    const v = bytesOf(value);
    host.state_set(k.dataStart, k.length, v.dataStart, v.length);
  }

  /** Removes `key`; true when it was there. */
  static delete<K>(key: K): bool {
    const k = bytesOf(key);
    return host.state_delete(k.dataStart, k.length) == 1;
  }

  static has<K>(key: K): bool {
    const k = bytesOf(key);
    return host.state_get(k.dataStart, k.length, 0, 0) >= 0;
  }
}

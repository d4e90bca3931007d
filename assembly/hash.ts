// Host-side hashing: 32-byte digests computed by the worker (charged per byte, not per instruction).
import * as host from "./host";
import { bytesOf } from "./bytes";

function digest<T>(alg: u32, data: T): Uint8Array {
  const bytes = bytesOf(data);
  const out = new Uint8Array(32);
  host.hash(alg, bytes.dataStart, bytes.length, out.dataStart);
  return out;
}

export class hash {
  static blake2_256<T>(data: T): Uint8Array {
    return digest(0, data);
  }

  static keccak_256<T>(data: T): Uint8Array {
    return digest(1, data);
  }

  static sha256<T>(data: T): Uint8Array {
    return digest(2, data);
  }
}

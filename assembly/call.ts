// The call itself: its input, its result, logs, randomness and failing with a message.
import * as host from "./host";
import { bytesOf } from "./bytes";

/** The call's input: the opened request input, or the query. */
export function input(): Uint8Array {
  const len = host.input(0, 0);
  const out = new Uint8Array(len);
  host.input(out.dataStart, len);
  return out;
}

/** The call's input read as UTF-8. */
export function inputString(): string {
  const bytes = input();
  return String.UTF8.decodeUnsafe(bytes.dataStart, bytes.length);
}

/**
 * The result of a request: `publicOutput` goes on chain as it is, `sealedOutput` is sealed to the
 * requester. Each is a string (sent as UTF-8) or a Uint8Array. The last call wins.
 */
export function output<P, S>(publicOutput: P, sealedOutput: S): void {
  const p = bytesOf(publicOutput);
  const s = bytesOf(sealedOutput);
  host.output(p.dataStart, p.length, s.dataStart, s.length);
}

/** The answer to a query (a string as UTF-8, or bytes), sealed to whoever asked. */
export function reply<T>(answer: T): void {
  const s = bytesOf(answer);
  host.output(0, 0, s.dataStart, s.length);
}

/** One log line, kept up to the call's log limit. */
export function log(message: string): void {
  const bytes = String.UTF8.encode(message);
  host.log(changetype<usize>(bytes), bytes.byteLength);
}

/**
 * Ends the call as `ContractThrew` with this message. It does not return; `unreachable()` after it
 * tells the compiler so where a value is expected.
 */
export function fail(message: string): void {
  const bytes = String.UTF8.encode(message);
  host.fail(changetype<usize>(bytes), bytes.byteLength);
  unreachable();
}

/** `length` (at most 65,536) deterministic random bytes derived from the request. */
export function random(length: i32): Uint8Array {
  const out = new Uint8Array(length);
  host.random(out.dataStart, length);
  return out;
}

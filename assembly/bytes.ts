// Bytes the SDK hands to the host: a contract passes a `string` (sent as UTF-8) or a `Uint8Array`
// wherever bytes are expected, decided at compile time.

/** The bytes of `value`: a string as UTF-8, a Uint8Array as it is. */
export function bytesOf<T>(value: T): Uint8Array {
  if (isString<T>()) return Uint8Array.wrap(String.UTF8.encode(changetype<string>(value)));
  if (idof<T>() == idof<Uint8Array>()) return changetype<Uint8Array>(value);
  ERROR("expected a string or a Uint8Array");
  return unreachable();
}

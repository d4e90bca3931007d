/**
 * The `"phala"` imports a WebAssembly contract may use and their exact signatures
 * (docs/wasm-host-interface.md#host-functions): the instrumenter refuses any other import and the
 * runtime provides exactly these, so both read this one table.
 */
export type WasmValType = 'i32' | 'i64';

export type HostFunctionSignature = {
  readonly params: readonly WasmValType[];
  readonly results: readonly WasmValType[];
};

/** The module name every import must come from. */
export const HOST_MODULE = 'phala';

const i32x2 = ['i32', 'i32'] as const;
const i32x3 = ['i32', 'i32', 'i32'] as const;
const i32x4 = ['i32', 'i32', 'i32', 'i32'] as const;
const none = [] as const;
const i32 = ['i32'] as const;

export const HOST_FUNCTIONS: Readonly<Record<string, HostFunctionSignature>> = Object.freeze({
  /** `(ptr, cap) -> len`: the call's input. */
  input: { params: i32x2, results: i32 },
  /** `(field, ptr, cap) -> len`: a request context field, -1 for an unknown field. */
  context: { params: i32x3, results: i32 },
  /** `(kptr, klen, vptr, vcap) -> len`: a state value, -1 when absent. */
  state_get: { params: i32x4, results: i32 },
  /** `(kptr, klen, vptr, vlen) -> ()`. */
  state_set: { params: i32x4, results: none },
  /** `(kptr, klen) -> 1 | 0`: whether the key was there. */
  state_delete: { params: i32x2, results: i32 },
  /** `(pptr, plen, sptr, slen) -> ()`: public and sealed output; the last call wins. */
  output: { params: i32x4, results: none },
  /** `(ptr, len) -> ()`: one UTF-8 log line. */
  log: { params: i32x2, results: none },
  /** `(alg, ptr, len, out) -> ()`: a 32-byte digest (0 blake2b-256, 1 keccak-256, 2 SHA-256). */
  hash: { params: i32x4, results: none },
  /** `(ptr, len) -> ()`: deterministic random bytes derived from the request. */
  random: { params: i32x2, results: none },
  /** `(ptr, len) -> ()`: ends the call as ContractThrew with this message. */
  fail: { params: i32x2, results: none },
});

export function isHostFunctionName(name: string): boolean {
  return Object.hasOwn(HOST_FUNCTIONS, name);
}

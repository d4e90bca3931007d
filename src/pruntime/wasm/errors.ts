import { BaseError, type BaseErrorParameters, type Retry } from '../../base/errors.js';

/** Why a WebAssembly module is refused (docs/wasm-host-interface.md#refusals). */
export type WasmRefusalReason =
  | 'module-too-large'
  | 'malformed'
  | 'import-not-allowed'
  | 'threads'
  | 'simd'
  | 'unsupported-feature'
  | 'no-memory-export'
  | 'reserved-export'
  | 'memory-too-large'
  | 'table-too-large'
  | 'too-many-functions'
  | 'too-many-locals'
  | 'function-too-large'
  | 'too-many-globals'
  | 'start-out-of-gas'
  | 'start-trapped';

/**
 * A WebAssembly module the worker will not run. Refusal is a function of the module's bytes (and
 * of the measured code), so every worker refuses the same module for the same reason.
 */
export class WasmModuleRefusedError extends BaseError {
  /** The same bytes are refused the same way. */
  static override readonly retry: Retry = 'never';
  override name = 'WasmModuleRefusedError';
  readonly reason: WasmRefusalReason;
  /** The offending part, as the message names it. */
  readonly what: string;
  /**
   * @param what names the offending part: the import, the limit and the value past it, the
   *   opcode and where it is.
   */
  constructor(reason: WasmRefusalReason, what: string, parameters: BaseErrorParameters = {}) {
    super(`WebAssembly module refused (${reason}): ${what}.`, {
      ...parameters,
      docsPath: '/docs/wasm-host-interface.md#refusals',
    });
    this.reason = reason;
    this.what = what;
  }
}

import { utf8 } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';

/**
 * The two kinds of confidential contract code (docs/wasm-host-interface.md): bytes that start
 * with the WebAssembly magic `\0asm` are a module, anything else is UTF-8 JavaScript. The chain
 * records the same kind at upload (`CodeInfo.kind`), the worker tells the kinds apart the same
 * way from the bytes it verified against the code hash, and the SDK from the file it deploys: one
 * definition for every layer.
 */
export type CodeKind = 'js' | 'wasm';

/** `\0asm`, the first four bytes of every WebAssembly binary module. */
export const WASM_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x00, 0x61, 0x73, 0x6d);

/** The kind of contract code these bytes are. */
export function codeKindOf(bytes: Uint8Array): CodeKind {
  return bytes.length >= 4 && WASM_MAGIC.every((b, i) => bytes[i] === b) ? 'wasm' : 'js';
}

/** Code that is neither a WebAssembly module nor UTF-8 text: no worker can ever run it. */
export class ContractCodeUnreadableError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'ContractCodeUnreadableError';
  constructor(details?: string) {
    super('The contract code is neither a WebAssembly module nor UTF-8 JavaScript.', {
      details,
      docsPath: '/docs/wasm-host-interface.md',
    });
  }
}

/**
 * The code the engine runs: the module's bytes for a WebAssembly module, the JavaScript source
 * (decoded strictly) otherwise. Throws ContractCodeUnreadableError for JavaScript that is not UTF-8.
 */
export function contractCodeOf(bytes: Uint8Array): string | Uint8Array {
  if (codeKindOf(bytes) === 'wasm') return bytes;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ContractCodeUnreadableError(`${bytes.length} bytes that are not UTF-8`);
  }
}

/** The bytes the chain stores (and hashes) for contract code: UTF-8 for JavaScript. */
export function contractCodeBytes(code: string | Uint8Array): Uint8Array {
  return typeof code === 'string' ? utf8(code) : code;
}

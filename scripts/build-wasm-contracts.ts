import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { BaseError, type Retry } from '../src/base/errors.js';

/**
 * `npm run build:contracts` (also): compiles every examples/wasm/*.ts contract, written with the
 * AssemblyScript SDK in assembly/, to examples/wasm/build/<name>.wasm. With `--check`
 * (`npm run check:artifacts`) it compiles in memory and fails when a committed module differs.
 * Every module is checked the way a worker first looks at it: valid WebAssembly, and imports from
 * "phala" only (listed).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = 'examples/wasm';
const BUILD = `${EXAMPLES}/build`;

/**
 * The compiler options every example is built with, the same as the asconfig.json the guide
 * (docs/wasm-contracts.md) has users copy: the stub runtime (a call starts from a fresh instance,
 * so nothing needs freeing and no collector runs), -O3, assertions kept, no SIMD, threads or
 * reference types (asc leaves them off unless enabled), AssemblyScript's abort sent to phala.fail.
 */
export const ASC_OPTIONS = ['--optimizeLevel', '3', '--shrinkLevel', '0', '--runtime', 'stub'] as const;
const ABORT_IN_REPO = 'abort=assembly/abort/phalaAbort';

export type WasmImport = { module: string; name: string; kind: string; params: string[]; results: string[] };

/** A contract that does not compile, or compiles to a module a worker would refuse. */
export class WasmCompileError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'WasmCompileError';
  constructor(entry: string, problem: string, details?: string) {
    super(`${entry}: ${problem}`, { details, docsPath: 'docs/wasm-contracts.md' });
  }
}

/**
 * Runs asc in memory with `args` (entry files, options; or `--target` of the asconfig.json in
 * `baseDir`) and returns the module. Sources are read from disk, node_modules included, as asc
 * resolves `import … from "phala-bridge/assembly"`; nothing is written.
 */
export async function compileAssemblyScript({
  baseDir,
  args,
}: {
  baseDir: string;
  args: readonly string[];
}): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const stderr: string[] = [];
  const { error } = await asc.main([...args, '--baseDir', baseDir, '--outFile', 'out.wasm'], {
    stdout: { write: () => true },
    stderr: {
      write: (chunk: string | Uint8Array) => {
        stderr.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      },
    },
    writeFile: (name: string, contents: string | Uint8Array) => {
      if (name.endsWith('out.wasm') && typeof contents !== 'string') binary = contents;
    },
  });
  if (error || !binary)
    throw new WasmCompileError(`asc ${args.join(' ')}`, error?.message ?? 'wrote no module', stderr.join(''));
  return binary;
}

/** The part of the WebAssembly JavaScript API used here (the project compiles without the DOM lib). */
type WasmApi = {
  validate(bytes: Uint8Array): boolean;
  Module: { new (bytes: Uint8Array): object; exports(module: object): { name: string; kind: string }[] };
};
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const VALTYPES: Record<number, string> = { 127: 'i32', 126: 'i64', 125: 'f32', 124: 'f64', 123: 'v128' };

/** The module's imports with the signatures of imported functions, read from its type and import sections. */
export function wasmImports(bytes: Uint8Array): WasmImport[] {
  let at = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      result |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return result >>> 0;
      shift += 7;
    }
  };
  const name = (): string => {
    const len = u32();
    const text = Buffer.from(bytes.subarray(at, at + len)).toString('utf8');
    at += len;
    return text;
  };
  const types: { params: string[]; results: string[] }[] = [];
  const imports: WasmImport[] = [];
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const size = u32();
    const end = at + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        at++; // 0x60, a function type
        const params = Array.from({ length: u32() }, () => VALTYPES[bytes[at++]!] ?? '?');
        const results = Array.from({ length: u32() }, () => VALTYPES[bytes[at++]!] ?? '?');
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = bytes[at++]!;
        if (kind === 0) {
          const type = types[u32()] ?? { params: ['?'], results: ['?'] };
          imports.push({ module, name: field, kind: 'function', ...type });
        } else {
          imports.push({
            module,
            name: field,
            kind: ['function', 'table', 'memory', 'global'][kind] ?? '?',
            params: [],
            results: [],
          });
          break; // the rest of a non-function import is not needed: any such import is refused
        }
      }
    }
    at = end;
  }
  return imports;
}

/** Why a compiled example is not what a worker accepts, or null. */
export function checkModule(bytes: Uint8Array): string | null {
  if (!Wasm.validate(bytes)) return 'not valid WebAssembly';
  const foreign = wasmImports(bytes).filter((i) => i.module !== 'phala' || i.kind !== 'function');
  if (foreign.length)
    return `imports outside "phala": ${foreign.map((i) => `${i.module}.${i.name}`).join(', ')}`;
  const exports = Wasm.Module.exports(new Wasm.Module(bytes)).map((e) => e.name);
  if (!exports.includes('memory')) return 'no memory export';
  if (!exports.includes('handle') && !exports.includes('query')) return 'exports neither handle nor query';
  return null;
}

/** The examples' entry files, by name. */
export function exampleNames(): string[] {
  return readdirSync(path.join(root, EXAMPLES))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

export async function buildExample(name: string): Promise<Uint8Array> {
  return compileAssemblyScript({
    baseDir: root,
    args: [`${EXAMPLES}/${name}.ts`, ...ASC_OPTIONS, '--use', ABORT_IN_REPO],
  });
}

async function main(check: boolean): Promise<void> {
  const stale: string[] = [];
  for (const name of exampleNames()) {
    const binary = await buildExample(name);
    const problem = checkModule(binary);
    if (problem) throw new WasmCompileError(`${EXAMPLES}/${name}.ts`, problem);
    const imports = wasmImports(binary).map((i) => i.name);
    const file = path.join(root, BUILD, `${name}.wasm`);
    process.stdout.write(`${BUILD}/${name}.wasm  ${binary.length} bytes  imports: ${imports.join(', ')}\n`);
    if (check) {
      let committed: Buffer | null = null;
      try {
        committed = readFileSync(file);
      } catch {}
      if (!committed?.equals(binary)) stale.push(`${BUILD}/${name}.wasm`);
    } else writeFileSync(file, binary);
  }
  if (stale.length) {
    process.stderr.write(`out of date (run npm run build:contracts): ${stale.join(', ')}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.includes('--check'));
}

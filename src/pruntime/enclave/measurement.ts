import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Hex, concatBytes, toHex, u32be, utf8 } from '../../base/bytes.js';
import { sha256 } from '../../crypto/hash.js';
import { quickjsWasmPath } from '../engine/quickjs-wasm.js';

/**
 * The simulated enclave's measurement (its MRENCLAVE): a hash over the code that runs inside the
 * enclave boundary, so that any change to the enclave, the contract engine, the crypto or the
 * base helpers, or to the QuickJS build, gives a different measurement, a different sealing key
 * and a quote the gatekeepers' allowlist does not know (docs/pruntime.md#measurement).
 *
 *   files   = every *.ts file under src/base, src/crypto, src/pruntime/engine and
 *             src/pruntime/enclave (paths relative to the repository, "/"-separated), plus the
 *             QuickJS wasm under the fixed name MEASURED_WASM_PATH
 *   sorted  by path, compared as UTF-8 bytes
 *   measurement = sha256("phala-bridge/measurement/v1" ‖ u32be(file count) ‖
 *                        for each file: u32be(path length) ‖ path ‖ u64be(content length) ‖ content)
 *
 * On SGX (Gramine) the hardware measures the whole manifest instead and this function is not used.
 */
export const MEASURED_DIRECTORIES = [
  'src/base',
  'src/crypto',
  'src/pruntime/engine',
  'src/pruntime/enclave',
] as const;
export const MEASURED_WASM_PATH =
  'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm';
const DOMAIN = utf8('phala-bridge/measurement/v1');

export type MeasuredFile = { path: string; length: number; sha256: Hex };
export type CodeMeasurement = { measurement: Uint8Array; files: MeasuredFile[] };

export type ComputeMeasurementOptions = {
  /** Repository root (default: the one this file is in). */
  root?: string;
  /** The QuickJS wasm to measure (default: the installed one). */
  wasmPath?: string;
};

export function repositoryRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
}

function listTypeScript(root: string, directory: string): string[] {
  const out: string[] = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(root, relative)).sort()) {
      const child = `${relative}/${name}`;
      const stat = statSync(path.join(root, child));
      if (stat.isDirectory()) walk(child);
      else if (stat.isFile() && name.endsWith('.ts')) out.push(child);
    }
  };
  walk(directory);
  return out;
}

export function computeCodeMeasurement(options: ComputeMeasurementOptions = {}): CodeMeasurement {
  const root = options.root ?? repositoryRoot();
  const entries: { path: string; content: Uint8Array }[] = [];
  for (const directory of MEASURED_DIRECTORIES) {
    for (const file of listTypeScript(root, directory)) {
      entries.push({ path: file, content: readFileSync(path.join(root, file)) });
    }
  }
  entries.push({ path: MEASURED_WASM_PATH, content: readFileSync(options.wasmPath ?? quickjsWasmPath()) });
  entries.sort((a, b) => Buffer.compare(utf8(a.path), utf8(b.path)));
  const parts: Uint8Array[] = [DOMAIN, u32be(entries.length)];
  for (const entry of entries) {
    const name = utf8(entry.path);
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(entry.content.length), false);
    parts.push(u32be(name.length), name, length, entry.content);
  }
  return {
    measurement: sha256(concatBytes(...parts)),
    files: entries.map((e) => ({ path: e.path, length: e.content.length, sha256: toHex(sha256(e.content)) })),
  };
}

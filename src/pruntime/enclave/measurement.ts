import { readFileSync } from 'node:fs';
import {
  type CodeMeasurement,
  measureSources,
  repositoryRoot,
  codeFilesUnder,
} from '../../crypto/code-measurement.js';
import { quickjsWasmPath } from '../engine/quickjs-wasm.js';

export { type CodeMeasurement, type MeasuredFile, repositoryRoot } from '../../crypto/code-measurement.js';

/**
 * The simulated worker enclave's measurement (src/crypto/code-measurement.ts,
 * docs/pruntime.md#measurement): every code file under MEASURED_DIRECTORIES (*.ts, or dist/*.js in the built package) plus the QuickJS wasm
 * under the fixed name MEASURED_WASM_PATH, so any change to the enclave, the contract engine, the
 * crypto or the base helpers, or to the QuickJS build, gives a different measurement.
 */
export const MEASURED_DIRECTORIES = [
  'src/base',
  'src/crypto',
  'src/pruntime/engine',
  'src/pruntime/enclave',
] as const;
export const MEASURED_WASM_PATH =
  'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm';
const DOMAIN = 'phala-bridge/measurement/v1';

export type ComputeMeasurementOptions = {
  /** Repository root (default: the one this file is in). */
  root?: string;
  /** The QuickJS wasm to measure (default: the installed one). */
  wasmPath?: string;
};

export function computeCodeMeasurement(options: ComputeMeasurementOptions = {}): CodeMeasurement {
  const root = options.root ?? repositoryRoot();
  return measureSources(DOMAIN, [
    ...codeFilesUnder(root, MEASURED_DIRECTORIES),
    { path: MEASURED_WASM_PATH, content: readFileSync(options.wasmPath ?? quickjsWasmPath()) },
  ]);
}

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/base/bytes.js';
import {
  MEASURED_DIRECTORIES,
  MEASURED_WASM_PATH,
  computeCodeMeasurement,
  repositoryRoot,
} from '../../src/pruntime/enclave/measurement.js';
import { SealedDataError, Sealer } from '../../src/pruntime/enclave/sealing.js';
import { quickjsWasmPath } from '../../src/pruntime/engine/quickjs-wasm.js';

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the measured directories, to change one file in. */
function copyOfMeasuredTree(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'measure-'));
  temporary.push(root);
  for (const dir of MEASURED_DIRECTORIES)
    cpSync(path.join(repositoryRoot(), dir), path.join(root, dir), { recursive: true });
  return root;
}

describe('measurement of the enclave code bundle', () => {
  it('is a stable sha256 over the sorted list of measured files and the QuickJS wasm', () => {
    const a = computeCodeMeasurement();
    const b = computeCodeMeasurement();
    expect(toHex(a.measurement)).toBe(toHex(b.measurement));
    expect(a.measurement).toHaveLength(32);
    const paths = a.files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort((x, y) => Buffer.compare(utf8(x), utf8(y))));
    expect(paths).toContain('src/pruntime/engine/sandbox.ts');
    expect(paths).toContain('src/pruntime/enclave/measurement.ts');
    expect(paths).toContain('src/crypto/envelope.ts');
    expect(paths).toContain(MEASURED_WASM_PATH);
    expect(paths.some((p) => p.startsWith('src/cli') || p.startsWith('test/'))).toBe(false);
  });

  it('is the same for an identical copy and changes when an engine, enclave or crypto file changes', () => {
    const original = toHex(computeCodeMeasurement().measurement);
    const root = copyOfMeasuredTree();
    expect(toHex(computeCodeMeasurement({ root }).measurement)).toBe(original);
    for (const file of [
      'src/pruntime/engine/prelude.ts',
      'src/pruntime/enclave/sealing.ts',
      'src/crypto/hash.ts',
    ]) {
      const full = path.join(root, file);
      const before = readFileSync(full);
      writeFileSync(full, Buffer.concat([before, Buffer.from('\n// changed\n')]));
      expect(toHex(computeCodeMeasurement({ root }).measurement), file).not.toBe(original);
      writeFileSync(full, before);
    }
    writeFileSync(path.join(root, 'src/pruntime/engine/new-file.ts'), 'export {};\n');
    expect(toHex(computeCodeMeasurement({ root }).measurement)).not.toBe(original);
  });

  it('changes when the QuickJS build changes', () => {
    const root = copyOfMeasuredTree();
    const wasm = path.join(root, 'quickjs.wasm');
    const bytes = readFileSync(quickjsWasmPath());
    writeFileSync(wasm, bytes);
    const same = toHex(computeCodeMeasurement({ root, wasmPath: wasm }).measurement);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(wasm, bytes);
    expect(toHex(computeCodeMeasurement({ root, wasmPath: wasm }).measurement)).not.toBe(same);
  });
});

describe('sealed storage', () => {
  const secret = new Uint8Array(32).fill(1);
  const measurement = new Uint8Array(32).fill(2);
  const sealer = Sealer.derive(secret, measurement);

  it('opens what it sealed, with a fresh nonce each time', () => {
    const a = sealer.seal('identity', utf8('secret bytes'));
    const b = sealer.seal('identity', utf8('secret bytes'));
    expect(toHex(a)).not.toBe(toHex(b));
    expect(Buffer.from(sealer.open('identity', a)).toString()).toBe('secret bytes');
    expect(Buffer.from(a).includes(Buffer.from('secret bytes'))).toBe(false);
  });

  it('refuses another measurement, another platform secret, another label and any altered byte', () => {
    const sealed = sealer.seal('identity', utf8('x'));
    const otherBuild = Sealer.derive(secret, new Uint8Array(32).fill(3));
    const otherPlatform = Sealer.derive(new Uint8Array(32).fill(9), measurement);
    for (const [what, open] of [
      ['measurement', () => otherBuild.open('identity', sealed)],
      ['platform', () => otherPlatform.open('identity', sealed)],
      ['label', () => sealer.open('key:contract:0x00:1', sealed)],
    ] as const) {
      expect(open, what).toThrow(SealedDataError);
    }
    for (let i = 0; i < sealed.length; i++) {
      const altered = sealed.slice();
      altered[i]! ^= 0x01;
      expect(() => sealer.open('identity', altered)).toThrow(SealedDataError);
    }
    expect(() => sealer.open('identity', sealed.subarray(0, 20))).toThrow(/not sealed data/);
  });

  it('does not show its key in JSON', () => {
    expect(JSON.stringify({ sealer })).toBe('{"sealer":"[Sealer]"}');
  });
});

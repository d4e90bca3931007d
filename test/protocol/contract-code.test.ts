import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ContractCodeUnreadableError,
  codeKindOf,
  contractCodeBytes,
  contractCodeOf,
} from '../../src/protocol/contract-code.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('contract code kinds (docs/wasm-host-interface.md)', () => {
  it('tells a module by its \\0asm magic, anything else is JavaScript', () => {
    const greeter = new Uint8Array(readFileSync(path.join(repo, 'examples/wasm/build/greeter.wasm')));
    expect(codeKindOf(greeter)).toBe('wasm');
    expect(contractCodeOf(greeter)).toBe(greeter);
    const js = contractCodeBytes('export function handle() {}');
    expect(codeKindOf(js)).toBe('js');
    expect(contractCodeOf(js)).toBe('export function handle() {}');
    // Three bytes of the magic are not a module; nor is the magic later in the text.
    expect(codeKindOf(Uint8Array.of(0x00, 0x61, 0x73))).toBe('js');
    expect(codeKindOf(contractCodeBytes('// \0asm'))).toBe('js');
  });

  it('refuses JavaScript that is not UTF-8, and round-trips what it reads', () => {
    expect(() => contractCodeOf(Uint8Array.of(0x65, 0xff, 0xfe))).toThrow(ContractCodeUnreadableError);
    const text = 'export const greeting = "héllo ✓";';
    expect(contractCodeOf(contractCodeBytes(text))).toBe(text);
  });
});

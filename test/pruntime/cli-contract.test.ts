import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'contract-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [path.join(repo, 'bin/phala-bridge.js'), ...args],
      { cwd: repo },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const contract = path.join(dir, 'counter.js');
writeFileSync(
  contract,
  `export function handle(input, ctx) {
     const n = Number(ctx.state.get('count') ?? '0') + input.length;
     ctx.state.set('count', String(n));
     ctx.log('got', input);
     return { public: 'count ' + n, sealed: ctx.random(4) };
   }
   export function query(input, ctx) { return { count: ctx.state.get('count') }; }`,
);

describe('phala-bridge contract run', () => {
  it('runs handle, prints outputs, state and gas, and saves the new state when asked', async () => {
    const stateFile = path.join(dir, 'state.json');
    const first = await cli(
      'contract',
      'run',
      contract,
      '--input',
      '0x010203',
      '--state',
      stateFile,
      '--save-state',
    );
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('public    0x636f756e742033  "count 3"');
    expect(first.stdout).toContain('"count" = "3"');
    expect(first.stdout).toMatch(/gas used {2}\d+/);
    expect(first.stdout).toContain('got 0x010203');
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({
      v: 1,
      entries: [{ key: 'count', string: '3' }],
    });

    const second = await cli('contract', 'run', contract, '--input', '0x01', '--state', stateFile, '--json');
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout);
    expect(result).toMatchObject({
      ok: true,
      kind: 'handle',
      public: { text: 'count 4' },
      stateChanged: true,
    });
    expect(result.state.entries).toEqual([{ key: 'count', string: '4' }]);
    expect(result.sealed.hex).toMatch(/^0x[0-9a-f]{8}$/);
    // Without --save-state the file is left as it was.
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).entries[0].string).toBe('3');
  });

  it('runs a WebAssembly module (a file starting with \\0asm) the same way', async () => {
    const greeter = path.join(repo, 'examples/wasm/build/greeter.wasm');
    const run = await cli(
      'contract',
      'run',
      greeter,
      '--input',
      '0x616461',
      '--origin',
      '{"kind":"evm"}',
      '--json',
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ ok: true, public: { text: 'hello, ada!' }, stateChanged: true });
    expect(JSON.parse(result.sealed.text)).toMatchObject({ greeting: 1, origin: 'evm' });
    expect(result.gasUsed).toBeGreaterThan(0);
  });

  it('exits 1 with the named error when the contract fails, and 2 on a usage error', async () => {
    const loop = path.join(dir, 'loop.js');
    writeFileSync(loop, 'export function handle() { while (true) {} }');
    const failed = await cli('contract', 'run', loop, '--gas', '100000', '--json');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      ok: false,
      error: { code: 'OutOfGas' },
      gasUsed: 100000,
    });
    const usage = await cli('contract', 'run', contract, '--input', 'xyz');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--input: expected even-length hex');
    const badState = path.join(dir, 'bad-state.json');
    writeFileSync(badState, '{"v":1,"entries":[{"key":"a"}]}');
    const refused = await cli('contract', 'run', contract, '--state', badState);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('exactly one of string and bytes');
  });
});

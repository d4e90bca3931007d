import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { buildRequestProgram, fungibleAsset, parent } from '../../src/xcm/index.js';

const topic = `0x${'3c'.repeat(32)}` as const;
const request = buildRequestProgram({ fees: fungibleAsset(parent(), 10n ** 10n), call: '0x2a00', topic });

/** Runs the CLI in this process and captures what it writes. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await runCli(['node', 'phala-bridge', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('phala-bridge xcm', () => {
  it('decodes a message as text and as JSON', async () => {
    const text = await cli('xcm', 'decode', request.hex);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`id    ${topic} (SetTopic)`);
    expect(text.out).toContain('Transact originKind=SovereignAccount');
    const json = await cli('xcm', 'decode', request.hex, '--json');
    expect(JSON.parse(json.out)).toMatchObject({
      kind: 'xcm',
      version: 5,
      id: topic,
      hash: request.hash,
      json: request.json,
    });
  });

  it('decodes an XCMP page, a location and assets', async () => {
    const page = await cli('xcm', 'decode', `0x00${request.hex.slice(2)}`, '--json');
    expect(JSON.parse(page.out)).toMatchObject({
      format: 'ConcatenatedVersionedXcm',
      messages: [{ id: topic }],
    });
    const loc = await cli('xcm', 'decode', '0x04010100411f', '--kind', 'location');
    expect(loc.out.trim()).toBe('Location V4: ../Parachain(2000)');
  });

  it('encodes JSON and prints the id', async () => {
    expect((await cli('xcm', 'encode', JSON.stringify(request.json))).out.trim()).toBe(request.hex);
    expect((await cli('xcm', 'id', request.hex)).out.trim()).toBe(topic);
    expect((await cli('xcm', 'id', '0x04040a')).out.trim()).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('converts between versions', async () => {
    const v4 = await cli('xcm', 'convert', request.hex, '--to', '4', '--json');
    expect(JSON.parse(v4.out)).toMatchObject({ version: 4, id: topic });
  });

  it('fails with exit 1 and one line for bad bytes, JSON or conversions', async () => {
    for (const args of [
      ['xcm', 'decode', '0x0404ff'],
      ['xcm', 'encode', '{"v4":[{"clearOrigin":1}]}'],
      ['xcm', 'encode', '{not json'],
      ['xcm', 'id', 'zz'],
      ['xcm', 'convert', '0x05043000000004', '--to', '4'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^error: /);
    }
  });

  it('fails with exit 2 on usage errors', async () => {
    expect((await cli('xcm', 'decode')).code).toBe(2);
    expect((await cli('xcm', 'convert', request.hex, '--to', '7')).code).toBe(2);
    expect((await cli('xcm', 'decode', request.hex, '--kind', 'weights')).code).toBe(2);
  });

  it('runs as the installed binary', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      'bin/phala-bridge.js',
      'xcm',
      'id',
      request.hex,
    ]);
    expect(stdout.trim()).toBe(topic);
    const failed = await promisify(execFile)(process.execPath, [
      'bin/phala-bridge.js',
      'xcm',
      'decode',
      '0x06',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/unsupported-version/);
  });
});

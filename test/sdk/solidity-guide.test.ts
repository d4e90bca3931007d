import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { extractGuide } from './solidity-guide.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const guide = extractGuide(readFileSync(path.join(root, 'docs/solidity.md'), 'utf8'));
const run = promisify(execFile);

/** What the guide's code may import: the package's public entry points and what a user installs. */
const ALLOWED = /^(node:.+|phala-bridge\/(sdk|testing|abi|contracts-solidity\/.+)|viem(\/.+)?|solc)$/;

describe('docs/solidity.md', () => {
  it('holds the consumer, the compile script and the guide script, importing only public entry points', () => {
    expect(guide.map((g) => g.file)).toEqual(['MyConsumer.sol', 'compile.mjs', 'guide.mjs']);
    const imports = guide.flatMap((g) =>
      [...g.code.matchAll(/(?:from|import)\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!),
    );
    expect(imports.filter((i) => !ALLOWED.test(i))).toEqual([]);
    expect(guide[0]!.code).toContain(
      'import {ConfidentialConsumer} from "phala-bridge/contracts-solidity/ConfidentialConsumer.sol"',
    );
  });

  // A fresh folder laid out as an app that installed the package: node_modules/phala-bridge is
  // this repository (its sources, through the phala-bridge-source condition), beside solc and viem.
  const app = mkdtempSync(path.join(os.tmpdir(), 'phala-bridge-solidity-guide-'));
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('runs: compiles the consumer with solc-js, deploys it, seals, requests, waits, opens; a wrong seal is refused fast', async () => {
    mkdirSync(path.join(app, 'node_modules'));
    symlinkSync(root, path.join(app, 'node_modules/phala-bridge'), 'dir');
    for (const dep of ['solc', 'viem', 'tsx'])
      symlinkSync(path.join(root, 'node_modules', dep), path.join(app, 'node_modules', dep), 'dir');
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    for (const { file, code } of guide) writeFileSync(path.join(app, file), code);

    const node = (file: string) =>
      run(process.execPath, ['--conditions=phala-bridge-source', '--import', 'tsx', file], {
        cwd: app,
        timeout: 300_000,
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      });
    const compiled = await node('compile.mjs');
    expect(compiled.stdout).toMatch(/compiled MyConsumer with solc 0\.8\.\d+/);
    const started = Date.now();
    const { stdout } = await node('guide.mjs');
    expect(stdout).toContain('public output: hello, Solidity!');
    expect(stdout).toContain("origin: 'evm'");
    expect(stdout).toContain('refused: input-unreadable (retry: never)');
    console.log(`guide.mjs ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 420_000);
});

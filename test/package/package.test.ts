import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import solc from 'solc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractGuide } from '../sdk/solidity-guide.js';
import { type InstalledPackage, packAndInstall, repoRoot, treeBytes } from './installed-package.js';

/**
 * Issue 16's user paths, from the packed tarball installed with `npm install --omit=dev` into a
 * fresh project (installed-package.ts): plain Node imports, the bin, the production config
 * example, Solidity from node_modules, a strict consumer tsc, the devnet from the installed
 * package once its extras are installed as docs/testing.md#devnet-extras says.
 */
let pkg: InstalledPackage;
const report: Record<string, unknown> = {};

beforeAll(async () => {
  pkg = await packAndInstall();
}, 900_000);

afterAll(() => {
  pkg?.remove();
  // The figures README quotes (install size, package count, --version start); kept beside the
  // other test artifacts and printed.
  mkdirSync(path.join(repoRoot, 'test-artifacts'), { recursive: true });
  writeFileSync(
    path.join(repoRoot, 'test-artifacts/package-report.json'),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  console.log('package report', report);
});

const node = (args: string[], cwd?: string) =>
  pkg.run(process.execPath, args, { timeoutMs: 120_000, ...(cwd ? { cwd } : {}) });
const bin = () => path.join(pkg.appDir, 'node_modules/.bin/phala-bridge');

describe('the packed package', () => {
  it('ships dist/, the Solidity sources and the deploy examples, and nothing from test/, bench/ or the tapes', async () => {
    const { stdout } = await pkg.run('tar', ['-tzf', pkg.tarball]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/sdk/index.js');
    expect(files).toContain('package/dist/sdk/index.d.ts');
    expect(files).toContain('package/dist/cli/main.js');
    expect(files).toContain('package/contracts-solidity/ConfidentialConsumer.sol');
    expect(files).toContain('package/deploy/production.yaml');
    expect(files.filter((f) => /^package\/(test|bench|scripts)\//.test(f) || f.endsWith('.ndjson'))).toEqual(
      [],
    );
    report.tarballFiles = files.length;
  });

  it('holds no hardhat, solc, chopsticks or tsx in the runtime tree; reports its size and package count', async () => {
    const { stdout } = await pkg.run('npm', ['ls', '--omit=dev', '--all', '--parseable']);
    const dirs = [...new Set(stdout.split('\n').filter(Boolean))].filter((d) => d !== pkg.appDir);
    const names = dirs.map((d) => d.slice(d.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(
      names.filter((n) => /^(hardhat|solc|tsx|@acala-network\/chopsticks|@nomicfoundation\/.*)$/.test(n)),
    ).toEqual([]);
    expect(names).toContain('phala-bridge');
    report.daemonInstall = {
      packages: dirs.length,
      megabytes: Math.round(treeBytes(path.join(pkg.appDir, 'node_modules')) / 1e5) / 10,
    };
  });

  it('imports phala-bridge/sdk, /testing, /devnet and /abi with plain Node (no tsx, no loader)', async () => {
    const script = [
      "const sdk = await import('phala-bridge/sdk');",
      "const testing = await import('phala-bridge/testing');",
      "const devnet = await import('phala-bridge/devnet');",
      "const abi = await import('phala-bridge/abi');",
      'console.log(JSON.stringify({ sdk: typeof sdk.sealInputForEvm, testing: typeof testing.startDevnet,',
      '  devnet: typeof devnet.startEvmNode, abi: Object.keys(abi).length }));',
    ].join('\n');
    const { stdout } = await node(['--input-type=module', '-e', script]);
    const seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(seen).toMatchObject({ sdk: 'function', testing: 'function', devnet: 'function' });
    expect(seen.abi).toBeGreaterThan(0);
  });

  it('loads from a CommonJS project with require() (Node ≥ 20.19 loads ES modules)', async () => {
    const cjs = path.join(pkg.appDir, 'cjs-app');
    mkdirSync(cjs, { recursive: true });
    writeFileSync(path.join(cjs, 'package.json'), '{ "name": "cjs-app", "version": "1.0.0" }\n');
    writeFileSync(
      path.join(cjs, 'index.js'),
      "const { sealInputForEvm } = require('phala-bridge/sdk');\nconsole.log(typeof sealInputForEvm);\n",
    );
    const { stdout, stderr } = await node(['index.js'], cjs);
    expect(stdout.trim()).toBe('function');
    // One copy of each @polkadot package loads (no "multiple versions" warnings, as with .mts before).
    expect(stderr).not.toMatch(/multiple versions/i);
  });

  it('runs its bin with plain node: --version (start time reported) and config check of the production example', async () => {
    const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { stdout, ms } = await pkg.run(bin(), ['--version']);
      expect(stdout.trim()).toBe(version);
      times.push(ms);
    }
    report.versionStartMs = Math.round(times.sort((a, b) => a - b)[2] ?? 0);
    const npx = await pkg.run('npx', ['phala-bridge', '--version']);
    expect(npx.stdout.trim()).toBe(version);
    const example = path.join(pkg.appDir, 'node_modules/phala-bridge/deploy/production.yaml');
    const checked = await pkg.run('npx', ['phala-bridge', 'config', 'check', example]);
    expect(`${checked.stdout}${checked.stderr}`).toMatch(/valid|ok/i);
  });

  it('compiles a consumer contract importing phala-bridge/contracts-solidity/ConfidentialConsumer.sol (solc-js, node_modules resolution)', () => {
    const resolveFrom = createRequire(path.join(pkg.appDir, 'package.json'));
    const source = [
      '// SPDX-License-Identifier: MIT',
      `pragma solidity ^${solc.version().split('+')[0]};`,
      'import {ConfidentialConsumer} from "phala-bridge/contracts-solidity/ConfidentialConsumer.sol";',
      'import {IPhalaBridgeGateway} from "phala-bridge/contracts-solidity/interfaces/IPhalaBridgeGateway.sol";',
      'contract MyConsumer is ConfidentialConsumer {',
      '  bytes public last;',
      '  constructor(IPhalaBridgeGateway gateway_) ConfidentialConsumer(gateway_) {}',
      '  function _onConfidentialResult(bytes32, bytes calldata publicOutput, bytes calldata) internal override {',
      '    last = publicOutput;',
      '  }',
      '}',
    ].join('\n');
    const input = {
      language: 'Solidity',
      sources: { 'MyConsumer.sol': { content: source } },
      settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
    };
    const findImports = (importPath: string) => {
      try {
        return { contents: readFileSync(resolveFrom.resolve(importPath), 'utf8') };
      } catch (error) {
        return { error: `not found from ${pkg.appDir}: ${importPath} (${String(error)})` };
      }
    };
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
      errors?: { severity: string; formattedMessage: string }[];
      contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
    };
    const errors = (output.errors ?? []).filter((e) => e.severity === 'error').map((e) => e.formattedMessage);
    expect(errors).toEqual([]);
    expect(output.contracts?.['MyConsumer.sol']?.MyConsumer?.evm.bytecode.object.length).toBeGreaterThan(100);
  });

  it('type-checks a strict consumer app against the shipped declarations without an error inside phala-bridge', async () => {
    const dir = path.join(pkg.appDir, 'ts-app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [path.join(repoRoot, 'node_modules/@types')],
        },
        include: ['index.ts'],
      }),
    );
    writeFileSync(
      path.join(dir, 'package.json'),
      '{ "name": "ts-app", "version": "1.0.0", "type": "module" }\n',
    );
    writeFileSync(
      path.join(dir, 'index.ts'),
      [
        "import { sealInputForEvm } from 'phala-bridge/sdk';",
        "import { startDevnet, expectFulfilled } from 'phala-bridge/testing';",
        "import { startEvmNode } from 'phala-bridge/devnet';",
        'export const used = [sealInputForEvm, startDevnet, expectFulfilled, startEvmNode];',
        '',
      ].join('\n'),
    );
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      await node([tsc, '-p', dir], dir);
    } catch (error) {
      output = String(error);
    }
    // Errors in other packages' declarations (skipLibCheck is off) are theirs; ours must be clean.
    const ours = output.split('\n').filter((line) => line.includes('node_modules/phala-bridge/'));
    expect(ours).toEqual([]);
    expect(output).not.toMatch(/^index\.ts\(/m);
  });
});

describe('the devnet from the installed package, with its extras installed as docs/testing.md says', () => {
  beforeAll(async () => {
    const docs = readFileSync(path.join(repoRoot, 'docs/testing.md'), 'utf8');
    const command = /^npm install --save-dev hardhat@[\d.]+$/m.exec(docs)?.[0];
    expect(command, 'docs/testing.md#devnet-extras names the install command').toBeTruthy();
    const [npm, ...args] = (command ?? '').split(' ');
    await pkg.run(npm as string, args, { timeoutMs: 600_000 });
    // docs/solidity.md's own install step (viem comes with phala-bridge; solc-js compiles).
    await pkg.run('npm', ['install', '--save-dev', `solc@${solc.version().split('+')[0]}`], {
      timeoutMs: 600_000,
    });
  }, 900_000);

  // The two devnets run side by side: each is mostly waiting for blocks.
  it.concurrent('a short script with phala-bridge/testing starts the devnet, gets one EVM answer and stops', async () => {
    writeFileSync(path.join(pkg.appDir, 'one-answer.mjs'), ONE_ANSWER);
    const { stdout } = await pkg.run(process.execPath, ['one-answer.mjs'], { timeoutMs: 400_000 });
    expect(stdout).toMatch(/^answered: hello, ada!$/m);
  }, 500_000);

  it.concurrent("runs docs/solidity.md's guide: compile, deploy, seal, request, wait, open; a wrong seal refused fast", async () => {
    const dir = path.join(pkg.appDir, 'guide');
    mkdirSync(dir, { recursive: true });
    const guide = extractGuide(readFileSync(path.join(repoRoot, 'docs/solidity.md'), 'utf8'));
    for (const { file, code } of guide) writeFileSync(path.join(dir, file), code);
    const scripts = guide.filter((g) => g.file.endsWith('.mjs')).map((g) => g.file);
    expect(scripts).toEqual(['compile.mjs', 'guide.mjs']);
    const compiled = await pkg.run(process.execPath, ['compile.mjs'], { cwd: dir, timeoutMs: 300_000 });
    expect(compiled.stdout).toMatch(/compiled MyConsumer with solc 0\.8\.\d+/);
    const { stdout } = await pkg.run(process.execPath, ['guide.mjs'], { cwd: dir, timeoutMs: 400_000 });
    expect(stdout).toContain('public output: hello, Solidity!');
    expect(stdout).toContain("origin: 'evm'");
    expect(stdout).toContain('refused: input-unreadable (retry: never)');
  }, 700_000);
});

const ONE_ANSWER = `import { requestFromEvm } from 'phala-bridge/sdk';
import { evmAccount, expectFulfilled, startDevnet } from 'phala-bridge/testing';

const devnet = await startDevnet({ examples: false });
try {
  const { walletClient, publicClient } = evmAccount(devnet, 4);
  const sent = await requestFromEvm(walletClient, {
    publicClient,
    gateway: devnet.chains.evm.gateway,
    contractId: devnet.contracts.greeter.contractId,
    input: 'ada',
  });
  const result = await expectFulfilled(devnet, sent, { responseSecretKey: sent.responseSecretKey });
  console.log('answered: ' + result.publicText);
} finally {
  await devnet.stop();
}
`;

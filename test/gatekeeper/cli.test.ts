import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { toHex } from '../../src/base/bytes.js';
import { computeGatekeeperMeasurement } from '../../src/gatekeeper/enclave/measurement.js';
import * as registry from '../../src/phala/actions/registry.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { CA_KEY, CA_PUBLIC, PLATFORM_SECRET, fund, removeTempDirs, tempDir, waitFor } from './helpers.js';

/**
 * `phala-bridge gatekeeper` against a dev node (sim TEE: no SGX hardware here): `start` as a child
 * process (real signals), the short commands in-process through the same program.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/phala-bridge.js');

let t: TestNode;
let dir: string;
let configFile: string;
const children = new Set<ChildProcess>();

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the CLI in this process, capturing what it prints. */
async function inProcess(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(['node', 'phala-bridge', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

function cli(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
    onSpawn?.(child);
  });
}

beforeAll(async () => {
  t = await startTestNode();
  dir = tempDir('cli');
  configFile = path.join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    [
      'mode: development',
      'chains:',
      '  - { kind: phala, name: phala, wsUrl: "ws://127.0.0.1:1" }',
      'log: { level: info, pretty: false }',
      'gatekeeper:',
      `  dataDir: ${path.join(dir, 'gk')}`,
      `  simPlatformCas: ["${CA_PUBLIC}"]`,
      '  backupDelayMs: 1000',
      '  attestation:',
      '    provider: sim',
      `    platformCaKey: { value: "${toHex(CA_KEY)}" }`,
      `    platformSecret: { value: "${toHex(PLATFORM_SECRET)}" }`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await t?.stop();
  removeTempDirs();
});

describe('phala-bridge gatekeeper', () => {
  it('info prints the enclave identity and the measurement of this build', async () => {
    const run = await inProcess(['gatekeeper', 'info', '--config', configFile, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(info).toMatchObject({ tee: 'sim', epochs: [], createdIdentity: true });
    expect(info.measurement).toBe(toHex(computeGatekeeperMeasurement().measurement));
    expect(info.secp256k1).toMatch(/^0x0[23][0-9a-f]{64}$/);
    // The same identity on the next start (sealed in the data directory).
    const again = JSON.parse(
      (await inProcess(['gatekeeper', 'info', '--config', configFile, '--json'])).stdout,
    );
    expect(again).toMatchObject({ secp256k1: info.secp256k1, createdIdentity: false });
    // Onboard it: fund its ecdsa account and add it as a gatekeeper (sudo).
    await fund(t, t.api.registry.createType('AccountId', info.accountId).toString());
    await registry.addGatekeeper(t.client, {
      sudo: t.alice,
      gatekeeper: info.secp256k1,
      x25519: info.x25519,
      account: info.accountId,
    });
  });

  it('start runs a gatekeeper that makes and publishes the master key, and stops on SIGTERM', async () => {
    let child!: ChildProcess;
    const running = cli(['gatekeeper', '--config', configFile, '--ws-url', t.node.wsUrl], (c) => {
      child = c;
    });
    const master = await waitFor('the master key', () => registry.getMasterKey(t.client), 30_000);
    expect(master.epoch).toBe(0n);
    child.kill('SIGTERM');
    const run = await running;
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('published the master public key');
    expect(run.stderr).toContain('stopping');
    // Secrets from the config never reach the log.
    expect(run.stderr).not.toContain(toHex(CA_KEY).slice(2));
    expect(run.stderr).not.toContain(toHex(PLATFORM_SECRET).slice(2));
  });

  it('rotate moves the master key to the next epoch', async () => {
    const run = await cli([
      'gatekeeper',
      'rotate',
      '--config',
      configFile,
      '--ws-url',
      t.node.wsUrl,
      '--json',
    ]);
    expect(run.code).toBe(0);
    const rotated = JSON.parse(run.stdout);
    expect(rotated.epoch).toBe(1);
    expect(await registry.getMasterKey(t.client)).toMatchObject({ epoch: 1n, publicKey: rotated.publicKey });
  });

  it('usage errors exit 2; a config without what a gatekeeper needs exits 1 with one line', async () => {
    expect((await inProcess(['gatekeeper', 'start'])).code).toBe(2);
    expect(
      (await inProcess(['gatekeeper', 'start', '--config', configFile, '--ws-url', 'http://x'])).code,
    ).toBe(2);
    const bare = path.join(dir, 'bare.yaml');
    writeFileSync(
      bare,
      `mode: development\nchains: [{ kind: phala, name: phala, wsUrl: "ws://127.0.0.1:1" }]\ngatekeeper: { dataDir: ${dir}/bare }\n`,
    );
    const run = await inProcess(['gatekeeper', 'info', '--config', bare]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'error: gatekeeper.attestation is required to run a gatekeeper: provider sim (platformCaKey, platformSecret), sgx-gramine, tdx or dstack',
    ]);
  });
});

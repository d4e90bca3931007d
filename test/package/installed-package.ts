import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The package as a user gets it: `npm pack` of this checkout (its `prepack` builds dist/), then
 * the tarball installed into a fresh project by deploy/install.sh — the same script the
 * Dockerfile runs, so the image and this test take the same steps.
 */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type InstalledPackage = {
  /** The temporary folder holding the tarball and the project; `remove()` deletes it. */
  remove(): void;
  /** The packed tarball. */
  tarball: string;
  /** The fresh project the tarball is installed in (`"type": "module"`, nothing else). */
  appDir: string;
  /** Runs a command in the project; rejects with its output on a non-zero exit. */
  run(command: string, args: string[], options?: { timeoutMs?: number; cwd?: string }): Promise<RunResult>;
};
export type RunResult = { stdout: string; stderr: string; ms: number };

const exec = promisify(execFile);

/** `npm` calls here read the machine's npm cache first: the registry is slow, the cache is not. */
const NPM_ENV = {
  ...process.env,
  npm_config_prefer_offline: 'true',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

async function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number },
): Promise<RunResult> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd: options.cwd,
      env: NPM_ENV,
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, ms: performance.now() - started };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${options.cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}

export async function packAndInstall(): Promise<InstalledPackage> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'phala-bridge-package-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: repoRoot,
    timeoutMs: 600_000,
  });
  // `--json` prints one entry per package; prepack's own output goes to stderr.
  const [entry] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[];
  if (!entry) throw new Error(`npm pack printed no package: ${packed.stdout}`);
  const tarball = path.join(work, entry.filename);
  const appDir = path.join(work, 'app');
  mkdirSync(appDir);
  writeFileSync(
    path.join(appDir, 'package.json'),
    `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  await run('bash', [path.join(repoRoot, 'deploy/install.sh'), tarball, appDir], {
    cwd: appDir,
    timeoutMs: 600_000,
  });
  return {
    remove: () => rmSync(work, { recursive: true, force: true }),
    tarball,
    appDir,
    run: (command, args, options = {}) =>
      run(command, args, {
        cwd: options.cwd ?? appDir,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
  };
}

/** Bytes under `dir` (files only, links not followed), as `du` would count the installed tree. */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const child = path.join(dir, name);
    const stat = lstatSync(child, { throwIfNoEntry: false });
    if (!stat) continue;
    total += stat.isDirectory() ? treeBytes(child) : stat.size;
  }
  return total;
}

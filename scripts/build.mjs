// `npm run build` (and `prepack`): the package's JavaScript, declarations and source maps in
// dist/, compiled from src/ by tsc alone — no bundler: every module stays a file, so stack traces,
// source maps and the worker's engine thread (loaded by path) point where the sources do.
// Plain JavaScript so it runs before anything is compiled.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

// Files the modules read at run time beside themselves (the Intel root CA, …): every file under
// src/ that tsc does not compile, at the same place under dist/.
function copyAssets(relative) {
  for (const name of readdirSync(path.join(root, 'src', relative))) {
    const child = path.join(relative, name);
    if (statSync(path.join(root, 'src', child)).isDirectory()) copyAssets(child);
    else if (!name.endsWith('.ts') && !name.endsWith('.md'))
      cpSync(path.join(root, 'src', child), path.join(dist, child));
  }
}
copyAssets('.');

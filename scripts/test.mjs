// `npm test`: the vitest suite and the fault scenarios side by side. They share nothing (the
// faults use Redis database 13 and their own chains and ports) and both spend most of their time
// waiting on blocks, so running them together takes the longer one's time rather than the sum.
// Each line of the faults is prefixed; the exit code is non-zero when either suite fails.
// `npm test -- <vitest args>` passes the arguments to vitest and runs only vitest.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const suites = [
  { name: 'vitest', command: ['node_modules/vitest/vitest.mjs', 'run', ...args], prefix: '' },
  ...(args.length
    ? []
    : [{ name: 'faults', command: ['--import', 'tsx', 'test/faults/run.ts'], prefix: '[faults] ' }]),
];

const started = Date.now();
const results = await Promise.all(
  suites.map(
    (suite) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, suite.command, { stdio: ['ignore', 'pipe', 'pipe'] });
        for (const stream of [child.stdout, child.stderr]) {
          const out = stream === child.stdout ? process.stdout : process.stderr;
          createInterface({ input: stream }).on('line', (line) => out.write(`${suite.prefix}${line}\n`));
        }
        child.on('close', (code, signal) => {
          const seconds = Math.round((Date.now() - started) / 1000);
          resolve({ name: suite.name, ok: code === 0, code: code ?? signal, seconds });
        });
      }),
  ),
);
for (const r of results)
  console.log(`test: ${r.name} ${r.ok ? 'passed' : `FAILED (${r.code})`} after ${r.seconds} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);

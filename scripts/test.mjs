// `npm test`: the vitest suite and the fault scenarios side by side. They share nothing (the
// faults use Redis database 13 and their own chains and ports) and both spend most of their time
// waiting on blocks, so running them together takes the longer one's time rather than the sum.
// Test files that hold a latency bound under load they make themselves (ALONE) run first, on
// their own: a second suite's CPU would be measured with them.
// Each line of the faults is prefixed; the exit code is non-zero when any part fails.
// `npm test -- <vitest args>` passes the arguments to vitest and runs only vitest.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ALONE = ['test/devnet-substrate/rpc-limits.test.ts', 'test/pruntime/worker/fair-share.test.ts'];
const VITEST = 'node_modules/vitest/vitest.mjs';
const args = process.argv.slice(2);
const started = Date.now();

function run(name, command, prefix = '') {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, command, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      const out = stream === child.stdout ? process.stdout : process.stderr;
      createInterface({ input: stream }).on('line', (line) => out.write(`${prefix}${line}\n`));
    }
    child.on('close', (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      resolve({ name, ok: code === 0, code: code ?? signal, seconds });
    });
  });
}

const results = args.length
  ? [await run('vitest', [VITEST, 'run', ...args])]
  : [
      // One file after the other: each holds its bound under its own load only.
      await run('vitest (alone)', [VITEST, 'run', '--no-file-parallelism', ...ALONE]),
      ...(await Promise.all([
        run('vitest', [VITEST, 'run', ...ALONE.flatMap((file) => ['--exclude', file])]),
        run('faults', ['--import', 'tsx', 'test/faults/run.ts'], '[faults] '),
      ])),
    ];
for (const r of results)
  console.log(`test: ${r.name} ${r.ok ? 'passed' : `FAILED (${r.code})`} after ${r.seconds} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);

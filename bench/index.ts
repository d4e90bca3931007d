import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm run bench [-- --json] [-- --only name,...]`: runs every suite in bench/suites. Each suite
 * exports `name` and `run(): Promise<BenchReport>`; tables go to stderr, `--json` prints one
 * object keyed by suite name on stdout. Reports, not pass/fail.
 */
export type BenchReport = { table: Record<string, string | number>[]; figures: Record<string, unknown> };
export type BenchSuite = { name: string; run: () => Promise<BenchReport> };

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : null;

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'suites');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .sort();
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
};
const out: Record<string, unknown> = { machine };
if (!json)
  console.error(
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
  );
for (const file of files) {
  const suite = (await import(pathToFileURL(path.join(dir, file)).href)) as Partial<BenchSuite>;
  // Helpers of a suite (its child processes) live beside it and export no `run`.
  if (typeof suite.name !== 'string' || typeof suite.run !== 'function') continue;
  if (only && !only.has(suite.name)) continue;
  if (!json) console.error(`\n## ${suite.name}`);
  const report = await suite.run();
  if (!json) console.table(report.table);
  out[suite.name] = report.figures;
}
if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);

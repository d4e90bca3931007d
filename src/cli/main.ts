#!/usr/bin/env node
import { packageVersion } from './version.js';

// `--version` answers before the commands load: they pull in @polkadot, viem and BullMQ, about
// 2 s of module loading that a version check (install scripts, health probes) should not pay.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { runCli } = await import('./program.js');
  process.exitCode = await runCli(process.argv);
}

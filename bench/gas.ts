import { run } from './suites/gas.js';

/**
 * `npm run bench:gas [-- --json]`: the gateway's gas on a real Hardhat node. The table goes to
 * stderr; `--json` prints exactly `{ "requestGas", "fulfillOverheadGas", "batchPerRequestGas":
 * { "1", "8", "32", "128" } }` on stdout.
 */
const json = process.argv.slice(2).includes('--json');
const report = await run();
if (json) process.stdout.write(`${JSON.stringify(report.figures, null, 2)}\n`);
else console.table(report.table);
process.exit(0);

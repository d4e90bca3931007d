import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { BaseError } from '../../base/errors.js';
import { contractCodeOf } from '../../protocol/contract-code.js';

type ReplayOptions = {
  queue?: boolean;
  config?: string;
  out?: string;
  compare?: string;
  seed?: string;
  contract?: string[];
  timeout?: string;
};

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay a recorded tape: against a fresh devnet (default: the same senders send the same requests, in order) or straight into the relayer queue (--queue)',
    )
    .argument('<tape>', 'NDJSON tape recorded with `start --record` (docs/PROTOCOL.md §8)')
    .option(
      '--queue',
      'decode each entry to its request job and add it to the queue of the relayer in --config',
    )
    .option('-c, --config <file>', 'relayer configuration (with --queue)')
    .option('--out <tape>', 'write what landed on the origin chains as an output tape')
    .option('--compare <golden>', 'compare the output with a golden tape; exit 1 on a difference')
    .option(
      '--seed <seed>',
      'seed of the devnet (the recording devnet’s; default that of phala-bridge/testing)',
    )
    .option(
      '--contract <name=file...>',
      'deploy these contracts (JavaScript or .wasm) beside the greeter, as the recording devnet did (in the same order)',
    )
    .option('--timeout <ms>', 'how long to wait for each request (default 120000)')
    .action(async (tape: string, opts: ReplayOptions) => {
      const { readTape } = await import('../../protocol/tape.js');
      const entries = readTape(tape);
      if (opts.queue) {
        if (!opts.config) throw new BaseError('--queue needs the relayer configuration (--config <file>).');
        const { loadConfig } = await import('../../config/load.js');
        const { createLogger } = await import('../../log/logger.js');
        const { replayIntoQueue } = await import('../../relayer/replay.js');
        const config = loadConfig(opts.config);
        const result = await replayIntoQueue(entries, {
          config,
          logger: createLogger({ level: config.log.level, pretty: config.log.pretty }),
        });
        process.stdout.write(
          `${result.entries} entries: ${result.queued} queued, ${result.entries - result.queued - result.rejected.length} already known, ${result.rejected.length} rejected\n`,
        );
        for (const r of result.rejected) process.stdout.write(`  rejected ${r}\n`);
        process.exit(result.rejected.length ? 1 : 0);
      }
      const contracts: Record<string, string | Uint8Array> = {};
      for (const spec of opts.contract ?? []) {
        const [name, file] = spec.split('=');
        if (!name || !file) throw new BaseError(`--contract ${spec}: expected name=file.`);
        // JavaScript or a WebAssembly module (a file starting with \0asm), deployed as it is.
        contracts[name] = contractCodeOf(new Uint8Array(readFileSync(path.resolve(file))));
      }
      const { replay } = await import('../../testing/replay.js');
      const result = await replay(entries, {
        ...(opts.seed ? { seed: opts.seed } : {}),
        ...(Object.keys(contracts).length ? { contracts } : {}),
        ...(opts.out ? { out: opts.out } : {}),
        ...(opts.compare ? { compare: opts.compare } : {}),
        ...(opts.timeout ? { timeoutMs: Number(opts.timeout) } : {}),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      for (const o of result.outcomes)
        process.stdout.write(`${o.kind} ${o.chain} ${o.requestId} ${o.result} ${o.publicOutput}\n`);
      if (opts.compare) {
        if (result.differences.length === 0) {
          process.stdout.write(`same as ${opts.compare}\n`);
        } else {
          process.stdout.write(`${result.differences.length} differences from ${opts.compare}:\n`);
          for (const d of result.differences) process.stdout.write(`  ${d}\n`);
          process.exit(1);
        }
      }
      process.exit(0);
    });
}

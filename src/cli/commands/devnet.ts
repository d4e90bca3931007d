import type { Command } from 'commander';
import { BaseError } from '../../base/errors.js';

export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('Start every chain, a gatekeeper, two workers and the relayer on this machine')
    .option('--demo', 'then run one request from each origin and print its journey')
    .action(() => {
      throw new BaseError('devnet not built yet.', {
        details: 'the embedded devnet lands with issue 9; until then see README.md for what works today',
      });
    });
}

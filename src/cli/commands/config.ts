import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { printJson } from '../io.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Work with configuration files');
  config
    .command('check')
    .description(
      'Validate a YAML/JSON config (with PHALA_BRIDGE_* overrides) and print it resolved, secrets masked',
    )
    .argument('<file>', 'config file (.yaml, .yml or .json)')
    .action((file: string) => {
      printJson(loadConfig(file));
    });
}

import type { Command } from 'commander';
import { registerContractCommand } from './contract.js';

/** Every subcommand registers itself here; one line per command module. */
export function registerCommands(program: Command): void {
  registerContractCommand(program);
}

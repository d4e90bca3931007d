import type { Command } from 'commander';
import { registerNodeCommand } from './node.js';

/** Every subcommand registers itself here; one line per command module. */
export function registerCommands(program: Command): void {
  registerNodeCommand(program);
}

import type { Command } from 'commander';
import { registerXcmCommand } from './xcm.js';

/** Every subcommand registers itself here; one line per command module. */
export function registerCommands(program: Command): void {
  registerXcmCommand(program);
}

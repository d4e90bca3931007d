import type { Command } from 'commander';
import { registerAttestationCommand } from './attestation.js';

/** Every subcommand registers itself here; one line per command module. */
export function registerCommands(program: Command): void {
  registerAttestationCommand(program);
}

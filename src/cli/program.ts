import { Command, CommanderError } from 'commander';
import { cliErrorText } from '../base/errors.js';
import { registerCommands } from './commands/index.js';
import { packageVersion } from './version.js';

/**
 * Builds the `phala-bridge` program. Usage errors (unknown command, bad flag) exit 2 with usage;
 * a command that fails exits 1 with one line naming what went wrong.
 */
export function buildProgram(): Command {
  const program = new Command('phala-bridge')
    .description('Cross-chain bridge and relayer for confidential contracts run in attested TEE workers')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  program.commands.forEach(function configure(cmd: Command) {
    cmd.exitOverride().showHelpAfterError();
    cmd.commands.forEach(configure);
  });
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      )
        return 0;
      if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
      return 2;
    }
    process.stderr.write(`error: ${cliErrorText(error)}\n`);
    return 1;
  }
}

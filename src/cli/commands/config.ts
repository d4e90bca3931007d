import type { Command } from 'commander';
import { redactUrlsIn } from '../../base/redact-url.js';
import type { Config } from '../../config/schema.js';
import { printJson } from '../io.js';

/** One line on stderr after the printed config (stdout stays JSON for scripts). */
function verdict(file: string, config: Config, secrets: string): void {
  process.stderr.write(`valid: ${file} (${config.mode} mode, ${config.chains.length} chains; ${secrets})\n`);
}

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Work with configuration files');
  config
    .command('check')
    .description(
      'Validate a YAML/JSON config (with PHALA_BRIDGE_* overrides) and print it resolved, secrets and URL passwords masked',
    )
    .argument('<file>', 'config file (.yaml, .yml or .json)')
    .option(
      '--require-secrets',
      'also fail (exit 1) when a { file } or { env } secret cannot be read here, as starting a role would',
    )
    .action(async (file: string, opts: { requireSecrets?: boolean }) => {
      const { checkConfigFile, loadConfig } = await import('../../config/load.js');
      // Secrets print as `[secret from …]` on their own; a password inside a URL (redis.url, an
      // RPC endpoint) is plain text in the config, so every URL's userinfo is masked here.
      if (opts.requireSecrets) {
        const loaded = loadConfig(file);
        printJson(redactUrlsIn(loaded));
        return verdict(file, loaded, 'every secret read');
      }
      // Checked away from the deployment (a build host, CI): its secret files are elsewhere, which
      // says nothing about the file itself. Each is named on stderr; the exit code stays 0.
      const { config: checked, unreadSecrets } = checkConfigFile(file);
      printJson(redactUrlsIn(checked));
      for (const s of unreadSecrets)
        process.stderr.write(
          `warning: ${s.path}: ${s.reason}; a role started here would refuse the config (--require-secrets: an error)\n`,
        );
      verdict(
        file,
        checked,
        unreadSecrets.length > 0 ? `${unreadSecrets.length} secrets not read here` : 'every secret read',
      );
    });
}

import type { Command } from 'commander';
import { redactUrlsIn } from '../../base/redact-url.js';
import { loadConfig } from '../../config/load.js';
import { printJson } from '../io.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Work with configuration files');
  config
    .command('check')
    .description(
      'Validate a YAML/JSON config (with PHALA_BRIDGE_* overrides) and print it resolved, secrets and URL passwords masked',
    )
    .argument('<file>', 'config file (.yaml, .yml or .json)')
    .action((file: string) => {
      // Secrets print as `[secret from …]` on their own; a password inside a URL (redis.url, an
      // RPC endpoint) is plain text in the config, so every URL's userinfo is masked here.
      printJson(redactUrlsIn(loadConfig(file)));
    });
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../config/schema.js';
import { printJson, wsUrlArgument } from '../io.js';

/**
 * `phala-bridge gatekeeper`: runs a gatekeeper (docs/gatekeeper.md#cli).
 *
 *   phala-bridge gatekeeper [start] --config <file> [--ws-url <url>] [--data-dir <dir>]
 *   phala-bridge gatekeeper info    --config <file> [--data-dir <dir>] [--json]
 *   phala-bridge gatekeeper rotate  --config <file> [--ws-url <url>] [--data-dir <dir>] [--json]
 *
 * The configuration is the daemon's (YAML or JSON, `PHALA_BRIDGE_*` overrides); its `gatekeeper`
 * section says where the enclave's sealed data lives and which TEE it runs on. `--ws-url` and
 * `--data-dir` override the Phala chain's endpoint and the data directory.
 */

type CommonOptions = { config: string; wsUrl?: string; dataDir?: string; json?: boolean };

/** Reads the config file, applies the flags, then validates everything with the one schema. */
async function configFrom(options: CommonOptions): Promise<Config> {
  const [{ ConfigError, parseConfig }, { parse: parseYaml }] = await Promise.all([
    import('../../config/load.js'),
    import('yaml'),
  ]);
  let raw: Record<string, unknown>;
  try {
    const text = readFileSync(options.config, 'utf8');
    raw = (path.extname(options.config) === '.json' ? JSON.parse(text) : parseYaml(text)) ?? {};
  } catch (error) {
    throw new ConfigError(options.config, [
      { path: '', message: `cannot read: ${(error as Error).message.split('\n')[0]}` },
    ]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(options.config, [{ path: '', message: 'expected a mapping' }]);
  if (options.dataDir)
    raw.gatekeeper = { ...(raw.gatekeeper as object | undefined), dataDir: options.dataDir };
  if (options.wsUrl) {
    const chains = Array.isArray(raw.chains) ? (raw.chains as Record<string, unknown>[]) : [];
    const phala = chains.filter((c) => c?.kind === 'phala');
    if (phala.length === 1) phala[0]!.wsUrl = options.wsUrl;
    else if (phala.length === 0) chains.push({ kind: 'phala', name: 'phala', wsUrl: options.wsUrl });
    else throw new InvalidArgumentError('--ws-url is ambiguous with several phala chains configured');
    raw.chains = chains;
  }
  return parseConfig(raw, options.config);
}

function addCommon(command: Command, withChain: boolean): Command {
  command
    .requiredOption('-c, --config <file>', 'configuration file (YAML or JSON) with a gatekeeper section')
    .option('--data-dir <dir>', 'override gatekeeper.dataDir');
  if (withChain) command.option('--ws-url <url>', "override the phala chain's wsUrl", wsUrlArgument);
  return command;
}

async function run(options: CommonOptions): Promise<void> {
  // Listen for the stop signals first: a signal during start-up stops the gatekeeper once started.
  const stopping = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const config = await configFrom(options);
  const [{ startGatekeeperFromConfig }, { createLogger }] = await Promise.all([
    import('../../gatekeeper/service/from-config.js'),
    import('../../log/logger.js'),
  ]);
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty, name: 'gatekeeper' });
  const running = await startGatekeeperFromConfig(config, { logger });
  const status = running.gatekeeper.status();
  logger.info(status, 'gatekeeper running');
  if (!status.isGatekeeper)
    logger.warn(
      {
        secp256k1: status.gatekeeper,
        x25519: running.enclave.publicIdentity.x25519,
        account: status.address,
      },
      'add this key on chain with PhalaRegistry.addGatekeeper (see `phala-bridge gatekeeper info`)',
    );
  await stopping;
  logger.info('stopping');
  await running.stop();
  logger.flush?.();
}

export function registerGatekeeperCommand(program: Command): void {
  const gatekeeper = program
    .command('gatekeeper')
    .description('Run a gatekeeper: master key, contract keys, worker approvals (docs/gatekeeper.md)');

  addCommon(
    gatekeeper
      .command('start', { isDefault: true })
      .description('Start a gatekeeper and run until SIGINT/SIGTERM'),
    true,
  ).action(run);

  addCommon(
    gatekeeper
      .command('info')
      .description(
        'Print this gatekeeper enclave identity and measurement (creating the identity the first time)',
      ),
    false,
  )
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions) => {
      const config = await configFrom(options);
      const [{ gatekeeperSetup, openGatekeeperEnclave }, { blake2_256 }, { toHex, fromHex }] =
        await Promise.all([
          import('../../gatekeeper/service/from-config.js'),
          import('../../crypto/hash.js'),
          import('../../base/bytes.js'),
        ]);
      const enclave = await openGatekeeperEnclave(gatekeeperSetup(config));
      const info = {
        secp256k1: enclave.publicIdentity.secp256k1,
        x25519: enclave.publicIdentity.x25519,
        address: enclave.publicIdentity.address,
        accountId: toHex(blake2_256(fromHex(enclave.publicIdentity.secp256k1))),
        tee: enclave.tee,
        measurement: enclave.measurement,
        epochs: enclave.epochs(),
        createdIdentity: enclave.createdIdentity,
      };
      await enclave.close();
      if (options.json) printJson(info);
      else
        process.stdout.write(
          `gatekeeper ${info.address}\n  secp256k1:   ${info.secp256k1}\n  x25519:      ${info.x25519}\n  account id:  ${info.accountId}\n  tee:         ${info.tee}\n  measurement: ${info.measurement}\n  epochs:      ${info.epochs.join(', ') || 'none'}\n`,
        );
    });

  addCommon(
    gatekeeper
      .command('rotate')
      .description('Rotate the master key to a new epoch (the running gatekeepers do the rest)'),
    true,
  )
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions) => {
      const config = await configFrom(options);
      const [
        { gatekeeperSetup, openGatekeeperEnclave },
        { rotateMasterKey },
        { createPhalaClient, closePhalaClient },
        { signerFromUri },
      ] = await Promise.all([
        import('../../gatekeeper/service/from-config.js'),
        import('../../gatekeeper/service/rotate.js'),
        import('../../phala/client.js'),
        import('../../phala/signers.js'),
      ]);
      const setup = gatekeeperSetup(config);
      const enclave = await openGatekeeperEnclave(setup);
      try {
        const client = await createPhalaClient({ url: setup.chain.wsUrl });
        try {
          const signer = setup.config.account
            ? await signerFromUri(setup.config.account.reveal())
            : undefined;
          const rotated = await rotateMasterKey({ enclave, client, signer });
          if (options.json) printJson(rotated);
          else
            process.stdout.write(
              `rotated to epoch ${rotated.epoch}: master public key ${rotated.publicKey}\n`,
            );
        } finally {
          await closePhalaClient(client);
        }
      } finally {
        await enclave.close();
      }
    });
}

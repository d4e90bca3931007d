import { runUntilSignal } from '../base/signals.js';
import type { Config } from '../config/schema.js';
import { type Logger, createLogger } from '../log/logger.js';
import { buildChainAdapters } from './chains/build.js';
import { RelayerDaemon } from './daemon.js';

/**
 * Runs the relayer until SIGTERM or SIGINT: then it stops taking work, finishes or hands back
 * what is in flight within `shutdownGraceMs`, and resolves. A second signal exits at once.
 */
export async function runRelayer(
  config: Config,
  logger: Logger = createLogger({ level: config.log.level, pretty: config.log.pretty }),
): Promise<void> {
  const daemon = new RelayerDaemon({
    config,
    logger,
    adapters: (context) => buildChainAdapters(config, context),
  });
  await daemon.start();
  await runUntilSignal(() => daemon.stop(), {
    onStopping: (signal) => logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping'),
    onSecondSignal: (signal) => logger.warn({ signal }, 'second signal: exiting now'),
  });
  logger.info('stopped');
}

import type { Config } from '../../config/schema.js';
import { runUntilSignal } from '../../base/signals.js';
import { type Logger, createLogger } from '../../log/logger.js';
import { startWorker } from './service.js';

/**
 * Runs a worker until SIGTERM or SIGINT (`phala-bridge worker`): then it stops taking requests,
 * finishes those in flight within `shutdownGraceMs` (the rest are handed back through their
 * expiring locks) and resolves. A second signal exits at once.
 */
export async function runWorker(
  config: Config,
  logger: Logger = createLogger({ level: config.log.level, pretty: config.log.pretty, name: 'worker' }),
): Promise<void> {
  const worker = await startWorker({ config, logger });
  await runUntilSignal(() => worker.stop(), {
    onStopping: (signal) => logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping'),
    onSecondSignal: (signal) => logger.warn({ signal }, 'second signal: exiting now'),
  });
}

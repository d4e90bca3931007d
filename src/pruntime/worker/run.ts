import type { Config } from '../../config/schema.js';
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
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping');
      void worker.stop().finally(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

import {
  type Devnet,
  type StartDevnetParameters,
  startDevnet as startFullDevnet,
} from '../devnet/orchestrator/devnet.js';
import { createLogger } from '../log/logger.js';

export type { Devnet, DeployedContract, StartDevnetParameters } from '../devnet/orchestrator/devnet.js';

/** The seed tests use unless told: the same keys and contract ids on every start. */
export const DEFAULT_TEST_SEED = 'phala-bridge/testing';

/**
 * The whole system for a test (see src/devnet/orchestrator/devnet.ts): seeded by default, so
 * tapes recorded on one run replay on the next, and quiet (warnings only) unless a logger is given.
 */
export function startDevnet(parameters: StartDevnetParameters = {}): Promise<Devnet> {
  return startFullDevnet({
    seed: DEFAULT_TEST_SEED,
    logger: createLogger({ level: 'warn', pretty: false }),
    ...parameters,
  });
}

import {
  type CodeMeasurement,
  measureSources,
  repositoryRoot,
  codeFilesUnder,
} from '../../crypto/code-measurement.js';

/**
 * The simulated gatekeeper enclave's measurement (src/crypto/code-measurement.ts, the worker's
 * construction under its own domain) over the code inside the gatekeeper's enclave boundary: a
 * change to it gives a different sealing key (sealed master keys of another build cannot be
 * opened) and a quote other gatekeepers refuse to hand the master key to unless configured.
 */
export const GATEKEEPER_MEASURED_DIRECTORIES = [
  'src/base',
  'src/crypto',
  'src/phala',
  'src/gatekeeper',
  'src/pruntime/enclave',
] as const;
const DOMAIN = 'phala-bridge/gatekeeper-measurement/v1';

export type GatekeeperMeasurement = CodeMeasurement;

export function computeGatekeeperMeasurement(root = repositoryRoot()): GatekeeperMeasurement {
  return measureSources(DOMAIN, codeFilesUnder(root, GATEKEEPER_MEASURED_DIRECTORIES, { skipMissing: true }));
}

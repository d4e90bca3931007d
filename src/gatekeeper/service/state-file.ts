import path from 'node:path';
import { type ChainProgress, readProgressFile, writeProgressFile } from '../../phala/progress-file.js';

/**
 * The gatekeeper's non-secret progress, `<dataDir>/gatekeeper-state.json`: the chain it follows
 * and the last finalized block whose work is done (src/phala/progress-file.ts).
 */
export const STATE_FILE = 'gatekeeper-state.json';
export type GatekeeperState = ChainProgress;

export function readState(dataDir: string): Promise<GatekeeperState | null> {
  return readProgressFile(path.join(dataDir, STATE_FILE), 'gatekeeper');
}

export function writeState(dataDir: string, state: GatekeeperState): Promise<void> {
  return writeProgressFile(path.join(dataDir, STATE_FILE), state);
}

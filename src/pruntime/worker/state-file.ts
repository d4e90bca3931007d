import path from 'node:path';
import { type ChainProgress, readProgressFile, writeProgressFile } from '../../phala/progress-file.js';

/**
 * The worker's non-secret progress, `<dataDir>/worker-state.json`: the chain it is registered on
 * and the last finalized block it has read for key handovers and verdicts
 * (src/phala/progress-file.ts). (Keys themselves live sealed under `<dataDir>/keys/`.)
 */
export const STATE_FILE = 'worker-state.json';
export type WorkerProgress = ChainProgress;

export function readProgress(dataDir: string): Promise<WorkerProgress | null> {
  return readProgressFile(path.join(dataDir, STATE_FILE), 'worker');
}

export function writeProgress(dataDir: string, progress: WorkerProgress): Promise<void> {
  return writeProgressFile(path.join(dataDir, STATE_FILE), progress);
}

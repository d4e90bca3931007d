import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';
import { WorkerError } from './errors.js';

/**
 * The worker's non-secret progress, `<dataDir>/worker-state.json`: the chain it is registered on
 * (genesis hash) and the last finalized block it has read for key handovers and verdicts. After a
 * restart it resumes after that block, so a handover published while it was down is not missed.
 * (Keys themselves live sealed under `<dataDir>/keys/`.)
 */
export const STATE_FILE = 'worker-state.json';

const stateSchema = z.strictObject({
  v: z.literal(1),
  genesisHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  cursor: z.number().int().min(0),
});
export type WorkerProgress = { genesisHash: Hex; cursor: number };

export async function readProgress(dataDir: string): Promise<WorkerProgress | null> {
  const file = path.join(dataDir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WorkerError('Unreadable worker state.', { details: `${file} is not JSON` });
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success)
    throw new WorkerError('Unreadable worker state.', {
      details: `${file}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
    });
  return { genesisHash: parsed.data.genesisHash as Hex, cursor: parsed.data.cursor };
}

/** Replaces the file atomically (write, then rename). Callers write one at a time. */
export async function writeProgress(dataDir: string, progress: WorkerProgress): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, STATE_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ v: 1, ...progress })}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

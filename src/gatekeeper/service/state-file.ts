import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';
import { GatekeeperError } from '../errors.js';

/**
 * The gatekeeper's non-secret progress, `<dataDir>/gatekeeper-state.json`: the chain it follows
 * (genesis hash) and the last finalized block whose work is done. On restart it resumes after that
 * block, so nothing between is missed (events, mq messages) and nothing before is redone.
 */
export const STATE_FILE = 'gatekeeper-state.json';

const stateSchema = z.strictObject({
  v: z.literal(1),
  genesisHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  cursor: z.number().int().min(0),
});
export type GatekeeperState = { genesisHash: Hex; cursor: number };

export async function readState(dataDir: string): Promise<GatekeeperState | null> {
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
    throw new GatekeeperError('Unreadable gatekeeper state.', { details: `${file} is not JSON` });
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success)
    throw new GatekeeperError('Unreadable gatekeeper state.', {
      details: `${file}: ${parsed.error.issues[0]?.message}`,
    });
  return { genesisHash: parsed.data.genesisHash as Hex, cursor: parsed.data.cursor };
}

export async function writeState(dataDir: string, state: GatekeeperState): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, STATE_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ v: 1, ...state })}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

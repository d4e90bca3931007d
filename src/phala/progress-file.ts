import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Hex } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';

/**
 * How far a follower of the Phala-style chain got, kept in a small JSON file of its data
 * directory: the chain (genesis hash, so a data dir of another chain is refused) and the last
 * finalized block whose work is done. Gatekeepers and workers resume after it on restart, so
 * nothing published while they were down is missed and nothing before is redone. Not secret.
 */
export type ChainProgress = { genesisHash: Hex; cursor: number };

/** The progress file exists but is not one this code wrote. */
export class ProgressFileError extends BaseError {
  /** A person must move or fix the file. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'ProgressFileError';
}

const progressSchema = z.strictObject({
  v: z.literal(1),
  genesisHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  cursor: z.number().int().min(0),
});

/** The progress in `file`, or null when there is none yet. `owner` names it in errors. */
export async function readProgressFile(file: string, owner: string): Promise<ChainProgress | null> {
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
    throw new ProgressFileError(`Unreadable ${owner} state.`, { details: `${file} is not JSON` });
  }
  const parsed = progressSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProgressFileError(`Unreadable ${owner} state.`, {
      details: `${file}: ${issue?.path.join('.')}: ${issue?.message}`,
    });
  }
  return { genesisHash: parsed.data.genesisHash as Hex, cursor: parsed.data.cursor };
}

/** Replaces the file atomically (write, then rename), owner-only. Callers write one at a time. */
export async function writeProgressFile(file: string, progress: ChainProgress): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ v: 1, ...progress })}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

import { readFile } from 'node:fs/promises';
import { writeSecretFile } from '../../base/secret-file.js';

/** Small helpers for the enclave's sealed files: private mode, replaced atomically. */
export function writeSealedFile(file: string, bytes: Uint8Array): Promise<void> {
  return writeSecretFile(file, bytes, { privateDir: true });
}

export async function readIfExists(file: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The one way a file holding a secret (keys, tokens, sealed blobs, configs with inline secrets) is
 * written: owner-only (0600) in an owner-only directory (0700), replaced atomically so a reader
 * never sees half a file. The mode is set explicitly after writing because `writeFile`'s `mode`
 * only applies to files it creates and is narrowed by the umask, never widened.
 */
export const SECRET_FILE_MODE = 0o600;
export const SECRET_DIR_MODE = 0o700;

function temporaryOf(file: string): string {
  return `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
}

/**
 * `privateDir`: the directory is the program's own (a data dir): made owner-only even if it
 * existed. Without it (a path the user chose, e.g. beside other files) only directories
 * created here are owner-only; an existing one keeps its mode.
 */
export type SecretFileOptions = { privateDir?: boolean };

export async function writeSecretFile(
  file: string,
  data: string | Uint8Array,
  options: SecretFileOptions = {},
): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: SECRET_DIR_MODE });
  if (options.privateDir) await chmod(dir, SECRET_DIR_MODE);
  const temporary = temporaryOf(file);
  await writeFile(temporary, data, { mode: SECRET_FILE_MODE });
  await chmod(temporary, SECRET_FILE_MODE);
  await rename(temporary, file);
}

/** `writeSecretFile` for synchronous callers (start-up code that writes before anything runs). */
export function writeSecretFileSync(
  file: string,
  data: string | Uint8Array,
  options: SecretFileOptions = {},
): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: SECRET_DIR_MODE });
  if (options.privateDir) chmodSync(dir, SECRET_DIR_MODE);
  const temporary = temporaryOf(file);
  writeFileSync(temporary, data, { mode: SECRET_FILE_MODE });
  chmodSync(temporary, SECRET_FILE_MODE);
  renameSync(temporary, file);
}

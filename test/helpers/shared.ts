import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real captured data (XCM messages, SGX/TDX quotes and collateral) the tests read. It lives in
 * the repository, under test/vectors/ (copied verbatim from the project's `../shared/vectors`;
 * each folder's README names the sources), so a fresh clone runs every test and skips none.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = path.join(repoRoot, 'test');

export function sharedVector(...parts: string[]): string {
  return path.join(sharedDir, 'vectors', ...parts);
}

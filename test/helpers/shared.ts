import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * `../shared` beside the clone holds real captured data (XCM messages, SGX/TDX quotes). Tests
 * read it in place; where it is absent they skip and say why.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = process.env.PHALA_BRIDGE_SHARED ?? path.resolve(repoRoot, '../shared');
export const sharedVectorsAvailable = existsSync(path.join(sharedDir, 'vectors'));
export const sharedSkipReason = `../shared/vectors not found at ${sharedDir} (CI places it beside the clone)`;

export function sharedVector(...parts: string[]): string {
  return path.join(sharedDir, 'vectors', ...parts);
}

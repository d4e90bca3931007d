import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Hex, concatBytes, toHex, u32be, utf8 } from '../base/bytes.js';
import { sha256 } from './hash.js';

/**
 * A simulated enclave's measurement (its MRENCLAVE under the sim platform): a hash over the code
 * inside the enclave boundary, so any change to it gives a different measurement, a different
 * sealing key and a quote the allowlists do not know. Workers and gatekeepers use the same
 * construction over their own files and domain (docs/pruntime.md#measurement):
 *
 *   files sorted by path (repository-relative, "/"-separated), compared as UTF-8 bytes
 *   measurement = sha256(domain ‖ u32be(file count) ‖
 *                        for each file: u32be(path length) ‖ path ‖ u64be(content length) ‖ content)
 *
 * On SGX (Gramine) the hardware measures the whole manifest instead and this is not used.
 */
export type MeasuredSource = { path: string; content: Uint8Array };
export type MeasuredFile = { path: string; length: number; sha256: Hex };
export type CodeMeasurement = { measurement: Uint8Array; files: MeasuredFile[] };

/** The repository this checkout's sources are in. */
export function repositoryRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
}

/**
 * Where this copy's code runs from: its TypeScript sources (through tsx, in a checkout) or the
 * compiled package (dist/*.js). The measurement covers the files that actually run, so a
 * checkout and an installed package measure differently, as two builds should.
 */
export type CodeLayout = { directory: 'src' | 'dist'; extension: '.ts' | '.js' };

export function runningCodeLayout(): CodeLayout {
  return import.meta.url.endsWith('.ts')
    ? { directory: 'src', extension: '.ts' }
    : { directory: 'dist', extension: '.js' };
}

/**
 * Every code file under `directories` (repository-relative, named by their `src/` path), read
 * from where `layout` says the code runs: `src/base` is `dist/base`'s *.js in a built package.
 * A missing directory is an error unless `skipMissing` (the gatekeeper measures what its build
 * ships).
 */
export function codeFilesUnder(
  root: string,
  directories: readonly string[],
  options: { skipMissing?: boolean; layout?: CodeLayout } = {},
): MeasuredSource[] {
  const layout = options.layout ?? runningCodeLayout();
  const out: MeasuredSource[] = [];
  const walk = (relative: string) => {
    let names: string[];
    try {
      names = readdirSync(path.join(root, relative));
    } catch (error) {
      if (options.skipMissing && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      const child = `${relative}/${name}`;
      const stat = statSync(path.join(root, child));
      if (stat.isDirectory()) walk(child);
      else if (stat.isFile() && name.endsWith(layout.extension) && !name.endsWith('.d.ts'))
        out.push({ path: child, content: readFileSync(path.join(root, child)) });
    }
  };
  for (const directory of directories) walk(directory.replace(/^src(?=\/|$)/, layout.directory));
  return out;
}

/** The measurement of `sources` under `domain` (e.g. "phala-bridge/measurement/v1"). */
export function measureSources(domain: string, sources: readonly MeasuredSource[]): CodeMeasurement {
  const entries = [...sources].sort((a, b) => Buffer.compare(utf8(a.path), utf8(b.path)));
  const parts: Uint8Array[] = [utf8(domain), u32be(entries.length)];
  for (const entry of entries) {
    const name = utf8(entry.path);
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(entry.content.length), false);
    parts.push(u32be(name.length), name, length, entry.content);
  }
  return {
    measurement: sha256(concatBytes(...parts)),
    files: entries.map((e) => ({ path: e.path, length: e.content.length, sha256: toHex(sha256(e.content)) })),
  };
}

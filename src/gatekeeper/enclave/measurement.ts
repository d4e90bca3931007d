import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Hex, concatBytes, toHex, u32be, utf8 } from '../../base/bytes.js';
import { sha256 } from '../../crypto/hash.js';

/**
 * The simulated gatekeeper enclave's measurement (its MRENCLAVE under the sim platform): a hash
 * over the code that runs inside the gatekeeper's enclave boundary, so any change to it gives a
 * different measurement, a different sealing key (sealed master keys of another build cannot be
 * opened) and a quote other gatekeepers refuse to hand the master key to unless configured.
 *
 *   files = every *.ts file under GATEKEEPER_MEASURED_DIRECTORIES (paths relative to the
 *           repository, "/"-separated), sorted by path as UTF-8 bytes
 *   measurement = sha256("phala-bridge/gatekeeper-measurement/v1" ‖ u32be(file count) ‖
 *                        for each file: u32be(path length) ‖ path ‖ u64be(content length) ‖ content)
 *
 * The same construction as the worker's (src/pruntime/enclave/measurement.ts) over the gatekeeper's
 * code instead of the contract engine's. On SGX (Gramine) the hardware measures the manifest.
 */
export const GATEKEEPER_MEASURED_DIRECTORIES = [
  'src/base',
  'src/crypto',
  'src/phala',
  'src/gatekeeper',
  'src/pruntime/enclave',
] as const;
const DOMAIN = utf8('phala-bridge/gatekeeper-measurement/v1');

export type GatekeeperMeasurement = { measurement: Uint8Array; files: { path: string; sha256: Hex }[] };

function repositoryRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
}

function listTypeScript(root: string, directory: string): string[] {
  const out: string[] = [];
  const walk = (relative: string) => {
    let names: string[];
    try {
      names = readdirSync(path.join(root, relative));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      const child = `${relative}/${name}`;
      const stat = statSync(path.join(root, child));
      if (stat.isDirectory()) walk(child);
      else if (stat.isFile() && name.endsWith('.ts')) out.push(child);
    }
  };
  walk(directory);
  return out;
}

export function computeGatekeeperMeasurement(root = repositoryRoot()): GatekeeperMeasurement {
  const entries: { path: string; content: Uint8Array }[] = [];
  for (const directory of GATEKEEPER_MEASURED_DIRECTORIES)
    for (const file of listTypeScript(root, directory))
      entries.push({ path: file, content: readFileSync(path.join(root, file)) });
  entries.sort((a, b) => Buffer.compare(utf8(a.path), utf8(b.path)));
  const parts: Uint8Array[] = [DOMAIN, u32be(entries.length)];
  for (const entry of entries) {
    const name = utf8(entry.path);
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(entry.content.length), false);
    parts.push(u32be(name.length), name, length, entry.content);
  }
  return {
    measurement: sha256(concatBytes(...parts)),
    files: entries.map((e) => ({ path: e.path, sha256: toHex(sha256(e.content)) })),
  };
}

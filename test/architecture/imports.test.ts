import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import direction of docs/ARCHITECTURE.md, checked over the source text: every relative
 * `from '…'`, `import '…'` and `import('…')` of every file under src/. A regex is enough here
 * (the project's imports are all static strings), and it keeps this test well under a second.
 */

/** Lowest first. A folder may import its own files and any folder of a lower layer. */
const LAYERS: readonly (readonly string[])[] = [
  ['base'],
  ['crypto'],
  ['protocol', 'config', 'log'],
  ['infra'], // connections built from the config (Redis)
  ['evm', 'phala', 'xcm'], // chain clients
  ['abi'], // the `phala-bridge/abi` entry point over the EVM artifacts
  ['pruntime', 'gatekeeper'], // roles
  ['relayer'],
  ['devnet'],
  ['sdk'],
  ['testing'], // helpers for users' tests, which drive the SDK
  ['cli'],
];

/**
 * Imports that break the rule and cannot reasonably be fixed now, each with why. An entry matches
 * an import whose importing file starts with `from` and whose target starts with `to`.
 */
const ALLOWED: readonly { from: string; to: string; reason: string }[] = [
  {
    from: 'src/gatekeeper/',
    to: 'src/pruntime/enclave/',
    reason:
      'the gatekeeper enclave reuses the worker enclave core (identity, sealing, sealed files, ' +
      'TEE platforms); moving that core to its own layer below both roles is a larger move left for later',
  },
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
const TYPE_ONLY = /^\s*(?:import|export)\s+type\b/;

type Import = { from: string; to: string; typeOnly: boolean };

function sourceFiles(directory: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, directory)).sort()) {
    const relative = `${directory}/${name}`;
    if (statSync(path.join(root, relative)).isDirectory()) out.push(...sourceFiles(relative));
    else if (name.endsWith('.ts')) out.push(relative);
  }
  return out;
}

/** Relative imports that land in src/, as repository-relative .ts paths. */
function importsOf(file: string): Import[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const out: Import[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1] as string));
    if (!target.startsWith('src/')) continue;
    const to = target.replace(/\.js$/, '.ts');
    // The statement's start: the last `import`/`export` before the specifier.
    const before = text.slice(0, match.index);
    const start = Math.max(before.lastIndexOf('\nimport'), before.lastIndexOf('\nexport'));
    out.push({ from: file, to, typeOnly: TYPE_ONLY.test(text.slice(start + 1, match.index + 1)) });
  }
  return out;
}

const folderOf = (file: string): string => file.split('/')[1] as string;
const rankOf = new Map(LAYERS.flatMap((folders, rank) => folders.map((f) => [f, rank] as const)));

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

const files = sourceFiles('src');
const imports = files.flatMap(importsOf);

describe('import structure of src/', () => {
  it('finds the sources and resolves every relative import to a file', () => {
    expect(files.length).toBeGreaterThan(100);
    const unresolved = imports
      .filter((i) => !existsSync(path.join(root, i.to)))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(unresolved).toEqual([]);
  });

  it('places every top-level folder of src/ in a layer', () => {
    const folders = [...new Set(files.map(folderOf))];
    expect(folders.filter((f) => !rankOf.has(f))).toEqual([]);
  });

  it('has no cycles between top-level folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const i of imports) {
      const [a, b] = [folderOf(i.from), folderOf(i.to)];
      if (a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)?.add(b);
    }
    expect(cycles(graph)).toEqual([]);
  });

  it('has no cycles between files through runtime (non-type) imports', () => {
    const graph = new Map<string, Set<string>>();
    for (const i of imports) {
      if (i.typeOnly) continue;
      if (!graph.has(i.from)) graph.set(i.from, new Set());
      graph.get(i.from)?.add(i.to);
    }
    expect(cycles(graph)).toEqual([]);
  });

  it('never imports a folder of the same or a higher layer (except the allowlist)', () => {
    const used = new Set<(typeof ALLOWED)[number]>();
    const wrong: string[] = [];
    for (const i of imports) {
      const [a, b] = [folderOf(i.from), folderOf(i.to)];
      if (a === b) continue;
      if ((rankOf.get(b) as number) < (rankOf.get(a) as number)) continue;
      const allowed = ALLOWED.find((e) => i.from.startsWith(e.from) && i.to.startsWith(e.to));
      if (allowed) used.add(allowed);
      else wrong.push(`${i.from} -> ${i.to}`);
    }
    expect(wrong).toEqual([]);
    // An allowlist entry nothing needs any more must go.
    expect(ALLOWED.filter((e) => !used.has(e)).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });
});

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every docs link an error carries resolves: each `docs/….md#…` string under src/ names a file in
 * docs/ and, after `#`, a heading of that file (GitHub's anchor rule: lower case, punctuation
 * dropped, spaces to hyphens). A regex over the source text is enough: docs paths are literals.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LINK = /[`'"](\/?docs\/[\w./-]+\.md(?:#[\w-]+)?)[`'"]|`\$\{docsPath\}(#[\w-]+)`/g;

function files(directory: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, directory))) {
    const relative = `${directory}/${name}`;
    if (statSync(path.join(root, relative)).isDirectory()) out.push(...files(relative));
    else if (name.endsWith('.ts')) out.push(relative);
  }
  return out;
}

function anchors(doc: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of readFileSync(path.join(root, doc), 'utf8').split('\n')) {
    for (const a of line.matchAll(/<a id="([\w-]+)"><\/a>/g)) out.add(a[1]!);
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('docs links', () => {
  it('every docsPath in src/ names an existing docs file and heading', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of files('src')) {
      const text = readFileSync(path.join(root, file), 'utf8');
      const base = /const docsPath = ['"](\/?docs\/[^'"#]+)['"]/.exec(text)?.[1];
      for (const match of text.matchAll(LINK)) {
        const link = match[1] ?? (base ? `${base}${match[2]}` : undefined);
        if (!link) continue;
        checked++;
        const [doc, anchor] = link.replace(/^\//, '').split('#') as [string, string | undefined];
        if (!existsSync(path.join(root, doc))) broken.push(`${file}: ${link} (no such file)`);
        else if (anchor && !anchors(doc).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(broken).toEqual([]);
  });

  it('every relative link in README.md and docs/*.md names an existing file and heading', () => {
    const broken: string[] = [];
    let checked = 0;
    const pages = [
      'README.md',
      ...readdirSync(path.join(root, 'docs'))
        .filter((n) => n.endsWith('.md'))
        .map((n) => `docs/${n}`),
    ];
    for (const page of pages) {
      // Code blocks hold examples, not links.
      const text = readFileSync(path.join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        checked++;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const doc =
          file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        if (!existsSync(path.join(root, doc))) broken.push(`${page}: ${target} (no such file)`);
        else if (anchor && doc.endsWith('.md') && !anchors(doc).has(anchor))
          broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});

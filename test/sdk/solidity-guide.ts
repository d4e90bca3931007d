/**
 * The runnable code of docs/solidity.md: every fenced block whose info string names a file
 * (```solidity file=MyConsumer.sol, ```js file=guide.mjs). Blocks naming the same file are joined
 * in order, so a guide can build one script step by step; files come in the order they first
 * appear, which is the order to run them in. Used here and by the package test (from the tarball).
 */
export type GuideFile = { file: string; code: string };

const BLOCK = /^```[\w-]*[ \t]+file=([\w./-]+)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;

export function extractGuide(markdown: string): GuideFile[] {
  const files = new Map<string, string[]>();
  for (const match of markdown.matchAll(BLOCK)) {
    const [, file, code] = match as unknown as [string, string, string];
    if (file.includes('..') || file.startsWith('/'))
      throw new Error(`guide file outside its folder: ${file}`);
    const parts = files.get(file) ?? [];
    parts.push(code);
    files.set(file, parts);
  }
  return [...files].map(([file, parts]) => ({ file, code: parts.join('\n') }));
}

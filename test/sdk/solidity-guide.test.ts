import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractGuide } from './solidity-guide.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const guide = extractGuide(readFileSync(path.join(root, 'docs/solidity.md'), 'utf8'));

/** What the guide's code may import: the package's public entry points and what a user installs. */
const ALLOWED = /^(node:.+|phala-bridge\/(sdk|testing|abi|contracts-solidity\/.+)|viem(\/.+)?|solc)$/;

describe('docs/solidity.md', () => {
  it('holds the consumer, the compile script and the guide script, importing only public entry points', () => {
    expect(guide.map((g) => g.file)).toEqual(['MyConsumer.sol', 'compile.mjs', 'guide.mjs']);
    const imports = guide.flatMap((g) =>
      [...g.code.matchAll(/(?:from|import)\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!),
    );
    expect(imports.filter((i) => !ALLOWED.test(i))).toEqual([]);
    expect(guide[0]!.code).toContain(
      'import {ConfidentialConsumer} from "phala-bridge/contracts-solidity/ConfidentialConsumer.sol"',
    );
  });

  // Running the guide is test/package/package.test.ts's job: from the packed tarball installed
  // in a fresh project, as a reader of the guide would run it (one devnet, not two, in CI).
});

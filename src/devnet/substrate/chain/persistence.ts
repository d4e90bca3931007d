import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * `--data-dir`: an append-only log of blocks (header, extrinsics, state changes), one JSON object a
 * line, synced before the block is announced. A restart replays it; a torn last line (a crash in
 * the middle of a write) is dropped.
 */

const hex = z.string().regex(/^0x([0-9a-f]{2})*$/);
const genesisRecord = z.object({
  kind: z.literal('genesis'),
  v: z.literal(1),
  chain: z.string(),
  genesisHash: hex,
  changes: z.array(z.tuple([hex, hex.nullable()])),
});
const blockRecord = z.object({
  kind: z.literal('block'),
  number: z.number().int().positive(),
  hash: hex,
  header: hex,
  extrinsics: z.array(hex),
  changes: z.array(z.tuple([hex, hex.nullable()])),
  timestamp: z.number(),
});
export type GenesisRecord = z.infer<typeof genesisRecord>;
export type BlockRecord = z.infer<typeof blockRecord>;

export class DataDirError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'DataDirError';
}

export class ChainLog {
  readonly file: string;
  #fd: number | null = null;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, 'chain.jsonl');
  }

  /** Reads the log; returns null for a fresh directory. */
  load(): { genesis: GenesisRecord; blocks: BlockRecord[] } | null {
    if (!existsSync(this.file)) return null;
    const text = readFileSync(this.file, 'utf8');
    const lines = text.split('\n');
    let validBytes = 0;
    let genesis: GenesisRecord | null = null;
    const blocks: BlockRecord[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const complete = i < lines.length - 1;
      if (!complete) break; // no newline yet: an unfinished write
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        break;
      }
      if (!genesis) {
        const g = genesisRecord.safeParse(parsed);
        if (!g.success) throw new DataDirError(`${this.file}: first record is not a genesis record`);
        genesis = g.data;
      } else {
        const b = blockRecord.safeParse(parsed);
        if (!b.success) break;
        if (b.data.number !== blocks.length + 1) {
          throw new DataDirError(`${this.file}: block ${b.data.number} follows block ${blocks.length}`);
        }
        blocks.push(b.data);
      }
      validBytes += Buffer.byteLength(line, 'utf8') + 1;
    }
    if (!genesis) return null;
    if (validBytes < Buffer.byteLength(text, 'utf8')) truncateSync(this.file, validBytes);
    return { genesis, blocks };
  }

  #open(): number {
    if (this.#fd === null) this.#fd = openSync(this.file, 'a');
    return this.#fd;
  }

  append(record: GenesisRecord | BlockRecord): void {
    const fd = this.#open();
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  }

  close(): void {
    if (this.#fd !== null) {
      closeSync(this.#fd);
      this.#fd = null;
    }
  }
}

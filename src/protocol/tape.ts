import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { z } from 'zod';
import { BaseError, type Retry } from '../base/errors.js';
import { addressSchema, hexSchema, uintStringSchema } from './schemas.js';

/**
 * Replay tapes (docs/PROTOCOL.md §8): NDJSON, one observed cross-chain message per line. The
 * daemon records what it sees; `replay` feeds a tape back and records what the pipeline
 * submitted as a second tape, which tests compare with a golden one.
 */
export const tapeEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.enum(['evm.log', 'substrate.event', 'xcm.message']),
  chain: z.string().min(1),
  block: z.number().int().min(0),
  blockHash: hexSchema,
  tx: hexSchema.nullable(),
  index: z.number().int().min(0),
  data: hexSchema,
  /**
   * On `evm.log` entries, the calldata of the transaction that carried the log: on output
   * entries the fulfilment (the gateway logs only hashes; the outputs are in the call), on input
   * entries the request (which replay sends again when a consumer contract made it).
   */
  call: hexSchema.optional(),
  /** Input `evm.log` entries: who sent that transaction, to what, with what value (wei). */
  transaction: z
    .strictObject({ from: addressSchema, to: addressSchema.nullable(), value: uintStringSchema })
    .optional(),
  observedAt: z.number().int().min(0),
});
export type TapeEntry = z.infer<typeof tapeEntrySchema>;

export class TapeFormatError extends BaseError {
  /** The tape file must be fixed. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'TapeFormatError';
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: not a tape entry.`, {
      details: reason,
      docsPath: '/docs/PROTOCOL.md#8-replay-tapes',
    });
  }
}

/** Reads a whole tape, validating every line; blank lines are skipped. */
export function readTape(file: string): TapeEntry[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: TapeEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new TapeFormatError(file, i + 1, 'not JSON');
    }
    const parsed = tapeEntrySchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new TapeFormatError(file, i + 1, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    out.push(parsed.data);
  });
  return out;
}

/** What a watcher saw, besides the request job it made of it: enough for a tape entry. */
export type TapeObservation = { kind: TapeEntry['kind']; data: `0x${string}`; index: number };

/** Appends entries to a tape file, one JSON object per line, in the order given. */
export class TapeWriter {
  readonly #stream: WriteStream;
  /** `onError`: told about a failed open or write (without it, such an error is thrown by the stream). */
  constructor(file: string, options: { append?: boolean; onError?: (error: Error) => void } = {}) {
    this.#stream = createWriteStream(file, { flags: options.append ? 'a' : 'w' });
    if (options.onError) this.#stream.on('error', options.onError);
  }
  write(entry: TapeEntry): void {
    this.#stream.write(`${JSON.stringify(tapeEntrySchema.parse(entry))}\n`);
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}

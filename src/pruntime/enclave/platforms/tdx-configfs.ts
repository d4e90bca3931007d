import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../../../base/errors.js';
import type { TeePlatform } from '../platform.js';
import { PlatformError } from './errors.js';
import {
  expectReportData,
  MAX_QUOTE_BYTES,
  type QuoteFields,
  readQuoteFields,
  tdMeasurement,
} from './quote-layout.js';

export type TdxPlatformOptions = {
  /** The configfs-tsm report directory (default /sys/kernel/config/tsm/report). */
  root?: string;
  /** The TSM the kernel must name in `provider` (default `tdx_guest`). */
  expectedProvider?: string;
  /** configfs-tsm has no sealing key: the secret sealing is derived from (at least 16 bytes). */
  sealingSecret?: Uint8Array;
};

const SOURCE = 'configfs-tsm';

/**
 * Intel TDX through the Linux configfs-tsm interface (kernel Documentation/ABI/testing/configfs-tsm):
 * make a report entry under `/sys/kernel/config/tsm/report`, write the 64 report-data bytes to
 * `inblob`, read the quote from `outblob`, and read `generation` before and after: the kernel
 * counts every write to the entry, so a different value means another writer changed the request
 * while the quote was read. `provider` names the TSM behind it. The entry is removed afterwards.
 * One request at a time per process (the entry name is per process).
 */
export class TdxPlatform implements TeePlatform {
  readonly tee = 'tdx-dcap' as const;
  readonly #root: string;
  readonly #expectedProvider: string;
  readonly #sealingSecret: Uint8Array | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #measurement: Uint8Array | undefined;

  constructor(options: TdxPlatformOptions = {}) {
    this.#root = options.root ?? '/sys/kernel/config/tsm/report';
    this.#expectedProvider = options.expectedProvider ?? 'tdx_guest';
    if (options.sealingSecret && options.sealingSecret.length < 16)
      throw new InvalidInputError('sealingSecret', 'at least 16 bytes');
    this.#sealingSecret = options.sealingSecret && new Uint8Array(options.sealingSecret);
  }

  async #read(file: string, limit: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (cause) {
      throw new PlatformError('Cannot read the configfs-tsm report entry.', file, cause);
    }
    if (bytes.length > limit)
      throw new PlatformError(`${SOURCE} returned too much.`, `${file}: ${bytes.length} bytes`);
    return bytes;
  }

  async #generation(entry: string): Promise<number> {
    const text = new TextDecoder().decode(await this.#read(path.join(entry, 'generation'), 32)).trim();
    if (!/^\d{1,15}$/.test(text))
      throw new PlatformError(`${SOURCE} generation is not a number.`, `"${text.slice(0, 32)}"`);
    return Number(text);
  }

  /** One report request: the quote's fields and bytes, report data not yet compared. */
  async #request(reportData: Uint8Array): Promise<{ quote: Uint8Array; fields: QuoteFields }> {
    const entry = path.join(this.#root, `phala-bridge-${process.pid}`);
    try {
      await mkdir(entry, { recursive: true });
    } catch (cause) {
      throw new PlatformError(
        'Cannot create a configfs-tsm report entry.',
        `${entry} (is configfs mounted, and is this a TDX guest with the tdx_guest driver?)`,
        cause,
      );
    }
    try {
      const provider = new TextDecoder().decode(await this.#read(path.join(entry, 'provider'), 64)).trim();
      if (provider !== this.#expectedProvider)
        throw new PlatformError(
          `configfs-tsm is backed by "${provider.slice(0, 64)}", not "${this.#expectedProvider}".`,
          'set attestation.expectedProvider if this TSM is intended',
        );
      try {
        await writeFile(path.join(entry, 'inblob'), reportData);
      } catch (cause) {
        throw new PlatformError(
          'Cannot write report data to configfs-tsm.',
          path.join(entry, 'inblob'),
          cause,
        );
      }
      const before = await this.#generation(entry);
      const quote = await this.#read(path.join(entry, 'outblob'), MAX_QUOTE_BYTES);
      const after = await this.#generation(entry);
      if (before !== after)
        throw new PlatformError(
          'Another writer changed the configfs-tsm report entry while the quote was read.',
          `generation ${before} then ${after}`,
          undefined,
          { retryable: true },
        );
      const fields = readQuoteFields(quote, SOURCE);
      if (fields.tee !== 'tdx') throw new PlatformError(`${SOURCE} returned an SGX quote, expected TDX.`);
      return { quote, fields };
    } finally {
      // On configfs rmdir drops the entry; a failure only leaves an entry the next request reuses.
      await rmdir(entry).catch(() => undefined);
    }
  }

  /** Requests run one after another: they share the per-process entry. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async measurement(): Promise<Uint8Array> {
    if (!this.#measurement) {
      const { fields } = await this.#serial(() => this.#request(new Uint8Array(64)));
      this.#measurement = tdMeasurement(fields);
    }
    return new Uint8Array(this.#measurement);
  }

  async sealingSecret(): Promise<Uint8Array> {
    if (!this.#sealingSecret)
      throw new PlatformError(
        'configfs-tsm offers no sealing key.',
        'configure attestation.sealingSecret (for example from a key service that checks this TD first)',
      );
    return new Uint8Array(this.#sealingSecret);
  }

  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    if (reportData.length !== 64) throw new InvalidInputError('reportData', '64 bytes');
    const { quote, fields } = await this.#serial(() => this.#request(reportData));
    expectReportData(fields, reportData, SOURCE);
    return quote;
  }

  toJSON(): string {
    return '[TdxPlatform]';
  }
}

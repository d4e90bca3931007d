import type { Logger } from 'pino';
import { errorMessage } from '../../base/errors.js';
import type { RequestJob } from '../../protocol/request-job.js';
import { type TapeEntry, type TapeObservation, TapeWriter } from '../../protocol/tape.js';
import { tapeEntryOf } from './entries.js';

/** The transaction behind an EVM log, as input tapes keep it (null: not found). */
export type RecordedTransaction = Pick<TapeEntry, 'call'> & Required<Pick<TapeEntry, 'transaction'>>;
export type TransactionLookup = (chain: string, txHash: `0x${string}`) => Promise<RecordedTransaction | null>;

/**
 * Records every request the daemon queues to a tape (docs/PROTOCOL.md §8). Recording is a side
 * line: it never throws into the pipeline and never waits on the disk (writes are buffered by
 * the stream); when the file cannot be written it logs once and stops recording.
 */
export class TapeRecorder {
  readonly file: string;
  readonly #logger: Logger;
  readonly #writer: TapeWriter;
  readonly #transactionOf: TransactionLookup | undefined;
  #broken = false;
  #recorded = 0;
  /** Entries are written in the order recorded, each after its transaction was looked up. */
  #tail: Promise<void> = Promise.resolve();

  /**
   * `transactionOf`: looks up the transaction behind an EVM request (its sender, target, value
   * and calldata), so that replay can send it again when a consumer contract made the request.
   * A failed lookup leaves the entry without it.
   */
  constructor(
    file: string,
    logger: Logger,
    options: { append?: boolean; transactionOf?: TransactionLookup } = {},
  ) {
    this.file = file;
    this.#logger = logger;
    this.#transactionOf = options.transactionOf;
    this.#writer = new TapeWriter(file, {
      append: options.append ?? true,
      onError: (error) => this.#fail(error),
    });
  }

  get recorded(): number {
    return this.#recorded;
  }

  record(job: RequestJob, observation: TapeObservation | undefined): void {
    if (this.#broken) return;
    if (!observation) {
      this.#logger.debug({ requestId: job.requestId }, 'request without its raw message: not recorded');
      return;
    }
    const entry = tapeEntryOf(job, observation);
    this.#recorded++;
    this.#tail = this.#tail.then(async () => {
      if (entry.kind === 'evm.log' && entry.tx && this.#transactionOf) {
        const found = await this.#transactionOf(entry.chain, entry.tx).catch((error: unknown) => {
          this.#logger.warn({ tx: entry.tx, err: errorMessage(error) }, 'request transaction not recorded');
          return null;
        });
        if (found) Object.assign(entry, found);
      }
      if (this.#broken) return;
      try {
        this.#writer.write(entry);
      } catch (error) {
        this.#fail(error);
      }
    });
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#writer.close().catch((error: unknown) => this.#fail(error));
  }

  #fail(error: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#logger.error(
      { file: this.file, err: errorMessage(error) },
      'tape recording failed; recording stopped',
    );
  }
}

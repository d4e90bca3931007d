import type { Logger } from 'pino';
import { errorMessage } from '../../base/errors.js';
import type { RequestJob } from '../../protocol/request-job.js';
import { type TapeObservation, TapeWriter } from '../../protocol/tape.js';
import { tapeEntryOf } from './entries.js';

/**
 * Records every request the daemon queues to a tape (docs/PROTOCOL.md §8). Recording is a side
 * line: it never throws into the pipeline and never waits on the disk (writes are buffered by
 * the stream); when the file cannot be written it logs once and stops recording.
 */
export class TapeRecorder {
  readonly file: string;
  readonly #logger: Logger;
  readonly #writer: TapeWriter;
  #broken = false;
  #recorded = 0;

  constructor(file: string, logger: Logger, options: { append?: boolean } = {}) {
    this.file = file;
    this.#logger = logger;
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
    try {
      this.#writer.write(tapeEntryOf(job, observation));
      this.#recorded++;
    } catch (error) {
      this.#fail(error);
    }
  }

  async close(): Promise<void> {
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

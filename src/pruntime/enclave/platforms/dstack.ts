import { request } from 'node:http';
import { z } from 'zod';
import { fromHex, toHex } from '../../../base/bytes.js';
import { InvalidInputError } from '../../../base/errors.js';
import type { TeePlatform } from '../platform.js';
import { PlatformError } from './errors.js';
import { expectReportData, MAX_QUOTE_BYTES, readQuoteFields, tdMeasurement } from './quote-layout.js';

export type DstackPlatformOptions = {
  /** The dstack guest agent's Unix socket (default /var/run/dstack.sock). */
  socketPath?: string;
  /** Per call (default 30 s: a quote takes the QE a moment). */
  timeoutMs?: number;
  /** The GetKey path the sealing secret is derived under (default phala-bridge/sealing/v1). */
  sealingKeyPath?: string;
};

const SOURCE = 'the dstack guest agent';
/** The event log in a GetQuote answer can be large; anything beyond this is refused. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const hexText = z.string().regex(/^(0x)?([0-9a-fA-F]{2})*$/, 'hex');
const quoteResponseSchema = z.object({ quote: hexText.min(2), event_log: z.string().optional() });
const keyResponseSchema = z.object({ key: hexText.min(32) });

/**
 * A TD under dstack (Phala's TEE runtime): the guest agent answers HTTP on a Unix socket.
 * `POST /GetQuote {"report_data": hex}` → `{quote: hex, event_log, ...}`; `POST /GetKey
 * {"path", "purpose"}` → `{key: hex, signature_chain}`, a key the agent derives for this app's
 * identity (its KMS checks the TD first), used here as the sealing secret. Request and answer
 * shapes per dstack's guest agent API docs (sdk/curl/api.md).
 */
export class DstackPlatform implements TeePlatform {
  readonly tee = 'tdx-dcap' as const;
  readonly #socketPath: string;
  readonly #timeoutMs: number;
  readonly #keyPath: string;
  #measurement: Uint8Array | undefined;

  constructor(options: DstackPlatformOptions = {}) {
    this.#socketPath = options.socketPath ?? '/var/run/dstack.sock';
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#keyPath = options.sealingKeyPath ?? 'phala-bridge/sealing/v1';
  }

  /** One JSON call over the socket; any transport or HTTP failure is a PlatformError. */
  #call(method: string, body: unknown): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const fail = (shortMessage: string, details: string, cause?: unknown, retryable = false) =>
        reject(new PlatformError(shortMessage, details, cause, { retryable }));
      const req = request(
        {
          socketPath: this.#socketPath,
          path: `/${method}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': payload.length, host: 'dstack' },
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy();
              fail(
                `${SOURCE} answered ${method} with more than ${MAX_RESPONSE_BYTES} bytes.`,
                this.#socketPath,
              );
            } else chunks.push(chunk);
          });
          res.on('error', (cause) =>
            fail(`${SOURCE} broke off its ${method} answer.`, this.#socketPath, cause, true),
          );
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status !== 200) {
              fail(
                `${SOURCE} refused ${method} (HTTP ${status}).`,
                text.slice(0, 200),
                undefined,
                status >= 500,
              );
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch (cause) {
              fail(`${SOURCE} answered ${method} with something that is not JSON.`, text.slice(0, 80), cause);
            }
          });
        },
      );
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        req.destroy();
      });
      req.on('error', (cause) =>
        timedOut
          ? fail(
              `${SOURCE} did not answer ${method} within ${this.#timeoutMs} ms.`,
              this.#socketPath,
              cause,
              true,
            )
          : fail(
              `Cannot reach ${SOURCE}.`,
              `${this.#socketPath} (is the socket mounted into this container?)`,
              cause,
              true,
            ),
      );
      req.end(payload);
    });
  }

  async #getQuote(reportData: Uint8Array) {
    const answer = quoteResponseSchema.safeParse(
      await this.#call('GetQuote', { report_data: toHex(reportData).slice(2) }),
    );
    if (!answer.success)
      throw new PlatformError(
        `${SOURCE} answered GetQuote in an unknown shape.`,
        answer.error.issues[0]?.message,
      );
    const quote = fromHex(answer.data.quote, 'quote');
    if (quote.length > MAX_QUOTE_BYTES)
      throw new PlatformError(`${SOURCE} returned an oversized quote.`, `${quote.length} bytes`);
    const fields = readQuoteFields(quote, SOURCE);
    if (fields.tee !== 'tdx') throw new PlatformError(`${SOURCE} returned an SGX quote, expected TDX.`);
    return { quote, fields };
  }

  async measurement(): Promise<Uint8Array> {
    this.#measurement ??= tdMeasurement((await this.#getQuote(new Uint8Array(64))).fields);
    return new Uint8Array(this.#measurement);
  }

  async sealingSecret(): Promise<Uint8Array> {
    const answer = keyResponseSchema.safeParse(
      await this.#call('GetKey', { path: this.#keyPath, purpose: 'sealing' }),
    );
    if (!answer.success)
      throw new PlatformError(
        `${SOURCE} answered GetKey in an unknown shape.`,
        answer.error.issues[0]?.message,
      );
    return fromHex(answer.data.key, 'key');
  }

  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    if (reportData.length !== 64) throw new InvalidInputError('reportData', '64 bytes');
    const { quote, fields } = await this.#getQuote(reportData);
    expectReportData(fields, reportData, SOURCE);
    return quote;
  }

  toJSON(): string {
    return '[DstackPlatform]';
  }
}

import { Worker } from 'node:worker_threads';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * Parses request bodies. JSON.parse cannot be paused, and a body of many MiB takes hundreds of
 * ms to join, decode and parse on a loaded machine; so bodies from `offThreadBytes` up are
 * parsed in a worker thread and only the result is copied back, while small ones (nearly all)
 * are parsed here. The worker is plain JavaScript evaluated in place: it needs nothing but
 * JSON.parse, and an eval'd script needs no loader for TypeScript.
 */

const PARSER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, chunks }) => {
  let value;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    parentPort.postMessage({ id, ok: false });
    return;
  }
  parentPort.postMessage({ id, ok: true, value });
});
`;

/** The body is not JSON (answered with -32700 Parse error). */
export class InvalidJson extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'InvalidJson';
  constructor() {
    super('request body is not JSON');
  }
}

export class JsonBodyParser {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(readonly offThreadBytes = 1024 * 1024) {}

  /** The parsed body; throws InvalidJson when it is not JSON. */
  async parse(chunks: readonly Buffer[], size: number): Promise<unknown> {
    if (size < this.offThreadBytes) {
      try {
        return JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      } catch {
        throw new InvalidJson();
      }
    }
    const worker = this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Chunks that own their whole memory are moved, not copied; the rest are copied.
      const transfer = chunks
        .filter((c) => c.byteOffset === 0 && c.byteLength === c.buffer.byteLength)
        .map((c) => c.buffer as ArrayBuffer);
      worker.postMessage({ id, chunks }, [...new Set(transfer)]);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const p of this.#pending.values()) p.reject(new Error('server closed'));
    this.#pending.clear();
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(PARSER, { eval: true });
    worker.unref();
    worker.on('message', ({ id, ok, value }: { id: number; ok: boolean; value?: unknown }) => {
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      if (ok) p.resolve(value);
      else p.reject(new InvalidJson());
    });
    worker.on('error', (error) => {
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
      this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }
}

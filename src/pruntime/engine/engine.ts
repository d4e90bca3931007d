import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { type Hex, isHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { EngineFailureError, type EngineFailureReason } from './errors.js';
import {
  type CallLimits,
  type EngineLimits,
  callLimitsSchema,
  resolveCallLimits,
  resolveEngineLimits,
} from './limits.js';
import type { CallKind, JsonValue, SandboxCall, SandboxOutcome, SandboxStats } from './sandbox.js';
import type { FromThread, ThreadInit, ToThread } from './thread-protocol.js';

/**
 * The contract engine: QuickJS sandboxes in worker threads (docs/pruntime.md#engine).
 *
 * Each thread owns one Sandbox and runs one call at a time; calls queue per thread. Threads are
 * started with a 64 MiB native stack so that QuickJS's own stack limit (at most 1 MiB of its
 * shadow stack) always trips before V8's: otherwise how deep a contract may recurse would depend
 * on how deep the host happened to be when it called in. A thread that dies, or a call that
 * outlives the watchdog (gas ends runaway code long before; the watchdog is for engine faults),
 * fails that call with an EngineFailureError and the thread is replaced.
 */
export type ContractEngineOptions = Partial<EngineLimits> & {
  /** Engine threads (default 1); calls run in parallel across threads. */
  threads?: number;
  /** Wall-clock watchdog per call in milliseconds (default 60 s). */
  callTimeoutMs?: number;
  /** Contract snapshots each thread keeps (default 16). */
  maxContracts?: number;
  /** Check the whole memory after every restore (tests; slow). */
  verifyRestore?: boolean;
};

export type RunContractParameters = {
  code: string;
  /** `handle` (default) for a request, `query` for a read-only query. */
  kind?: CallKind;
  input: Uint8Array;
  /** Canonical state (state.ts), or null/absent for none yet. */
  state?: Uint8Array | null;
  /** 32-byte request id, 0x-hex: `ctx.requestId`. */
  requestId: Hex;
  /** `ctx.origin`: plain JSON describing where the request came from. */
  origin?: JsonValue;
  /** 32 bytes from which `ctx.random` draws (derived by the enclave from the contract key). */
  randomSeed: Uint8Array;
  limits?: Partial<CallLimits>;
};

export type ContractOutcome = SandboxOutcome;

const THREAD_STACK_MB = 64;
const MAX_CODE_BYTES = 1024 * 1024;

const bytesSchema = z.instanceof(Uint8Array);
const runSchema = z.strictObject({
  code: z.string().min(1).max(MAX_CODE_BYTES),
  kind: z.enum(['handle', 'query']).default('handle'),
  input: bytesSchema,
  state: bytesSchema.nullable().default(null),
  requestId: z.string().refine((v) => isHex(v) && v.length === 66, 'a 32-byte 0x-hex value'),
  origin: z.json().default(null),
  randomSeed: bytesSchema.refine((v) => v.length === 32, '32 bytes'),
  limits: callLimitsSchema.partial().optional(),
});

const BOOTSTRAP = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) {
    const api = await import(workerData.tsxApi);
    (api.register || api.default.register)();
  }
  await import(workerData.entry);
})().catch((error) => parentPort.postMessage({ type: 'fatal', message: String((error && error.message) || error) }));
`;

type Pending = {
  id: number;
  call: SandboxCall;
  resolve: (outcome: ContractOutcome) => void;
  reject: (error: EngineFailureError | InvalidInputError) => void;
};

class EngineThread {
  readonly worker: Worker;
  readonly ready: Promise<number>;
  readonly exited: Promise<void>;
  inFlight: Pending | null = null;
  queue: Pending[] = [];
  timer: NodeJS.Timeout | null = null;
  statsWaiters = new Map<number, (stats: SandboxStats) => void>();
  dead = false;
  /** Calls are only sent (and their watchdog started) once the thread has started. */
  isReady = false;

  constructor(
    init: ThreadInit,
    onMessage: (thread: EngineThread, message: FromThread) => void,
    onExit: (thread: EngineThread, why: string) => void,
  ) {
    this.worker = spawnThread(init);
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      const first = (message: FromThread) => {
        if (message.type === 'ready') resolve(message.memoryBytes);
        else if (message.type === 'fatal')
          reject(new EngineFailureError('startup', `engine thread failed to start: ${message.message}`));
      };
      this.worker.once('message', first);
      this.worker.once('error', (error) => reject(new EngineFailureError('startup', error.message)));
    });
    this.ready.then(
      () => {
        this.isReady = true;
      },
      () => {},
    );
    this.worker.on('message', (message: FromThread) => onMessage(this, message));
    this.worker.on('error', (error) => onExit(this, error.message));
    this.worker.on('exit', (code) => onExit(this, `engine thread exited with code ${code}`));
  }

  get load(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }
}

/** tsx's ESM register API, so a thread started from TypeScript sources can load them too. */
function tsxEsmApi(from: string): string {
  const pkg = createRequire(from).resolve('tsx/package.json');
  return pathToFileURL(path.join(path.dirname(pkg), 'dist', 'esm', 'api', 'index.mjs')).href;
}

function spawnThread(init: ThreadInit): Worker {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const entry = new URL(fromSource ? './thread.ts' : './thread.js', here).href;
  const tsxApi = fromSource ? tsxEsmApi(here) : null;
  return new Worker(BOOTSTRAP, {
    eval: true,
    workerData: { ...init, entry, tsxApi },
    resourceLimits: { stackSizeMb: THREAD_STACK_MB },
  });
}

/** Asks a thread to finish and waits for it; terminates it only if it does not within 5 s. */
async function stopThread(thread: EngineThread): Promise<void> {
  const { worker } = thread;
  worker.ref();
  try {
    worker.postMessage({ type: 'close' } satisfies ToThread);
  } catch {
    // Already gone.
  }
  const timer = setTimeout(() => void worker.terminate(), 5_000);
  await thread.exited;
  clearTimeout(timer);
}

export class ContractEngine {
  readonly #init: ThreadInit;
  readonly #timeoutMs: number;
  readonly #threads: EngineThread[] = [];
  #nextId = 1;
  #closed = false;
  /** Bytes of each sandbox's fixed WebAssembly memory. */
  readonly memoryBytes: number;
  readonly limits: EngineLimits;

  private constructor(init: ThreadInit, timeoutMs: number, limits: EngineLimits, memoryBytes: number) {
    this.#init = init;
    this.#timeoutMs = timeoutMs;
    this.limits = limits;
    this.memoryBytes = memoryBytes;
  }

  static async start(options: ContractEngineOptions = {}): Promise<ContractEngine> {
    const limits = resolveEngineLimits({ memoryBytes: options.memoryBytes, stackBytes: options.stackBytes });
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64)
      throw new InvalidInputError('threads', 'an integer from 1 to 64');
    const timeoutMs = options.callTimeoutMs ?? 60_000;
    const init: ThreadInit = {
      options: {
        ...limits,
        maxContracts: options.maxContracts ?? 16,
        verifyRestore: options.verifyRestore ?? false,
      },
    };
    const engine = new ContractEngine(init, timeoutMs, limits, 0);
    for (let i = 0; i < threads; i++) engine.#threads.push(engine.#spawn());
    try {
      const sizes = await Promise.all(engine.#threads.map((t) => t.ready));
      (engine as { memoryBytes: number }).memoryBytes = sizes[0]!;
    } catch (error) {
      await engine.close();
      throw error;
    }
    for (const thread of engine.#threads) thread.worker.unref();
    return engine;
  }

  /**
   * Runs one call. Contract failures (out of gas, a throw, …) are outcomes with `ok: false`;
   * only engine faults reject (with EngineFailureError), and bad parameters throw
   * InvalidInputError.
   */
  run(parameters: RunContractParameters): Promise<ContractOutcome> {
    const parsed = runSchema.safeParse(parameters);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return Promise.reject(new InvalidInputError(issue.path.join('.') || 'parameters', issue.message));
    }
    if (this.#closed) return Promise.reject(new EngineFailureError('closed', 'the engine is closed'));
    const p = parsed.data;
    const call: SandboxCall = {
      code: p.code,
      kind: p.kind,
      input: p.input,
      state: p.state,
      requestId: p.requestId.toLowerCase(),
      origin: p.origin as JsonValue,
      randomSeed: p.randomSeed,
      limits: resolveCallLimits(p.limits),
    };
    return new Promise((resolve, reject) => {
      const pending: Pending = { id: this.#nextId++, call, resolve, reject };
      const thread = this.#threads.reduce((best, t) => (t.load < best.load ? t : best));
      thread.queue.push(pending);
      this.#pump(thread);
    });
  }

  /** Counters of every thread, summed. */
  async stats(): Promise<SandboxStats> {
    const all = await Promise.all(
      this.#threads.map(
        (thread) =>
          new Promise<SandboxStats>((resolve) => {
            const id = this.#nextId++;
            thread.statsWaiters.set(id, resolve);
            thread.worker.ref();
            thread.worker.postMessage({ type: 'stats', id } satisfies ToThread);
          }),
      ),
    );
    return all.reduce((a, b) => ({
      calls: a.calls + b.calls,
      contractLoads: a.contractLoads + b.contractLoads,
      instances: a.instances + b.instances,
      restoreMs: a.restoreMs + b.restoreMs,
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const thread of this.#threads) {
      thread.dead = true;
      if (thread.timer) clearTimeout(thread.timer);
      const failed = [...(thread.inFlight ? [thread.inFlight] : []), ...thread.queue];
      thread.inFlight = null;
      thread.queue = [];
      for (const p of failed) p.reject(new EngineFailureError('closed', 'the engine was closed'));
    }
    await Promise.all(this.#threads.map((t) => stopThread(t)));
  }

  #spawn(): EngineThread {
    return new EngineThread(
      this.#init,
      (thread, message) => this.#onMessage(thread, message),
      (thread, why) => this.#onExit(thread, why),
    );
  }

  #pump(thread: EngineThread): void {
    if (thread.dead || !thread.isReady || thread.inFlight || thread.queue.length === 0) {
      if (
        thread.isReady &&
        !thread.inFlight &&
        thread.queue.length === 0 &&
        thread.statsWaiters.size === 0 &&
        !thread.dead
      )
        thread.worker.unref();
      return;
    }
    const pending = thread.queue.shift()!;
    thread.inFlight = pending;
    thread.worker.ref();
    thread.timer = setTimeout(() => this.#onTimeout(thread), this.#timeoutMs);
    thread.worker.postMessage({ type: 'call', id: pending.id, call: pending.call } satisfies ToThread);
  }

  #onMessage(thread: EngineThread, message: FromThread): void {
    if (message.type === 'stats') {
      thread.statsWaiters.get(message.id)?.(message.stats);
      thread.statsWaiters.delete(message.id);
      this.#pump(thread);
      return;
    }
    if (message.type !== 'outcome' && message.type !== 'failure' && message.type !== 'invalid') return;
    const pending = thread.inFlight;
    if (!pending || pending.id !== message.id) return;
    if (thread.timer) clearTimeout(thread.timer);
    thread.timer = null;
    thread.inFlight = null;
    if (message.type === 'outcome') pending.resolve(message.outcome);
    else if (message.type === 'invalid')
      pending.reject(new InvalidInputError(message.field, message.expected));
    else pending.reject(new EngineFailureError(message.reason, message.message));
    this.#pump(thread);
  }

  #onTimeout(thread: EngineThread): void {
    this.#replace(thread, 'timeout', `the call did not finish within ${this.#timeoutMs} ms`);
  }

  #onExit(thread: EngineThread, why: string): void {
    this.#replace(thread, 'crashed', why);
  }

  #replace(thread: EngineThread, reason: EngineFailureReason, why: string): void {
    if (thread.dead || this.#closed) return;
    thread.dead = true;
    if (thread.timer) clearTimeout(thread.timer);
    const inFlight = thread.inFlight;
    const queued = thread.queue;
    thread.inFlight = null;
    thread.queue = [];
    void thread.worker.terminate();
    inFlight?.reject(new EngineFailureError(reason, why));
    const index = this.#threads.indexOf(thread);
    const fresh = this.#spawn();
    this.#threads[index] = fresh;
    fresh.queue.push(...queued);
    fresh.ready.then(
      () => {
        fresh.isReady = true;
        this.#pump(fresh);
      },
      (error: EngineFailureError) => {
        for (const p of fresh.queue) p.reject(error);
        fresh.queue = [];
      },
    );
  }
}

/** Starts an engine, runs one call, and closes it: for tools and tests. */
export async function runContractOnce(
  parameters: RunContractParameters,
  options: ContractEngineOptions = {},
): Promise<ContractOutcome> {
  const engine = await ContractEngine.start(options);
  try {
    return await engine.run(parameters);
  } finally {
    await engine.close();
  }
}

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { hex32Schema } from '../../protocol/schemas.js';
import type { Hex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { EngineFailureError } from './errors.js';
import {
  type CallLimits,
  type EngineLimits,
  callLimitsSchema,
  defaultCallLimits,
  resolveCallLimits,
  resolveEngineLimits,
} from './limits.js';
import type { CallKind, JsonValue, SandboxCall, SandboxOutcome } from './sandbox.js';
import { oversizedModuleOutcome } from '../wasm/wasm-runner.js';
import { FairScheduler } from './scheduler.js';
import type { EngineStats, FromThread, ThreadInit, ToThread } from './thread-protocol.js';

export type { EngineStats } from './thread-protocol.js';

/**
 * The contract engine: QuickJS sandboxes in worker threads (docs/pruntime.md#sandbox-and-snapshots).
 *
 * Each thread owns one Sandbox and runs one call at a time. Calls wait in a fair-share scheduler
 * (scheduler.ts): one queue per tenant (the contract), served round-robin, each tenant limited to
 * its share of the threads, so one contract's burst never queues another's call behind it.
 * Threads are started with a 64 MiB native stack so that QuickJS's own stack limit (at most
 * 1 MiB of its shadow stack) always trips before V8's: otherwise how deep a contract may recurse
 * would depend on how deep the host happened to be when it called in.
 *
 * A call that outlives the wall-clock watchdog ends as the contract's `OutOfGas` outcome (its
 * thread is replaced): gas counts interpreter steps, and the watchdog catches what gas does not
 * see (docs/pruntime.md#limits-and-errors). A thread that dies fails its call with an
 * EngineFailureError and is replaced.
 */
export type ContractEngineOptions = Partial<EngineLimits> & {
  /** Engine threads (default 1); calls run in parallel across threads. */
  threads?: number;
  /**
   * Wall-clock limit in milliseconds of a call given the default gas budget (default 5 s); a call
   * given more gas gets proportionally longer. Past it the call ends as `OutOfGas`.
   */
  callTimeoutMs?: number;
  /** Contract snapshots each thread keeps (default 16). */
  maxContracts?: number;
  /** Check the whole memory after every restore (tests; slow). */
  verifyRestore?: boolean;
};

export type RunContractParameters = {
  /**
   * JavaScript source, or a WebAssembly module's bytes (docs/wasm-host-interface.md). A module
   * past the size limit is refused by name as the call's `InvalidContract` outcome.
   */
  code: string | Uint8Array;
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
  /** 32-byte contract id, 0x-hex (a WebAssembly contract's context field 1); zero by default. */
  contractId?: Hex;
  /** The origin-chain block the request was verified in (context field 5); 0 by default. */
  blockNumber?: number;
  /**
   * Whose share of the threads the call counts against (the contract id, for a worker). Calls
   * without one share a single tenant.
   */
  tenant?: string;
};

export type ContractOutcome = SandboxOutcome;

const THREAD_STACK_MB = 64;
const MAX_CODE_BYTES = 1024 * 1024;

const bytesSchema = z.instanceof(Uint8Array);
const ZERO_ID: Hex = `0x${'00'.repeat(32)}`;
const runSchema = z.strictObject({
  // A module's size limit is the instrumenter's to enforce, so the refusal names it.
  code: z.union([
    z.string().min(1).max(MAX_CODE_BYTES),
    bytesSchema.refine((v) => v.length > 0, 'module bytes'),
  ]),
  kind: z.enum(['handle', 'query']).default('handle'),
  input: bytesSchema,
  state: bytesSchema.nullable().default(null),
  requestId: hex32Schema,
  origin: z.json().default(null),
  randomSeed: bytesSchema.refine((v) => v.length === 32, '32 bytes'),
  limits: callLimitsSchema.partial().optional(),
  tenant: z.string().min(1).max(256).default(''),
  contractId: hex32Schema.default(ZERO_ID),
  blockNumber: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});

/** The watchdog of a call with the default gas budget. */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

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
  tenant: string;
  call: SandboxCall;
  /** This call's watchdog: the engine's, scaled by the call's gas budget. */
  timeoutMs: number;
  resolve: (outcome: ContractOutcome) => void;
  reject: (error: EngineFailureError | InvalidInputError) => void;
};

class EngineThread {
  readonly worker: Worker;
  readonly ready: Promise<number>;
  readonly exited: Promise<void>;
  inFlight: Pending | null = null;
  timer: NodeJS.Timeout | null = null;
  statsWaiters = new Map<number, (stats: EngineStats) => void>();
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

  get idle(): boolean {
    return this.isReady && !this.dead && !this.inFlight;
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
  readonly #scheduler: FairScheduler<Pending>;
  #nextId = 1;
  #closed = false;
  /** Bytes of each sandbox's fixed WebAssembly memory. */
  readonly memoryBytes: number;
  readonly limits: EngineLimits;

  private constructor(
    init: ThreadInit,
    timeoutMs: number,
    threads: number,
    limits: EngineLimits,
    memoryBytes: number,
  ) {
    this.#init = init;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = new FairScheduler(threads);
    this.limits = limits;
    this.memoryBytes = memoryBytes;
  }

  static async start(options: ContractEngineOptions = {}): Promise<ContractEngine> {
    const limits = resolveEngineLimits({ memoryBytes: options.memoryBytes, stackBytes: options.stackBytes });
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64)
      throw new InvalidInputError('threads', 'an integer from 1 to 64');
    const timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 600_000)
      throw new InvalidInputError('callTimeoutMs', 'an integer from 10 to 600,000 (milliseconds)');
    const init: ThreadInit = {
      options: {
        ...limits,
        maxContracts: options.maxContracts ?? 16,
        verifyRestore: options.verifyRestore ?? false,
      },
    };
    const engine = new ContractEngine(init, timeoutMs, threads, limits, 0);
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

  /** Engine threads. */
  get threads(): number {
    return this.#scheduler.slots;
  }

  /** How many calls `tenant` may run at once right now (scheduler.ts), counting it as active. */
  shareOf(tenant: string): number {
    return this.#scheduler.shareOf(tenant);
  }

  /**
   * Runs one call. Contract failures (out of gas, past the watchdog, a throw, …) are outcomes
   * with `ok: false`; only engine faults reject (with EngineFailureError), and bad parameters
   * throw InvalidInputError.
   */
  run(parameters: RunContractParameters): Promise<ContractOutcome> {
    const parsed = runSchema.safeParse(parameters);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return Promise.reject(new InvalidInputError(issue.path.join('.') || 'parameters', issue.message));
    }
    if (this.#closed) return Promise.reject(new EngineFailureError('closed', 'the engine is closed'));
    const p = parsed.data;
    let limits: CallLimits;
    try {
      limits = resolveCallLimits(p.limits);
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof p.code !== 'string') {
      try {
        const refused = oversizedModuleOutcome(p.code, limits.gas, this.limits.memoryBytes);
        if (refused) return Promise.resolve(refused);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const call: SandboxCall = {
      code: p.code,
      kind: p.kind,
      input: p.input,
      state: p.state,
      requestId: p.requestId.toLowerCase(),
      origin: p.origin as JsonValue,
      randomSeed: p.randomSeed,
      limits,
      contractId: p.contractId.toLowerCase(),
      blockNumber: p.blockNumber,
    };
    // A call given more gas than the default may legitimately run longer, in proportion.
    const timeoutMs = Math.ceil(this.#timeoutMs * Math.max(1, limits.gas / defaultCallLimits.gas));
    return new Promise((resolve, reject) => {
      const pending: Pending = { id: this.#nextId++, tenant: p.tenant, call, timeoutMs, resolve, reject };
      this.#scheduler.enqueue(p.tenant, pending);
      this.#dispatch();
    });
  }

  /** Counters of every thread, summed: the QuickJS sandboxes', and the WebAssembly runners' under `wasm`. */
  async stats(): Promise<EngineStats> {
    const all = await Promise.all(
      this.#threads
        .filter((thread) => !thread.dead)
        .map(
          (thread) =>
            new Promise<EngineStats>((resolve) => {
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
      wasm: {
        calls: a.wasm.calls + b.wasm.calls,
        moduleLoads: a.wasm.moduleLoads + b.wasm.moduleLoads,
        instances: a.wasm.instances + b.wasm.instances,
        resetMs: a.wasm.resetMs + b.wasm.resetMs,
      },
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const failed = this.#scheduler.drain();
    for (const thread of this.#threads) {
      thread.dead = true;
      if (thread.timer) clearTimeout(thread.timer);
      if (thread.inFlight) failed.push(thread.inFlight);
      thread.inFlight = null;
    }
    for (const p of failed) p.reject(new EngineFailureError('closed', 'the engine was closed'));
    await Promise.all(this.#threads.map((t) => stopThread(t)));
  }

  #spawn(): EngineThread {
    return new EngineThread(
      this.#init,
      (thread, message) => this.#onMessage(thread, message),
      (thread, why) => this.#onExit(thread, why),
    );
  }

  /** Starts the scheduler's next calls on idle threads; lets idle threads not hold the process. */
  #dispatch(): void {
    if (this.#closed) return;
    for (const thread of this.#threads) {
      if (!thread.idle) continue;
      const next = this.#scheduler.next();
      if (!next) break;
      const pending = next.item;
      thread.inFlight = pending;
      thread.worker.ref();
      thread.timer = setTimeout(() => this.#onTimeout(thread), pending.timeoutMs);
      thread.worker.postMessage({ type: 'call', id: pending.id, call: pending.call } satisfies ToThread);
    }
    for (const thread of this.#threads)
      if (thread.idle && thread.statsWaiters.size === 0) thread.worker.unref();
  }

  #onMessage(thread: EngineThread, message: FromThread): void {
    if (message.type === 'stats') {
      thread.statsWaiters.get(message.id)?.(message.stats);
      thread.statsWaiters.delete(message.id);
      this.#dispatch();
      return;
    }
    if (message.type !== 'outcome' && message.type !== 'failure' && message.type !== 'invalid') return;
    const pending = thread.inFlight;
    if (!pending || pending.id !== message.id) return;
    if (thread.timer) clearTimeout(thread.timer);
    thread.timer = null;
    thread.inFlight = null;
    this.#scheduler.done(pending.tenant);
    if (message.type === 'outcome') pending.resolve(message.outcome);
    else if (message.type === 'invalid')
      pending.reject(new InvalidInputError(message.field, message.expected));
    else pending.reject(new EngineFailureError(message.reason, message.message));
    this.#dispatch();
  }

  /**
   * The call ran past its wall-clock limit: it ends as the contract's `OutOfGas` (all its gas
   * used), and its thread, still busy inside the call, is replaced.
   */
  #onTimeout(thread: EngineThread): void {
    const pending = thread.inFlight;
    if (!pending || thread.dead || this.#closed) return;
    pending.resolve({
      ok: false,
      error: {
        code: 'OutOfGas',
        message: `the call ran past the engine's wall-clock limit (${pending.timeoutMs} ms) before its gas ran out`,
      },
      gasUsed: pending.call.limits.gas,
      logs: [],
    });
    this.#replace(thread, null);
  }

  #onExit(thread: EngineThread, why: string): void {
    this.#replace(thread, new EngineFailureError('crashed', why));
  }

  /**
   * Replaces a thread. Its call (already answered on a timeout, else failed with `failure`) keeps
   * its tenant's slot until the new thread is ready: a tenant whose calls keep killing threads
   * cannot take another thread meanwhile.
   */
  #replace(thread: EngineThread, failure: EngineFailureError | null): void {
    if (thread.dead || this.#closed) return;
    thread.dead = true;
    if (thread.timer) clearTimeout(thread.timer);
    const inFlight = thread.inFlight;
    thread.inFlight = null;
    void thread.worker.terminate();
    if (inFlight && failure) inFlight.reject(failure);
    const release = () => {
      if (inFlight) this.#scheduler.done(inFlight.tenant);
    };
    const index = this.#threads.indexOf(thread);
    const fresh = this.#spawn();
    this.#threads[index] = fresh;
    fresh.ready.then(
      () => {
        fresh.isReady = true;
        release();
        this.#dispatch();
      },
      (error: EngineFailureError) => {
        fresh.dead = true;
        release();
        // Without a live thread nothing queued can run: fail it rather than wait forever.
        if (this.#threads.every((t) => t.dead)) for (const p of this.#scheduler.drain()) p.reject(error);
        else this.#dispatch();
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

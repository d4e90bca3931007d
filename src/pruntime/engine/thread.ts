import { parentPort, workerData } from 'node:worker_threads';
import { InvalidInputError } from '../../base/errors.js';
import { EngineFailureError } from './errors.js';
import { WasmRunner } from '../wasm/wasm-runner.js';
import { type JsSandboxCall, Sandbox, type SandboxCall, type SandboxOutcome } from './sandbox.js';
import type { FromThread, ThreadInit, ToThread } from './thread-protocol.js';

/**
 * Entry point of an engine thread: one Sandbox for JavaScript contracts and one WasmRunner for
 * WebAssembly ones (code given as bytes), calls handled one at a time in arrival order.
 * Started by ContractEngine with a large native stack (see engine.ts).
 */
const port = parentPort;
if (!port) throw new Error('thread.ts must run in a worker thread');

const post = (message: FromThread) => port.postMessage(message);
const init = workerData as ThreadInit;

try {
  const sandbox = await Sandbox.create(init.options);
  const wasm = new WasmRunner({
    memoryBytes: init.options.memoryBytes,
    maxModules: init.options.maxContracts ?? 16,
  });
  const isJs = (call: SandboxCall): call is JsSandboxCall => typeof call.code === 'string';
  const run = (call: SandboxCall): Promise<SandboxOutcome> | SandboxOutcome =>
    isJs(call) ? sandbox.call(call) : wasm.call(call);
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: ToThread) => {
    // Leave by letting the event loop empty: terminating a thread that registered module hooks
    // (tsx, when running from sources) can crash Node 20 at exit.
    if (message.type === 'close') {
      void queue.then(() => port.close());
      return;
    }
    queue = queue.then(async () => {
      if (message.type === 'stats') {
        post({ type: 'stats', id: message.id, stats: { ...sandbox.stats, wasm: { ...wasm.stats } } });
        return;
      }
      try {
        const outcome = await run(message.call);
        post({ type: 'outcome', id: message.id, outcome });
      } catch (error) {
        if (error instanceof InvalidInputError) {
          const expected = error.shortMessage.slice(`${error.field}: expected `.length);
          post({ type: 'invalid', id: message.id, field: error.field, expected });
          return;
        }
        const reason = error instanceof EngineFailureError ? error.reason : 'crashed';
        const text =
          error instanceof EngineFailureError ? (error.details ?? error.shortMessage) : String(error);
        post({ type: 'failure', id: message.id, reason, message: text });
      }
    });
  });
  post({ type: 'ready', memoryBytes: sandbox.memoryBytes });
} catch (error) {
  post({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
}

import { parentPort, workerData } from 'node:worker_threads';
import { InvalidInputError } from '../../base/errors.js';
import { EngineFailureError } from './errors.js';
import { Sandbox } from './sandbox.js';
import type { FromThread, ThreadInit, ToThread } from './thread-protocol.js';

/**
 * Entry point of an engine thread: one Sandbox, calls handled one at a time in arrival order.
 * Started by ContractEngine with a large native stack (see engine.ts).
 */
const port = parentPort;
if (!port) throw new Error('thread.ts must run in a worker thread');

const post = (message: FromThread) => port.postMessage(message);
const init = workerData as ThreadInit;

try {
  const sandbox = await Sandbox.create(init.options);
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
        post({ type: 'stats', id: message.id, stats: { ...sandbox.stats } });
        return;
      }
      try {
        const outcome = await sandbox.call(message.call);
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

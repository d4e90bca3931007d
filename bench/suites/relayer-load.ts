import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Address, type Hex, createPublicClient, http } from 'viem';
import { type GatewayLogEvent, decodeGatewayLog } from '../../src/evm/gateway/events.js';

/**
 * The relayer bench's load generator: the senders and the block follower, in a process of their
 * own. In the devnet's process they took a tenth of its one thread (a thousand
 * `eth_sendRawTransaction` calls, the follower's polls and the decoding of every gateway log) from
 * the workers and the relayer measured beside them, and the follower's clock lagged with that
 * thread. The parent seals and signs the transactions before the clock starts; this process sends
 * them and reports, at first sight of each block (wall clock), the requests mined and the
 * fulfilments in it.
 */

export type RequestSent = Extract<GatewayLogEvent, { kind: 'RequestSent' }>;

/** What the load process reports: wall-clock ms (`performance.timeOrigin + performance.now()`). */
export type LoadEvent =
  | { kind: 'ready' }
  | { kind: 'mined'; at: number; events: RequestSent[] }
  | { kind: 'fulfilled'; at: number; fulfilments: { requestId: Hex; tx: Hex }[] }
  | { kind: 'sent'; id: number; hashes: Hex[]; seconds: number; error?: string }
  | { kind: 'error'; message: string };

type LoadCommand =
  | { kind: 'send'; id: number; perSecond: number | null; bySender: { i: number; raw: Hex }[][] }
  | { kind: 'stop' };

type LoadOptions = { rpcUrl: string; chainId: number; gateway: Address; fromBlock: bigint };

const SELF = fileURLToPath(import.meta.url);
const FOLLOW_EVERY_MS = 50;

/** Starts the load process on the chain at `rpcUrl`, following from the block after `fromBlock`. */
export async function startLoadProcess(
  options: LoadOptions,
  onEvent: (event: Exclude<LoadEvent, { kind: 'sent' | 'ready' }>) => void,
) {
  const child: ChildProcess = fork(
    SELF,
    [JSON.stringify({ ...options, fromBlock: options.fromBlock.toString() })],
    {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sends = new Map<number, (sent: Extract<LoadEvent, { kind: 'sent' }>) => void>();
  let nextId = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the load process exited (${code}) before it was ready`)));
    child.on('message', (message: LoadEvent) => {
      if (message.kind === 'ready') resolve();
      else if (message.kind === 'sent') sends.get(message.id)?.(message);
      else onEvent(message);
    });
  });
  await ready;
  return {
    /** Sends each sender's transactions in order, all senders at once; paced over `i` when asked. */
    send(
      bySender: { i: number; raw: Hex }[][],
      perSecond: number | null,
    ): Promise<{ hashes: Hex[]; seconds: number }> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        sends.set(id, (sent) => {
          sends.delete(id);
          if (sent.error) reject(new Error(`the load process could not send: ${sent.error}`));
          else resolve(sent);
        });
        child.send({ kind: 'send', id, perSecond, bySender } satisfies LoadCommand);
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) child.send({ kind: 'stop' } satisfies LoadCommand);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The load process itself. */
async function loadMain(options: LoadOptions): Promise<void> {
  const post = (event: LoadEvent) => process.send?.(event);
  const client = createPublicClient({ transport: http(options.rpcUrl, { retryCount: 0 }) });
  let stopped = false;
  let last = options.fromBlock;
  const follower = (async () => {
    while (!stopped) {
      try {
        const head = await client.getBlockNumber({ cacheTime: 0 });
        if (head > last) {
          const at = wallNow();
          const logs = await client.getLogs({
            address: options.gateway,
            fromBlock: last + 1n,
            toBlock: head,
          });
          const mined: RequestSent[] = [];
          const fulfilments: { requestId: Hex; tx: Hex }[] = [];
          for (const log of logs) {
            const event = decodeGatewayLog(log, options.chainId);
            if (event?.kind === 'RequestSent') mined.push(event);
            else if (event?.kind === 'RequestFulfilled')
              fulfilments.push({
                requestId: event.requestId.toLowerCase() as Hex,
                tx: event.transactionHash.toLowerCase() as Hex,
              });
          }
          if (mined.length) post({ kind: 'mined', at, events: mined });
          if (fulfilments.length) post({ kind: 'fulfilled', at, fulfilments });
          last = head;
        }
      } catch (error) {
        post({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
      }
      await sleep(FOLLOW_EVERY_MS);
    }
  })();

  process.on('message', (command: LoadCommand) => {
    if (command.kind === 'stop') {
      stopped = true;
      void follower.finally(() => process.exit(0));
      return;
    }
    const hashes: Hex[] = [];
    const start = performance.now();
    void (async () => {
      await Promise.all(
        command.bySender.map(async (txs) => {
          for (const { i, raw } of txs) {
            if (command.perSecond !== null) {
              const wait = start + (i * 1000) / command.perSecond - performance.now();
              if (wait > 0) await sleep(wait);
            }
            const hash = await client.sendRawTransaction({ serializedTransaction: raw });
            hashes.push(hash.toLowerCase() as Hex);
          }
        }),
      );
      post({ kind: 'sent', id: command.id, hashes, seconds: (performance.now() - start) / 1000 });
    })().catch((error: unknown) =>
      post({
        kind: 'sent',
        id: command.id,
        hashes,
        seconds: (performance.now() - start) / 1000,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  });
  // A bench stopped hard (an error, Ctrl-C) leaves no process of this kind behind.
  process.once('disconnect', () => process.exit(0));
  post({ kind: 'ready' });
}

if (process.argv[1] === SELF && process.send) {
  const raw = JSON.parse(process.argv[2] ?? '{}') as Omit<LoadOptions, 'fromBlock'> & { fromBlock: string };
  void loadMain({ ...raw, fromBlock: BigInt(raw.fromBlock) });
}

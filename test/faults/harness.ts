/**
 * What the fault scenarios share (test/faults/run.ts): relayers and workers as real child
 * processes, requests streamed from the test consumer, and the count that matters — every
 * request fulfilled exactly once — read from the chain itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Hex, getAbiItem, parseEventLogs } from 'viem';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { type EvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import type { WorkerEvmRelayFixture } from '../helpers/worker-evm-relay.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/phala-bridge.js');
// A Redis database of its own, so that "Redis flushed" flushes only what this run wrote.
export const REDIS_URL = process.env.PHALA_BRIDGE_FAULTS_REDIS ?? 'redis://127.0.0.1:6379/13';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Relayer = {
  child: ChildProcess;
  log: string[];
  /** Its health endpoints (`/healthz`, `/readyz`, `/metrics`). */
  metricsUrl: string;
  /** Its admin API (journeys). */
  adminUrl: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

/** Child processes of the running scenario; their last log lines are printed when it fails. */
export const spawned: { name: string; relayer: Pick<Relayer, 'child' | 'log'> }[] = [];

type RawConfig = ReturnType<EvmRelayFixture['rawConfig']>;

/** Ports handed out by `quietPort` in this run. */
const handedOut = new Set<number>();

/**
 * A free loopback port below the kernel's ephemeral range (32768–60999 on Linux). A port from that
 * range (`listen(0)`, then closed) can be taken before the relayer binds it: the vitest suite runs
 * beside the faults, its servers listen on port 0 and every outgoing connection takes a local port
 * there. One CI run failed so (`EADDRINUSE`, and another process answered `/healthz`). Nothing
 * here takes a port below that range unasked.
 */
async function quietPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
}

/** Whether a server can listen on the loopback `port` now (it is closed again at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A relayer as an operator runs it (`phala-bridge start --config`), on free loopback ports for
 * its health and admin APIs. `edit` changes the configuration file before it is written.
 */
export async function spawnRelayer(
  f: EvmRelayFixture,
  name: string,
  overrides: Parameters<EvmRelayFixture['rawConfig']>[0] = {},
  edit: (raw: RawConfig) => object = (raw) => raw,
): Promise<Relayer> {
  const file = path.join(f.dataDir, `${name}.json`);
  const [metricsPort, adminPort] = [await quietPort(), await quietPort()];
  const raw = f.rawConfig(overrides);
  raw.metrics = { port: metricsPort };
  raw.admin = { port: adminPort };
  writeFileSync(file, JSON.stringify(edit(raw)));
  const child = spawn(process.execPath, [bin, 'start', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  spawned.push({ name, relayer: { child, log } });
  child.stderr!.on('data', (d: Buffer) => {
    log.push(String(d));
    if (log.length > 200) log.shift();
  });
  return {
    child,
    log,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    stop: (signal = 'SIGTERM') => stopChild(child, signal),
  };
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Waits until the relayer's health endpoint answers (the process is up and its daemon started). */
export async function relayerUp(relayer: Relayer, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      if (relayer.child.exitCode !== null) throw new Error(`relayer exited with ${relayer.child.exitCode}`);
      return fetch(`${relayer.metricsUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    timeoutMs,
    'the relayer answering /healthz',
  );
}

export type WorkerChild = {
  child: ChildProcess;
  url: string;
  address: Hex;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

/** A worker service as an operator runs it (`phala-bridge worker --config`); resolves once its API listens. */
export async function spawnWorker(f: WorkerEvmRelayFixture, name: string): Promise<WorkerChild> {
  const file = f.writeWorkerConfig({
    name,
    concurrency: 2,
    lockDurationMs: 2_000,
    stalledIntervalMs: 1_000,
    logLevel: 'info',
  });
  const child = spawn(process.execPath, [bin, 'worker', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  spawned.push({ name, relayer: { child, log } });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start in time`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      for (const line of String(d).split('\n')) {
        if (!line) continue;
        log.push(line);
        if (log.length > 200) log.shift();
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'worker http api listening' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited with ${code}`));
    });
  });
  const info = (await (await fetch(`${url}/info`)).json()) as {
    worker: { secp256k1: Hex; x25519: Hex; address: Hex };
  };
  return { child, url, address: info.worker.address, stop: (signal = 'SIGTERM') => stopChild(child, signal) };
}

/** Onboards a spawned worker (approval, key, gateway) and waits until it serves with the key. */
export async function onboardWorker(f: WorkerEvmRelayFixture, worker: WorkerChild): Promise<void> {
  const info = async () =>
    (await (await fetch(`${worker.url}/info`)).json()) as {
      worker: { secp256k1: Hex; x25519: Hex; address: Hex };
      serving: boolean;
      keys: { id: string }[];
    };
  await f.onboard((await info()).worker);
  await waitFor(
    async () => {
      const view = await info();
      return view.serving && view.keys.some((k) => k.id === f.deployed.contractId.toLowerCase());
    },
    60_000,
    'the worker serving with the contract key',
  );
}

/** Per request: how many `RequestFulfilled` events the gateway emitted for it since `fromBlock`. */
async function fulfilments(f: EvmRelayFixture, fromBlock: bigint): Promise<Map<string, number>> {
  const logs = await f.devnet.clients.publicClient.getLogs({
    address: f.devnet.gateway,
    event: getAbiItem({ abi: phalaBridgeGatewayAbi, name: 'RequestFulfilled' }),
    fromBlock,
    toBlock: 'latest',
  });
  const fulfilled = new Map<string, number>();
  for (const log of parseEventLogs({ abi: phalaBridgeGatewayAbi, logs, eventName: 'RequestFulfilled' })) {
    fulfilled.set(log.args.requestId, (fulfilled.get(log.args.requestId) ?? 0) + 1);
  }
  return fulfilled;
}

/** Lost: still pending on chain. Duplicated: fulfilled more than once. Read from the chain alone. */
export async function count(
  f: EvmRelayFixture,
  ids: Hex[],
  fromBlock: bigint,
): Promise<{ lost: number; duplicated: number }> {
  const client = f.devnet.clients.publicClient;
  const pending = await Promise.all(
    ids.map((requestId) => isRequestPending(client, { gateway: f.devnet.gateway, requestId })),
  );
  const fulfilled = await fulfilments(f, fromBlock);
  let duplicated = 0;
  for (const id of ids) duplicated += Math.max(0, (fulfilled.get(id) ?? 0) - 1);
  return { lost: pending.filter(Boolean).length, duplicated };
}

/** How many of `ids` the gateway delivered (a `RequestFulfilled` event) since `fromBlock`. */
export async function deliveredCount(f: EvmRelayFixture, ids: Hex[], fromBlock = 0n): Promise<number> {
  const fulfilled = await fulfilments(f, fromBlock);
  return ids.filter((id) => (fulfilled.get(id) ?? 0) > 0).length;
}

/** Waits (up to `timeoutMs`) until none of `ids` is pending; returns whether that happened. */
export async function allAnswered(f: EvmRelayFixture, ids: Hex[], timeoutMs = 90_000): Promise<boolean> {
  const client = f.devnet.clients.publicClient;
  return waitFor(
    async () => {
      const pending = await Promise.all(
        ids.map((requestId) => isRequestPending(client, { gateway: f.devnet.gateway, requestId })),
      );
      return pending.every((p) => !p);
    },
    timeoutMs,
    'every request answered',
  ).then(
    () => true,
    () => false,
  );
}

/** Sends `n` requests, one every `gapMs`, calling `at(i)` before the i-th. */
export async function stream(
  f: EvmRelayFixture,
  n: number,
  gapMs: number,
  at: (i: number) => Promise<void> = async () => {},
) {
  const ids: Hex[] = [];
  for (let i = 0; i < n; i++) {
    await at(i);
    ids.push(await f.request(`fault ${i} ${Date.now()}`));
    await sleep(gapMs);
  }
  return ids;
}

/** Does this transaction input carry the request (its id as one ABI word, whatever the entry point)? */
function carries(input: Hex, requestId: Hex): boolean {
  return input.toLowerCase().includes(requestId.slice(2).toLowerCase());
}

/** The relayer signer's transactions to the gateway waiting in the node's pool. */
export async function pooledFulfils(f: EvmRelayFixture): Promise<{ hash: Hex; input: Hex }[]> {
  const relayer = f.relayerAccount.address.toLowerCase();
  const gateway = f.devnet.gateway.toLowerCase();
  return (await f.pendingTransactions())
    .filter((tx) => tx.from.toLowerCase() === relayer && tx.to?.toLowerCase() === gateway)
    .map((tx) => ({ hash: tx.hash, input: tx.input }));
}

/**
 * Waits until the relayer has sent a fulfil transaction for every one of `ids` that sits unmined
 * in the pool (the node must not be mining); returns those transactions.
 */
export async function waitForPooledFulfils(f: EvmRelayFixture, ids: Hex[], timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const pooled = await pooledFulfils(f);
      return ids.every((id) => pooled.some((tx) => carries(tx.input, id))) ? pooled : null;
    },
    timeoutMs,
    `fulfil transactions for all ${ids.length} requests in the pool`,
  );
}

/**
 * The relayer signer's mined transactions to the gateway since `fromBlock`, and the requests
 * that rode in more than one of them (re-sent: the restart or the replacement sent again what
 * had already been sent, whatever the gateway then made of it).
 */
export async function minedFulfils(f: EvmRelayFixture, ids: Hex[], fromBlock: bigint) {
  const client = f.devnet.clients.publicClient;
  const relayer = f.relayerAccount.address.toLowerCase();
  const gateway = f.devnet.gateway.toLowerCase();
  const latest = await client.getBlockNumber();
  const txs: { hash: Hex; input: Hex }[] = [];
  for (let n = fromBlock; n <= latest; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions)
      if (tx.from.toLowerCase() === relayer && tx.to?.toLowerCase() === gateway)
        txs.push({ hash: tx.hash, input: tx.input });
  }
  const resent = ids.filter((id) => txs.filter((tx) => carries(tx.input, id)).length > 1);
  return { transactions: txs.length, resent };
}

/** A request's journey as the relayer's admin API shows it (null when it has none). */
export async function journeyOf(relayer: Relayer, jobId: string) {
  const { getJourney } = await import('../../src/relayer/admin-client.js');
  return getJourney({ url: relayer.adminUrl }, jobId);
}

/** The relayer's `/readyz` answer: HTTP status and its per-part checks. */
export async function readiness(relayer: Relayer) {
  const response = await fetch(`${relayer.metricsUrl}/readyz`, { signal: AbortSignal.timeout(15_000) });
  const body = (await response.json()) as {
    ok: boolean;
    checks: Record<string, { ok: boolean; detail?: string }>;
  };
  return { status: response.status, ...body };
}

/** What a scenario hands back to be counted. */
export type ScenarioResult = {
  /** Requests on the scenario's fixture chain: each must end fulfilled exactly once. */
  ids: Hex[];
  /**
   * Requests the gateway refused on purpose (one item of a batch): checked by the scenario to
   * stay unfulfilled and dead-lettered, counted apart so they are not "lost".
   */
  refused?: Hex[];
  /** Requests on other chains (another origin in the same relayer), counted the same way. */
  elsewhere?: { f: EvmRelayFixture; ids: Hex[]; fromBlock: bigint }[];
};

export type Scenario = {
  name: string;
  run: (f: EvmRelayFixture) => Promise<Hex[] | ScenarioResult>;
  /** Its own fixture (default: the EVM fixture with the in-process test worker). */
  start?: () => Promise<EvmRelayFixture>;
  /**
   * The fixture's in-process test worker's options (default: one-by-one results). Always started
   * on the default fixture; with `start`, only when this is given.
   */
  testWorker?: Parameters<EvmRelayFixture['startTestWorker']>[0];
};

/**
 * What the running scenario started beside its fixture (a second chain, a proxy, a Redis
 * Cluster): run in reverse order after its requests are counted and its fixture closed.
 */
export const cleanups: (() => Promise<void>)[] = [];

const traceStart = Date.now();
/** With FAULTS_TRACE=1, prints where a scenario's time goes. */
export function trace(label: string): void {
  if (process.env.FAULTS_TRACE)
    console.log(`     [${((Date.now() - traceStart) / 1000).toFixed(1)} s] ${label}`);
}

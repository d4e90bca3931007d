import { BaseError, errorMessage, type Retry } from '../base/errors.js';
import type { runUntilSignal } from '../base/signals.js';
import { type Devnet, startDevnet } from '../devnet/orchestrator/devnet.js';
import { formatDemoOutcome, runDemo, runWasmDemo } from './demo.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

/** The devnet was told to stop (SIGINT, SIGTERM) before it was ready. */
class DevnetInterruptedError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'DevnetInterruptedError';
  constructor(signal: NodeJS.Signals) {
    super(`The devnet start was interrupted by ${signal}.`);
  }
}

function printEndpoints(d: Devnet): void {
  const rows: [string, string][] = [
    ['relay chain', d.chains.relay.wsUrl],
    [`phala-style (para ${d.chains.phala.paraId})`, d.chains.phala.wsUrl],
    [`sibling (para ${d.chains.sibling.paraId})`, d.chains.sibling.wsUrl],
    [`evm (chain ${d.chains.evm.chainId})`, `${d.chains.evm.rpcUrl} · ${d.chains.evm.wsUrl}`],
    ['gateway', d.chains.evm.gateway],
    ['gatekeeper', d.gatekeeper.address],
    ...d.workers.map((w, i): [string, string] => [`worker ${i}`, `${w.url} (${w.address})`]),
    ['relayer console', `${d.relayer.adminUrl}/ (log in with admin.token from config)`],
    ['relayer admin', `${d.relayer.adminUrl}/jobs (token: admin.token in config)`],
    ['relayer jobs CLI', `phala-bridge jobs --url ${d.relayer.adminUrl} -c ${d.configFile} list`],
    ['relayer metrics', `${d.relayer.metricsUrl}/metrics`],
    ...Object.values(d.contracts).map((c): [string, string] => [`contract ${c.name}`, c.contractId]),
    ...(d.examples
      ? ([
          ['SealedBidAuction.sol', d.examples.sealedBidAuction],
          ['PrivateCheck.sol', d.examples.privateCheck],
        ] as [string, string][])
      : []),
    ['config', d.configFile],
  ];
  out();
  for (const [k, v] of rows) out(`  ${k.padEnd(24)} ${v}`);
  out();
}

/** The `devnet` command's options, as commander parses them. */
export type DevnetCommandOptions = {
  demo?: boolean;
  exit?: boolean;
  dataDir?: string;
  redisUrl?: string;
  redisCluster?: { host: string; port: number }[];
  workers?: number;
  keep?: boolean;
};

/** The `devnet` command: start, print, optionally demo, then run until a signal (or exit). */
export async function runDevnetCommand(
  opts: DevnetCommandOptions,
  untilSignal: typeof runUntilSignal,
): Promise<void> {
  const started = Date.now();
  // A signal during start-up (it takes a minute) stops what has started and cleans up as a stop
  // does: the temp dir with its keys, the Redis keys, a redis-server it started. A second one
  // exits at once.
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    out(`${signal}: stopping what has started…`);
    abort.abort(new DevnetInterruptedError(signal));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let devnet: Devnet;
  try {
    devnet = await startDevnet({
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
      ...(opts.redisCluster ? { redisClusterNodes: opts.redisCluster } : {}),
      ...(opts.workers ? { workers: opts.workers } : {}),
      ...(opts.keep ? { keep: true } : {}),
      signal: abort.signal,
      onProgress: (line) => out(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`),
    });
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    out('stopped before it was ready');
    process.exitCode = 130;
    return;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  printEndpoints(devnet);
  // From here a signal stops the devnet, during the demo too (whose requests then fail: not
  // reported as a demo failure). Installed before anything else runs, so no signal falls between.
  let ready = false;
  let interrupted = false;
  const stopped = untilSignal(async () => {
    interrupted = !ready;
    out('stopping…');
    await devnet.stop();
    out('stopped');
  });
  let failed = false;
  if (opts.demo) {
    out('demo: one request to the greeter from each origin, then one to its WebAssembly twin');
    try {
      for (const outcome of await runDemo(devnet)) {
        out();
        for (const line of formatDemoOutcome(outcome)) out(line);
      }
      out();
      for (const line of formatDemoOutcome(await runWasmDemo(devnet))) out(line);
      out();
      out('demo: all three flows and the WebAssembly contract completed');
    } catch (error) {
      if (!interrupted) {
        failed = true;
        process.stderr.write(`demo failed: ${errorMessage(error)}\n`);
      }
    }
  }
  if (interrupted) {
    await stopped;
    process.exitCode = 130;
    return;
  }
  if (opts.exit || failed) {
    await devnet.stop();
    if (failed) process.exitCode = 1;
    return;
  }
  ready = true;
  out('running; Ctrl-C stops everything');
  await stopped;
}

import type { Logger } from 'pino';
import { type Hex, fromHex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import type { Config } from '../../config/schema.js';
import { ethereumAddress } from '../../crypto/keys.js';
import { decodeAttestationBundle } from '../../crypto/attestation-bundle.js';
import { parseSimQuote } from '../../crypto/sim-quote.js';
import { getGatekeeperSet, getWorkerInfo } from '../../evm/gateway/read.js';
import { parseDcapQuote } from '../../gatekeeper/attestation/quote.js';
import { verifyQuote } from '../../gatekeeper/attestation/verify.js';
import { approvalBy } from '../../gatekeeper/chain/chain-view.js';
import { getApprovalThreshold, listGatekeepers, listWorkers } from '../../phala/actions/registry.js';
import type { WorkerStatus } from '../../phala/types.js';
import { processRevocations } from '../approval-cache.js';
import type { JourneyStore } from '../journey.js';
import type { RelayerQueues } from '../queues.js';
import { failureDetail, withTimeout } from '../readiness.js';
import { type ConsoleChainClients, READ_TIMEOUT_MS } from './chain-clients.js';

/** One worker as the workers page shows it: the chain's registration, the gateways' view, its work. */
export type WorkerView = {
  publicKey: Hex;
  address: Hex;
  cluster: Hex;
  status: WorkerStatus;
  registeredAt: number;
  /** What the attestation is: sim (development), sgx or tdx, with what its bytes tell. */
  tee: string;
  tcb: string;
  /** Revoked on the Phala-style chain, or known revoked by this process (its watcher saw it). */
  revoked: string | null;
  /** Gatekeepers (public keys) whose approval of this registration is on chain. */
  approvedBy: Hex[];
  gateways: { chain: string; approvedUntil: number | null; revokedUpTo: string; error?: string }[];
  queue: Record<string, number> | null;
  /** Results and refused results with this worker's name in the last `WINDOW_MS`. */
  results: number;
  errors: number;
};

export type GatekeeperView = { publicKey: Hex; account: Hex; addedAt: number };

export type WorkersView = {
  workers: WorkerView[];
  gatekeepers: GatekeeperView[];
  threshold: number | null;
  gatewaySets: {
    chain: string;
    members: readonly string[];
    threshold: number;
    epoch: string;
    error?: string;
  }[];
  /** Reads that failed, each with where and why (a chain down shows here, the rest of the page stays). */
  errors: string[];
  windowMs: number;
};

/** The result and error rates are over this window (the chart's too). */
export const WINDOW_MS = 15 * 60_000;
/** How many recent journeys the rates read at most. */
const RATE_SCAN = 2_000;

function teeOf(attestation: Hex, acceptTcb: readonly string[]): { tee: string; tcb: string } {
  let bundle: ReturnType<typeof decodeAttestationBundle>;
  try {
    bundle = decodeAttestationBundle(fromHex(attestation));
  } catch {
    return { tee: 'unknown (attestation does not parse)', tcb: 'unknown' };
  }
  const bytes = bundle.quote;
  const fresh = bundle.freshnessBlock === undefined ? '' : `, fresh at block ${bundle.freshnessBlock}`;
  const sim = parseSimQuote(bytes);
  if (sim)
    return {
      tee: `sim (quote of ${new Date(Number(sim.issuedAt) * 1000).toISOString()}${fresh})`,
      tcb: 'none: simulated TEE (development only)',
    };
  try {
    const quote = parseDcapQuote(bytes);
    // With the collateral bundled, the TCB status is what Intel's collateral says of this quote.
    const status =
      bundle.collateral === undefined
        ? null
        : verifyQuote(bytes, { policy: { mode: 'development' }, collateral: bundle.collateral }).tcbStatus;
    return {
      tee: `${quote.body.kind} (DCAP quote v${quote.header.version}, PCE SVN ${quote.header.pceSvn}${fresh})`,
      tcb: status
        ? `${status} (gatekeepers accept: ${acceptTcb.join(', ')})`
        : `judged by the gatekeepers at approval with their collateral; accepted: ${acceptTcb.join(', ')}`,
    };
  } catch {
    return { tee: 'unknown (attestation does not parse)', tcb: 'unknown' };
  }
}

/** Per worker address (lowercase): results and errors recorded in recent journeys. */
async function workerActivity(journeys: JourneyStore, now: number) {
  const recent = (await journeys.list({ limit: RATE_SCAN })).filter((s) => s.updatedAt >= now - WINDOW_MS);
  const entries = await Promise.all(recent.map((s) => journeys.entries(s.jobId)));
  const out = new Map<string, { results: number; errors: number }>();
  for (const list of entries)
    for (const e of list) {
      if (!e.worker || e.at < now - WINDOW_MS) continue;
      const key = e.worker.toLowerCase();
      const a = out.get(key) ?? { results: 0, errors: 0 };
      if (e.stage === 'result' && e.detail !== 'contract error') a.results++;
      else if (e.stage === 'result' || e.stage === 'result-rejected') a.errors++;
      out.set(key, a);
    }
  return out;
}

export async function readWorkers(p: {
  config: Config;
  clients: ConsoleChainClients;
  queues: RelayerQueues;
  journeys: JourneyStore;
  logger: Logger;
}): Promise<WorkersView> {
  const now = Date.now();
  const errors: string[] = [];
  const view: WorkersView = {
    workers: [],
    gatekeepers: [],
    threshold: null,
    gatewaySets: [],
    errors,
    windowMs: WINDOW_MS,
  };
  const acceptTcb = p.config.gatekeeper?.acceptTcbStatuses ?? ['UpToDate'];
  const activity = await withTimeout(
    workerActivity(p.journeys, now),
    READ_TIMEOUT_MS,
    'recent journeys',
  ).catch((error: unknown) => {
    errors.push(`journeys: ${failureDetail(error)}`);
    return new Map<string, { results: number; errors: number }>();
  });

  const connecting = p.clients.phala();
  if (!connecting) errors.push('no Phala-style chain is configured: worker registrations are read there');
  else {
    try {
      const phala = await withTimeout(connecting, READ_TIMEOUT_MS * 2, 'Phala-style chain connection');
      const [workers, gatekeepers, threshold] = await withTimeout(
        Promise.all([listWorkers(phala), listGatekeepers(phala), getApprovalThreshold(phala)]),
        READ_TIMEOUT_MS,
        'PhalaRegistry reads',
      );
      view.threshold = threshold;
      view.gatekeepers = gatekeepers.map((g) => ({
        publicKey: g.gatekeeper,
        account: g.info.account,
        addedAt: g.info.addedAt,
      }));
      view.workers = await Promise.all(
        workers.map(async ({ worker, info }): Promise<WorkerView> => {
          const address = ethereumAddress(fromHex(worker));
          const approvals = await Promise.all(
            gatekeepers.map(async (g) =>
              (await approvalBy(phala, worker, g.gatekeeper).catch(() => null)) === info.registeredAt
                ? g.gatekeeper
                : null,
            ),
          );
          const counts = await withTimeout(
            p.queues.requests(info.cluster).getJobCounts('waiting', 'active', 'delayed', 'failed'),
            READ_TIMEOUT_MS,
            'request queue counts',
          ).catch(() => null);
          const known = processRevocations.reasonFor(address);
          const a = activity.get(address.toLowerCase()) ?? { results: 0, errors: 0 };
          return {
            publicKey: worker,
            address,
            cluster: info.cluster,
            status: info.status,
            registeredAt: info.registeredAt,
            ...teeOf(info.attestation, acceptTcb),
            revoked: info.status.kind === 'revoked' ? info.status.reason : (known ?? null),
            approvedBy: approvals.filter((g): g is Hex => g !== null),
            gateways: [],
            queue: counts,
            ...a,
          };
        }),
      );
    } catch (error) {
      errors.push(`phala: ${failureDetail(error)}`);
    }
  }

  for (const chain of p.clients.evmConfigs) {
    const client = p.clients.evm(chain);
    const gateway = chain.gateway as Hex;
    try {
      const set = await withTimeout(getGatekeeperSet(client, { gateway }), READ_TIMEOUT_MS, 'gatekeeper set');
      view.gatewaySets.push({
        chain: chain.name,
        members: set.members,
        threshold: set.threshold,
        epoch: String(set.epoch),
      });
    } catch (error) {
      view.gatewaySets.push({
        chain: chain.name,
        members: [],
        threshold: 0,
        epoch: '',
        error: failureDetail(error),
      });
    }
    await Promise.all(
      view.workers.map(async (w) => {
        try {
          const info = await withTimeout(
            getWorkerInfo(client, { gateway, worker: w.address }),
            READ_TIMEOUT_MS,
            'gateway workerOf',
          );
          w.gateways.push({
            chain: chain.name,
            approvedUntil: info.expiresAt > 0n ? Number(info.expiresAt) : null,
            revokedUpTo: String(info.revokedUpTo),
          });
        } catch (error) {
          p.logger.debug(
            { chain: chain.name, err: errorMessage(error) },
            'console: gateway worker read failed',
          );
          w.gateways.push({
            chain: chain.name,
            approvedUntil: null,
            revokedUpTo: '0',
            error: failureDetail(error),
          });
        }
      }),
    );
  }
  return view;
}

import type { Command } from 'commander';
import { BaseError } from '../../base/errors.js';
import {
  type AdminClientParameters,
  dropJob,
  findJourney,
  formatJourney,
  listJobs,
  retryJob,
  retryMatching,
  UnknownJobError,
} from '../../relayer/admin-client.js';
import { printJson } from '../io.js';

type Common = { url?: string; config?: string; json?: boolean };
type Filter = { state?: string; origin?: string; contract?: string; limit?: string };

/**
 * Where the admin API is and its token: --url, else $PHALA_BRIDGE_ADMIN_URL, else the config's
 * admin host and port; the token from $PHALA_BRIDGE_ADMIN_TOKEN, else the config's admin.token
 * (`--config devnet.json` for the devnet). Never from a flag, so it stays out of shell history.
 */
async function adminOf(opts: Common): Promise<AdminClientParameters> {
  const config = opts.config ? (await import('../../config/load.js')).loadConfig(opts.config) : undefined;
  const url =
    opts.url ?? process.env.PHALA_BRIDGE_ADMIN_URL ?? (config ? configuredUrl(config.admin) : undefined);
  if (!url)
    throw new BaseError('Where is the relayer admin API?', {
      details:
        'pass --url http://host:port or set PHALA_BRIDGE_ADMIN_URL (the daemon logs it at start), or --config with a fixed admin.port',
    });
  return { url, token: process.env.PHALA_BRIDGE_ADMIN_TOKEN || config?.admin.token?.reveal() };
}

function configuredUrl(admin: { host: string; port: number }): string | undefined {
  if (admin.port === 0) return undefined; // a port chosen at start: only the daemon's log knows it
  const host = admin.host === '0.0.0.0' ? '127.0.0.1' : admin.host === '::' ? '::1' : admin.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${admin.port}`;
}

/** A request id alone (`0x…`) becomes its whole job id (`<origin>-0x…`); a whole one is kept. */
async function wholeJobId(admin: AdminClientParameters, jobId: string): Promise<string> {
  return jobId.includes('-') ? jobId : (await findJourney(admin, jobId)).jobId;
}

/** What a list was filtered by, in words: `no requests <this>` when it is empty. */
function describeFilter(filter: { state?: string; origin?: string; contract?: string }): string {
  const parts = [
    filter.state ? `in state ${filter.state}` : undefined,
    filter.origin ? `from origin ${filter.origin}` : undefined,
    filter.contract ? `for contract ${filter.contract}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? `match ${parts.join(', ')}` : 'are known to the relayer (no filter)';
}

function filterOf(opts: Filter) {
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0))
    throw new BaseError('--limit: expected a positive integer.');
  return {
    ...(opts.state ? { state: opts.state } : {}),
    ...(opts.origin ? { origin: opts.origin } : {}),
    ...(opts.contract ? { contract: opts.contract } : {}),
    ...(limit ? { limit } : {}),
  };
}

export function registerJobsCommand(program: Command): void {
  const jobs = program
    .command('jobs')
    .description("Inspect and steer the relayer's requests through its admin API")
    .option('--url <url>', 'admin API address (default: $PHALA_BRIDGE_ADMIN_URL, else the config)')
    .option(
      '-c, --config <file>',
      "the relayer's config: its admin.token (unless $PHALA_BRIDGE_ADMIN_TOKEN is set) and address",
    )
    .option('--json', 'print JSON');
  const common = (): Common => jobs.opts<Common>();

  jobs
    .command('list')
    .description('Requests most recently moved first, by state, origin key or contract')
    .option('--state <stage>', 'e.g. confirmed, dead, submitted')
    .option('--origin <key>', 'e.g. evm-31337, phala, xcm-2000')
    .option('--contract <id>', 'contract id')
    .option('--limit <n>', 'at most this many (default 100)')
    .action(async (opts: Filter) => {
      const filter = filterOf(opts);
      const list = await listJobs(await adminOf(common()), filter);
      if (common().json) return printJson(list);
      if (list.length === 0) return console.log(`no requests ${describeFilter(filter)}`);
      for (const j of list)
        console.log(`${j.jobId}  ${j.state.padEnd(16)} ${new Date(j.updatedAt).toISOString()}`);
    });

  jobs
    .command('show <jobId>')
    .description(
      "One request's journey: every stage with its time, chain and transaction. <jobId> is <origin>-<request id> (e.g. evm-31337-0x…) or the request id alone, looked up under every origin",
    )
    .action(async (jobId: string) => {
      const journey = await findJourney(await adminOf(common()), jobId);
      if (common().json) return printJson(journey);
      console.log(formatJourney(journey).join('\n'));
    });

  jobs
    .command('retry [jobId]')
    .description('Send a dead request back to work, or every request matching --state/--origin/--contract')
    .option('--state <stage>', 'match this state (default dead)')
    .option('--origin <key>')
    .option('--contract <id>')
    .option('--limit <n>')
    .action(async (given: string | undefined, opts: Filter) => {
      const admin = await adminOf(common());
      const jobId = given === undefined ? undefined : await wholeJobId(admin, given);
      const retried = jobId
        ? (await retryJob(admin, jobId))
          ? [jobId]
          : []
        : await retryMatching(admin, { state: 'dead', ...filterOf(opts) });
      if (common().json) return printJson({ retried });
      console.log(retried.length ? `retried ${retried.join(', ')}` : 'nothing to retry');
    });

  jobs
    .command('drop <jobId>')
    .description('Remove a finished request (recorded as dropped); one still waiting only with --force')
    .option('--force', 'drop it even while it waits for a worker (it will never be answered)')
    .action(async (given: string, opts: { force?: boolean }) => {
      const admin = await adminOf(common());
      const jobId = await wholeJobId(admin, given);
      if (!(await dropJob(admin, jobId, { force: opts.force === true })))
        throw new UnknownJobError(jobId, { origins: [] });
      if (common().json) return printJson({ dropped: jobId });
      console.log(`dropped ${jobId}`);
    });
}

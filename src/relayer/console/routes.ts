import { z } from 'zod';
import { HttpRequestError, type Reply, type Route, type RouteRequest } from '../http-server.js';
import { failureDetail, withTimeout } from '../readiness.js';
import { AdminActions } from './admin-actions.js';
import { assetRoutes } from './assets.js';
import { ConsoleChainClients } from './chain-clients.js';
import { chainsBody } from './chains-page.js';
import { errorCounts, readChains } from './chains-data.js';
import {
  actionResult,
  deadFilterSchema,
  deadLetters,
  deadLettersBody,
  dropButton,
} from './dead-letters-page.js';
import { type Html, html } from './html.js';
import { journeyBody } from './journey-page.js';
import { type Section, page, refusalBanner } from './layout.js';
import { LiveHub } from './live.js';
import { configuredOrigins, findRequests, requestFilterSchema } from './requests-data.js';
import { requestsBody, requestsTable } from './requests-page.js';
import { QueueSampler } from './samples.js';
import { securityRefusals } from './security.js';
import { loginPage, sessionRoutes } from './session.js';
import type { ConsoleSource } from './source.js';
import { readWorkers } from './workers-data.js';
import { workersBody } from './workers-page.js';

const retryOneBody = z.strictObject({});
/** A journey move as pages carry it: `<jobId>@<score>`, or empty when there is none. */
const sinceQuery = z.string().max(300).optional();
const retryManyBody = z.strictObject({
  origin: z.string().max(80).optional(),
  contract: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
});
const dropBody = z.strictObject({ force: z.enum(['true', 'false']).optional() });

function bodyOf<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(whole)'))];
  throw new HttpRequestError(400, `invalid body: ${fields.join(', ')}`);
}

/** A filter's problems as one line naming the fields (never zod's dump). */
function filterError(error: z.ZodError): string {
  return `Invalid filter: ${error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join('; ')}`;
}

/** How long a page waits for Redis: when it does not answer the page says so (operators look then). */
const PAGE_READ_MS = 8_000;

async function bounded<T>(what: string, read: Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await withTimeout(read, PAGE_READ_MS, what) };
  } catch (error) {
    return { error: `Could not read ${what}: ${failureDetail(error)}` };
  }
}

/** States a journey page offers Retry in (the admin API decides whether it can). */
const ENDED_FOR_GOOD: ReadonlySet<string> = new Set(['dead', 'refused']);

const htmlReply = (text: string, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  text,
  contentType: 'text/html; charset=utf-8',
  headers,
});
const fragment = (h: Html, headers: Record<string, string> = {}) => htmlReply(h.value, 200, headers);
/** After an action the lists refresh at once (the live stream would tell them within a second anyway). */
const MOVED = { 'hx-trigger': 'requests-changed' };

/**
 * The operator console (docs/console.md): server-rendered pages on the admin server, under its
 * token, Host and Origin rules. Requests, one request's journey, dead letters, workers and
 * gatekeepers, chains and queues; live through server-sent events (live.ts).
 */
export class OperatorConsole {
  readonly #s: ConsoleSource;
  readonly #admin: AdminActions;
  readonly #token: string | null;
  readonly #clients: ConsoleChainClients;
  readonly #sampler: QueueSampler;
  readonly #hub: LiveHub;

  constructor(source: ConsoleSource, p: { adminRoutes: readonly Route[]; token: string | null }) {
    this.#s = source;
    this.#admin = new AdminActions(p.adminRoutes);
    this.#token = p.token;
    this.#clients = new ConsoleChainClients(source.config);
    this.#sampler = new QueueSampler(() => source.queues.opened());
    this.#hub = new LiveHub({
      redis: source.redis,
      prefix: source.config.redis.prefix,
      metrics: source.metrics,
      sampler: this.#sampler,
    });
  }

  /** The chart's samples start with the daemon, so a page opened later has its 15 minutes. */
  start(): void {
    this.#sampler.start();
  }

  async close(): Promise<void> {
    this.#sampler.stop();
    this.#hub.close();
    await this.#clients.close();
  }

  loginPage = (): Reply => loginPage();

  /** The journey move a page is rendered with, read before its data (see LiveHub.add). */
  #since(): Promise<string> {
    return this.#hub.currentMove().catch(() => '');
  }

  async #page(
    title: string,
    section: Section,
    body: Html,
    extra: { chart?: boolean; since?: string } = {},
  ): Promise<Reply> {
    const since = extra.since ?? '';
    return htmlReply(
      page({
        title,
        section,
        body,
        refusals: await securityRefusals(this.#s.metrics),
        since,
        ...(extra.chart ? { scripts: ['/assets/uplot.min.js'], styles: ['/assets/uplot.min.css'] } : {}),
      }),
    );
  }

  #requests = async ({ query }: RouteRequest, rowsOnly: boolean): Promise<Reply> => {
    const parsed = requestFilterSchema.safeParse(Object.fromEntries(query));
    const filter = parsed.success ? parsed.data : requestFilterSchema.parse({});
    const since = await this.#since();
    let error = parsed.success ? undefined : filterError(parsed.error);
    let rows: Awaited<ReturnType<typeof findRequests>> = [];
    if (parsed.success) {
      const read = await bounded('the request list', findRequests(this.#s.journeys, filter));
      if ('error' in read) error = read.error;
      else rows = read.value;
    }
    if (rowsOnly) return fragment(requestsTable({ filter, rows, error }));
    return this.#page(
      'Requests',
      'requests',
      requestsBody({ filter, rows, error, origins: configuredOrigins(this.#s.config) }),
      { since },
    );
  };

  #journey = async ({ params }: RouteRequest): Promise<Reply> => {
    const since = await this.#since();
    const read = await bounded('the journey', this.#admin.show(params.jobId!));
    if ('error' in read)
      return {
        ...(await this.#page(
          'Request',
          'requests',
          html`<h1>Request</h1><p class="message error" role="alert">${read.error}</p>`,
        )),
        status: 503,
      };
    const detail = read.value;
    if (!detail) {
      const reply = await this.#page(
        'Unknown request',
        'requests',
        html`<h1>Unknown request</h1><p>No journey is recorded for <code>${params.jobId}</code> (never seen, or past the retention).</p><p><a href="/">← Requests</a></p>`,
      );
      return { ...reply, status: 404 };
    }
    return this.#page(
      `Request ${detail.jobId}`,
      'requests',
      journeyBody(detail, ENDED_FOR_GOOD.has(detail.state)),
      {
        since,
      },
    );
  };

  #dead = async ({ query }: RouteRequest): Promise<Reply> => {
    const parsed = deadFilterSchema.safeParse(Object.fromEntries(query));
    const filter = parsed.success ? parsed.data : {};
    const since = await this.#since();
    let error = parsed.success ? undefined : filterError(parsed.error);
    let rows: Awaited<ReturnType<typeof deadLetters>> = [];
    if (parsed.success) {
      const read = await bounded('the dead letters', deadLetters(this.#s.journeys, this.#admin, filter));
      if ('error' in read) error = read.error;
      else rows = read.value;
    }
    return this.#page(
      'Dead letters',
      'dead',
      deadLettersBody({ filter, rows, origins: configuredOrigins(this.#s.config), error }),
      { since },
    );
  };

  routes(): Route[] {
    return [
      ...assetRoutes(),
      ...sessionRoutes(this.#token),
      { method: 'GET', path: '/', handler: (r) => this.#requests(r, false) },
      { method: 'GET', path: '/requests/rows', handler: (r) => this.#requests(r, true) },
      { method: 'GET', path: '/requests/:jobId', handler: this.#journey },
      { method: 'GET', path: '/dead', handler: this.#dead },
      {
        method: 'POST',
        path: '/dead/retry',
        handler: async ({ body }) => {
          const m = bodyOf(retryManyBody, body);
          const done = await this.#admin.retryMatching({ state: 'dead', ...m });
          const retried = (done.json as { retried?: string[] } | undefined)?.retried ?? [];
          return fragment(
            actionResult(
              done.ok ? `Retried ${retried.length} request${retried.length === 1 ? '' : 's'}.` : done.message,
              done.ok,
            ),
            MOVED,
          );
        },
      },
      {
        method: 'POST',
        path: '/dead/:jobId/retry',
        handler: async ({ params, body }) => {
          bodyOf(retryOneBody, body);
          const done = await this.#admin.retry(params.jobId!);
          return fragment(
            actionResult(
              done.ok ? 'Retried: sent back to the stage where it stopped.' : `Not retried: ${done.message}`,
              done.ok,
            ),
            MOVED,
          );
        },
      },
      {
        method: 'POST',
        path: '/dead/:jobId/drop',
        handler: async ({ params, body }) => {
          const force = bodyOf(dropBody, body).force === 'true';
          const done = await this.#admin.drop(params.jobId!, force);
          if (done.ok) return fragment(actionResult('Dropped.', true), MOVED);
          // A conflict (the request is not finished): the API's message says why; force is offered.
          const offer = done.status === 409 && !force ? dropButton(params.jobId!, true) : undefined;
          return fragment(actionResult(`Not dropped: ${done.message}`, false, offer));
        },
      },
      {
        method: 'GET',
        path: '/workers',
        handler: async () => {
          const view = await readWorkers({
            config: this.#s.config,
            clients: this.#clients,
            queues: this.#s.queues,
            journeys: this.#s.journeys,
            logger: this.#s.logger,
          });
          return this.#page('Workers', 'workers', workersBody(view));
        },
      },
      {
        method: 'GET',
        path: '/chains',
        handler: async () => {
          if (!this.#sampler.latest) await this.#sampler.take();
          const { checks } = await this.#s.readiness();
          const chains = await readChains({
            config: this.#s.config,
            redis: this.#s.redis,
            clients: this.#clients,
            readiness: checks,
          });
          const errors = await errorCounts(this.#s.metrics);
          return this.#page('Chains', 'chains', chainsBody({ chains, sampler: this.#sampler, errors }), {
            chart: true,
          });
        },
      },
      {
        method: 'GET',
        path: '/partials/security',
        handler: async () => fragment(refusalBanner(await securityRefusals(this.#s.metrics))),
      },
      {
        method: 'GET',
        path: '/events',
        handler: async ({ query }) => {
          const since = sinceQuery.safeParse(query.get('since') ?? undefined);
          return { events: (stream) => this.#hub.add(stream, since.success ? since.data : undefined) };
        },
      },
    ];
  }
}

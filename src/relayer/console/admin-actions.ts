import { BaseError, type Retry } from '../../base/errors.js';
import type { JobJourney } from '../admin-client.js';
import type { Reply, Route } from '../http-server.js';

/**
 * The admin API's own handlers (admin-routes.ts), called in process: showing, retrying and
 * dropping a request from the console follows exactly the API's rules (what may be retried, when
 * a drop needs `force`), because it is the same code.
 */
export class ConsoleWiringError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'ConsoleWiringError';
}

/** What `GET /jobs/:jobId` answers: the admin client's reply type, the one definition of it. */
export type JobDetail = JobJourney;

/** An action's outcome: the API's status and its message or answer. */
export type ActionOutcome = { ok: boolean; status: number; message: string; json: unknown };

const noHeaders = {};

export class AdminActions {
  readonly #routes: Map<string, Route>;

  constructor(routes: readonly Route[]) {
    this.#routes = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
    for (const key of ['GET /jobs/:jobId', 'POST /jobs/:jobId/retry', 'POST /retry', 'DELETE /jobs/:jobId'])
      if (!this.#routes.has(key))
        throw new ConsoleWiringError(`the admin API has no ${key} route for the console to call`);
  }

  async #call(key: string, params: Record<string, string>, body: unknown): Promise<Reply> {
    return this.#routes.get(key)!.handler({ params, query: new URLSearchParams(), body, headers: noHeaders });
  }

  async show(jobId: string): Promise<JobDetail | null> {
    const reply = await this.#call('GET /jobs/:jobId', { jobId }, undefined);
    return (reply.status ?? 200) === 200 ? (reply.json as JobDetail) : null;
  }

  async retry(jobId: string): Promise<ActionOutcome> {
    return outcome(await this.#call('POST /jobs/:jobId/retry', { jobId }, {}));
  }

  async retryMatching(m: { state: string; origin?: string; contract?: string }): Promise<ActionOutcome> {
    return outcome(await this.#call('POST /retry', {}, m));
  }

  async drop(jobId: string, force: boolean): Promise<ActionOutcome> {
    return outcome(await this.#call('DELETE /jobs/:jobId', { jobId }, { force }));
  }
}

function outcome(reply: Reply): ActionOutcome {
  const status = reply.status ?? 200;
  const json = reply.json as { error?: unknown } | undefined;
  const message = typeof json?.error === 'string' ? json.error : '';
  return { ok: status < 300, status, message, json: reply.json };
}

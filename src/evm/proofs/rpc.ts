import { http, type PublicClient, createPublicClient } from 'viem';
import { BaseError, type Retry } from '../../base/errors.js';

/**
 * One untrusted JSON-RPC endpoint. `label` names it in errors and logs: the URL's host only,
 * since paths and query strings of hosted RPC URLs often carry API keys.
 */
export type EvmEndpoint = {
  readonly label: string;
  request(method: string, params: readonly unknown[]): Promise<unknown>;
};

/** An endpoint that did not answer within the time allowed. */
export class EndpointTimeoutError extends BaseError {
  static override readonly retry: Retry = 'retry';
  override name = 'EndpointTimeoutError';
}

export function endpointLabel(url: string, index: number): string {
  try {
    return `#${index} ${new URL(url).host}`;
  } catch {
    return `#${index}`;
  }
}

/** Wraps a URL (a viem http client without retries) or a viem public client, with a per-call timeout. */
export function toEndpoint(source: string | PublicClient, index: number, timeoutMs: number): EvmEndpoint {
  const client =
    typeof source === 'string'
      ? createPublicClient({ transport: http(source, { timeout: timeoutMs, retryCount: 0, batch: false }) })
      : source;
  const label =
    typeof source === 'string'
      ? endpointLabel(source, index)
      : endpointLabel(String(source.transport.url ?? ''), index);
  // viem types `request` per known method; the answers are validated with zod by the callers.
  const request = client.request as unknown as (args: {
    method: string;
    params: readonly unknown[];
  }) => Promise<unknown>;
  return {
    label,
    request(method, params) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new EndpointTimeoutError(`${label}: no answer in ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      return Promise.race([request({ method, params }), timeout]).finally(() => clearTimeout(timer));
    },
  };
}

import { BaseError, type Retry } from '../../../base/errors.js';

/** A JSON-RPC error with the code, message and data a Substrate node (jsonrpsee) would send. */
export class RpcError extends BaseError {
  /** By code: internal (-32603) and busy (-32009) are "not now"; the rest are about the request. */
  static override readonly retry: Retry = 'never';
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message, { retry: code === -32603 || code === -32009 ? 'retry' : 'never' });
  }
}

export const RpcErrors = {
  parse: () => new RpcError(-32700, 'Parse error'),
  invalidRequest: (data?: string) => new RpcError(-32600, 'Invalid request', data),
  methodNotFound: () => new RpcError(-32601, 'Method not found'),
  invalidParams: (data: string) => new RpcError(-32602, 'Invalid params', data),
  internal: (data?: string) => new RpcError(-32603, 'Internal error', data),
  tooManySubscriptions: (max: number) =>
    new RpcError(
      -32006,
      'Too many subscriptions on the connection',
      `Exceeded max limit of ${max} (--rpc-max-subscriptions-per-connection)`,
    ),
  tooManySubscriptionsInTotal: (max: number) =>
    new RpcError(
      -32006,
      'Too many subscriptions on the node',
      `Exceeded max limit of ${max} subscriptions of all connections (--rpc-max-subscriptions)`,
    ),
  // jsonrpsee's codes and texts for the size and batch limits.
  oversizedRequest: (max: number) =>
    new RpcError(-32007, 'Request is too big', `Exceeded max limit of ${max} bytes (--rpc-max-request-size)`),
  oversizedResponse: (max: number) =>
    new RpcError(
      -32008,
      'Response is too big',
      `Exceeded max limit of ${max} bytes (--rpc-max-response-size)`,
    ),
  busy: (data: string) => new RpcError(-32009, 'Server is busy, try again later', data),
  batchTooLong: (length: number, max: number) =>
    new RpcError(
      -32010,
      'The batch request was too large',
      `${length} calls exceed max limit of ${max} (--rpc-max-batch-request-len)`,
    ),
  batchResponseTooBig: (max: number) =>
    new RpcError(
      -32011,
      'The batch response was too large',
      `Exceeded max limit of ${max} bytes (--rpc-max-response-size)`,
    ),
  /** This node's own: the work a call (or a batch) asks for is over its cost budget. */
  tooCostly: (what: string, cost: number, max: number, flag: string) =>
    new RpcError(-32012, 'Request too costly', `${what} costs ${cost}, over the limit of ${max} (${flag})`),
  tooManyJsonValues: (max: number) =>
    new RpcError(-32007, 'Request is too big', `More than ${max} JSON values (--rpc-max-json-values)`),
  /** state/chain client errors (sc_rpc_api::state::error BASE + 3). */
  client: (message: string) => new RpcError(4003, `Client error: ${message}`),
  invalidCount: (value: number, max: number) =>
    new RpcError(4002, `count exceeds maximum value. value: ${value}, max: ${max}`),
  invalidBlockRange: (message: string) => new RpcError(4001, `Invalid block range: ${message}`),
} as const;

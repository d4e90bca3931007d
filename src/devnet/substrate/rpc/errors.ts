/** A JSON-RPC error with the code, message and data a Substrate node (jsonrpsee) would send. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export const RpcErrors = {
  parse: () => new RpcError(-32700, 'Parse error'),
  invalidRequest: (data?: string) => new RpcError(-32600, 'Invalid request', data),
  methodNotFound: () => new RpcError(-32601, 'Method not found'),
  invalidParams: (data: string) => new RpcError(-32602, 'Invalid params', data),
  internal: (data?: string) => new RpcError(-32603, 'Internal error', data),
  tooManySubscriptions: (max: number) =>
    new RpcError(-32006, 'Too many subscriptions on the connection', `Exceeded max limit of ${max}`),
  /** state/chain client errors (sc_rpc_api::state::error BASE + 3). */
  client: (message: string) => new RpcError(4003, `Client error: ${message}`),
  invalidCount: (value: number, max: number) =>
    new RpcError(4002, `count exceeds maximum value. value: ${value}, max: ${max}`),
  invalidBlockRange: (message: string) => new RpcError(4001, `Invalid block range: ${message}`),
} as const;

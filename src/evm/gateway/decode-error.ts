import { type Hex, decodeErrorResult } from 'viem';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import { GatewayRejectedError, GatewayRevertedError } from '../errors.js';

export type DecodedGatewayError = { name: string; args: readonly unknown[] };

function revertData(error: unknown): Hex | null {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 10; depth++) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data as Hex;
    if (data && typeof data === 'object') {
      const inner = (data as { data?: unknown }).data;
      if (typeof inner === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(inner)) return inner as Hex;
    }
    current = (current as { cause?: unknown }).cause;
  }
  const text = error instanceof Error ? error.message : '';
  const match = /(?:custom error|reverted with|data)[^0]*?(0x[0-9a-fA-F]{8,})/.exec(text);
  return match ? (match[1] as Hex) : null;
}

/**
 * The gateway's custom error (e.g. `RequestNotPending`) behind a failed call or gas estimate,
 * found in the error's cause chain; null when there is none or it is not a gateway error.
 */
export function decodeGatewayError(error: unknown): DecodedGatewayError | null {
  const data = revertData(error);
  if (!data) return null;
  try {
    const decoded = decodeErrorResult({ abi: phalaBridgeGatewayAbi, data });
    return { name: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return null;
  }
}

/**
 * What a failed gateway call or gas estimate means to its caller: `GatewayRejectedError` naming
 * the gateway's error (whether a retry helps is that error's own), or `GatewayRevertedError`
 * (`shortMessage`, retryable) when there is no gateway error to name.
 */
export function gatewayFailure(
  error: unknown,
  shortMessage: string,
): GatewayRejectedError | GatewayRevertedError {
  const decoded = decodeGatewayError(error);
  if (!decoded) return new GatewayRevertedError(shortMessage, { cause: error });
  return new GatewayRejectedError(decoded.name, {
    cause: error,
    ...(decoded.args.length
      ? { details: JSON.stringify(decoded.args, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) }
      : {}),
  });
}

import {
  AbiDecodingDataSizeTooSmallError,
  AbiDecodingZeroDataError,
  AbiErrorSignatureNotFoundError,
  AbiEventSignatureNotFoundError,
  BlockNotFoundError,
  ChainDisconnectedError,
  ChainMismatchError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  ExecutionRevertedError,
  FeeCapTooHighError,
  FeeCapTooLowError,
  HttpRequestError,
  InsufficientFundsError,
  InternalRpcError,
  IntrinsicGasTooHighError,
  IntrinsicGasTooLowError,
  InvalidInputRpcError,
  InvalidParamsRpcError,
  InvalidRequestRpcError,
  LimitExceededRpcError,
  MethodNotFoundRpcError,
  MethodNotSupportedRpcError,
  NonceMaxValueError,
  NonceTooHighError,
  NonceTooLowError,
  ParseRpcError,
  ProviderDisconnectedError,
  RawContractError,
  ResourceNotFoundRpcError,
  ResourceUnavailableRpcError,
  RpcRequestError,
  SocketClosedError,
  TimeoutError,
  TipAboveFeeCapError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  TransactionTypeNotSupportedError,
  UnauthorizedProviderError,
  UnknownNodeError,
  UnsupportedChainIdError,
  UserRejectedRequestError,
  BaseError as ViemBaseError,
  WaitForTransactionReceiptTimeoutError,
  WebSocketRequestError,
} from 'viem';
import { getNodeError } from 'viem/utils';
import { BaseError, type Retry, causes, retryOfHttpStatus } from './errors.js';

/**
 * Whether a retry can help, for anything thrown: the project's errors say it themselves
 * (`retry`), viem's are known by class, Node's socket errors by their `code`. Kept apart from
 * errors.ts so that the many modules importing the error base do not load viem.
 */

type ErrorClass = abstract new (...args: never[]) => Error;

/** No status: the request never got an answer (refused, reset, DNS), which later may. */
const httpRetryOf = (error: HttpRequestError): Retry =>
  error.status === undefined ? 'retry' : retryOfHttpStatus(error.status);

/**
 * viem's errors by class → retry. A class not listed (the wrappers `ContractFunctionExecutionError`,
 * `TransactionExecutionError`, `CallExecutionError`, `EstimateGasExecutionError`,
 * `UnknownRpcError`, …) says nothing by itself: its cause is read instead.
 */
const VIEM: readonly (readonly [ErrorClass, Retry | ((error: Error) => Retry | undefined)])[] = [
  // The node or the network did not answer: the same call can succeed later.
  [HttpRequestError, (e) => httpRetryOf(e as HttpRequestError)],
  [TimeoutError, 'retry'],
  [SocketClosedError, 'retry'],
  [WebSocketRequestError, 'retry'],
  [ProviderDisconnectedError, 'retry'],
  [ChainDisconnectedError, 'retry'],
  [InternalRpcError, 'retry'], // -32603
  [LimitExceededRpcError, 'retry'], // -32005: rate limits
  [ResourceUnavailableRpcError, 'retry'], // -32002
  [ResourceNotFoundRpcError, 'retry'], // -32001: e.g. a block the node has not seen yet
  // Not there yet.
  [TransactionReceiptNotFoundError, 'retry'],
  [TransactionNotFoundError, 'retry'],
  [BlockNotFoundError, 'retry'],
  [WaitForTransactionReceiptTimeoutError, 'retry'],
  // Sent with a stale nonce or fee: again with fresh ones.
  [NonceTooLowError, 'retry'],
  [NonceTooHighError, 'retry'],
  [FeeCapTooLowError, 'retry'],
  // The same transaction or call fails the same way.
  [ContractFunctionRevertedError, 'never'],
  [ContractFunctionZeroDataError, 'never'],
  [ExecutionRevertedError, 'never'],
  [RawContractError, 'never'],
  [IntrinsicGasTooLowError, 'never'],
  [IntrinsicGasTooHighError, 'never'],
  [TipAboveFeeCapError, 'never'],
  [NonceMaxValueError, 'never'],
  [InvalidParamsRpcError, 'never'],
  [InvalidRequestRpcError, 'never'],
  [ParseRpcError, 'never'],
  [UserRejectedRequestError, 'never'],
  [AbiDecodingZeroDataError, 'never'],
  [AbiDecodingDataSizeTooSmallError, 'never'],
  [AbiErrorSignatureNotFoundError, 'never'],
  [AbiEventSignatureNotFoundError, 'never'],
  // A person must change something: funds, configuration, the provider.
  [InsufficientFundsError, 'after-fix'],
  [FeeCapTooHighError, 'after-fix'],
  [ChainMismatchError, 'after-fix'],
  [TransactionTypeNotSupportedError, 'after-fix'],
  [MethodNotFoundRpcError, 'after-fix'],
  [MethodNotSupportedRpcError, 'after-fix'],
  [UnauthorizedProviderError, 'after-fix'],
  [UnsupportedChainIdError, 'after-fix'],
];

/**
 * JSON-RPC codes of a bare `RpcRequestError` (a transport's own error, before viem maps it):
 * -32603 internal, -32005 limit exceeded, -32002 resource unavailable, -1 unknown (viem retries
 * these too, utils/buildRequest.ts `shouldRetry`).
 */
const RETRYABLE_RPC_CODES = new Set([-32603, -32005, -32002, -1]);

/** Node and undici socket errors (`error.code`) that a later connection can get past. */
const RETRYABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function viemRetryOf(error: Error): Retry | undefined {
  for (const [type, retry] of VIEM)
    if (error instanceof type) return typeof retry === 'function' ? retry(error) : retry;
  if (error instanceof RpcRequestError && RETRYABLE_RPC_CODES.has(error.code)) return 'retry';
  return undefined;
}

/** What one link of a cause chain says about retrying, or undefined when it says nothing. */
function linkRetryOf(link: unknown): Retry | undefined {
  if (link instanceof BaseError) return link.retry;
  if (link instanceof ViemBaseError) {
    const byClass = viemRetryOf(link);
    if (byClass) return byClass;
    // The node's text through viem's own table (`getNodeError`: "nonce too low", "insufficient
    // funds", …), for errors of actions that do not map it themselves (e.g. sendRawTransaction).
    if (link instanceof InvalidInputRpcError || link instanceof RpcRequestError) {
      const mapped = getNodeError(link, {});
      if (!(mapped instanceof UnknownNodeError)) return viemRetryOf(mapped);
    }
    return undefined;
  }
  const code = typeof link === 'object' && link !== null ? (link as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && RETRYABLE_SYSTEM_CODES.has(code)) return 'retry';
  return undefined;
}

/**
 * What the first link of the cause chain that knows says (outermost first): a project error
 * always knows (its `retry`); a viem error when its class is in the table; a socket error by its
 * code. Undefined when nothing in the chain knows (an unexpected bug, a library's plain Error).
 * A wrapper that rethrows should pass `retry: retryOf(cause)` when it cannot tell better itself.
 */
export function retryOf(error: unknown): Retry | undefined {
  for (const link of causes(error)) {
    const retry = linkRetryOf(link);
    if (retry) return retry;
  }
  return undefined;
}

/** True when trying the same thing again later can succeed (`retryOf(error) === 'retry'`). */
export function isRetryable(error: unknown): boolean {
  return retryOf(error) === 'retry';
}

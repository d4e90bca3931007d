import {
  ContractFunctionRevertedError,
  ExecutionRevertedError,
  FeeCapTooLowError,
  InsufficientFundsError,
  LimitExceededRpcError,
  NonceTooHighError,
  NonceTooLowError,
  RawContractError,
  ResponseBodyTooLargeError,
  RpcRequestError,
  TimeoutError,
  TransactionTypeNotSupportedError,
  UnknownNodeError,
  BaseError as ViemBaseError,
} from 'viem';
import { getNodeError } from 'viem/utils';
import { type Retry, causes } from '../base/errors.js';

/**
 * What an EVM JSON-RPC error means for a sender, recognised by viem's classes first (walking the
 * cause chain), then, for providers that only send text, by ONE table of their phrasings.
 */
export type RpcErrorKind =
  /** The nonce is used (mined, or another transaction of ours holds it): take the next one. */
  | 'nonce-too-low'
  /** The nonce is above the account's next one (a gap): the node will not take it. */
  | 'nonce-too-high'
  /** Another transaction with this nonce is pending and ours does not outbid it. */
  | 'replacement-underpriced'
  /** The very same transaction is already in the pool: it was sent, which is what we wanted. */
  | 'already-known'
  /** The sender cannot pay value + gas × fee. */
  | 'insufficient-funds'
  /** The fee cap is below the base fee or the pool's minimum. */
  | 'fee-too-low'
  /** The node does not take this transaction type (e.g. EIP-1559 on a legacy chain). */
  | 'type-not-supported'
  /** The transaction or call reverted. */
  | 'execution-reverted'
  /** A `getLogs` range the provider will not serve at once: a smaller one may pass. */
  | 'log-range-too-large';

/** Whether trying again can help, per kind (with a fresh nonce or fee where that is the point). */
export const RPC_ERROR_RETRY: Readonly<Record<RpcErrorKind, Retry>> = {
  'nonce-too-low': 'retry',
  'nonce-too-high': 'retry',
  'replacement-underpriced': 'retry',
  'already-known': 'retry',
  'insufficient-funds': 'after-fix',
  'fee-too-low': 'retry',
  'type-not-supported': 'after-fix',
  'execution-reverted': 'never',
  'log-range-too-large': 'retry',
};

type TextRule = { provider: string; says: string; pattern: RegExp; kind: RpcErrorKind };

/**
 * The one table of provider texts, for what no viem class says. Patterns run on the lower-cased messages and details of the
 * whole cause chain; the first matching row wins, so `already-known` comes before the nonce rows
 * (viem files geth's "already known" under NonceTooLowError). Sources: geth core/txpool/errors.go
 * and core/error.go; Erigon txpoolcfg `DiscardReason.String()`; Nethermind `AcceptTxResult`
 * (current versions answer geth's texts, older ones the result's name); Hardhat (EDR) messages
 * as a real node answers them (test/evm/rpc-errors.test.ts); hosted providers' documented errors.
 */
// biome-ignore format: one row a line reads as the table it is
export const RPC_ERROR_TEXTS: readonly TextRule[] = [
  // already-known
  { provider: 'geth, Erigon, Nethermind', says: 'already known', pattern: /already known/, kind: 'already-known' },
  { provider: 'Hardhat', says: 'Known transaction: 0x…', pattern: /known transaction/, kind: 'already-known' },
  { provider: 'Erigon', says: 'existing tx with same hash', pattern: /existing txn? with same hash/, kind: 'already-known' },
  { provider: 'Nethermind (old)', says: 'AlreadyKnown', pattern: /\balreadyknown\b/, kind: 'already-known' },
  { provider: 'OpenEthereum', says: 'Transaction with the same hash was already imported.', pattern: /already imported/, kind: 'already-known' },
  // replacement-underpriced
  { provider: 'geth, Erigon, Nethermind, Hardhat', says: 'replacement transaction underpriced', pattern: /replacement (transaction )?underpriced/, kind: 'replacement-underpriced' },
  { provider: 'Erigon', says: 'could not replace existing tx', pattern: /could not replace existing tx/, kind: 'replacement-underpriced' },
  { provider: 'Nethermind (old)', says: 'ReplacementNotAllowed', pattern: /\breplacementnotallowed\b/, kind: 'replacement-underpriced' },
  { provider: 'earlier list (unattributed)', says: 'Replacement transaction fee too low', pattern: /replacement (transaction )?fee too low/, kind: 'replacement-underpriced' },
  // nonce-too-low
  { provider: 'geth, Erigon, Nethermind, Hardhat', says: 'nonce too low', pattern: /nonce too low/, kind: 'nonce-too-low' },
  { provider: 'OpenEthereum', says: 'Transaction nonce is too low', pattern: /nonce is too low/, kind: 'nonce-too-low' },
  { provider: 'Nethermind (old)', says: 'OldNonce', pattern: /\boldnonce\b/, kind: 'nonce-too-low' },
  { provider: 'earlier list (unattributed)', says: 'nonce has already been used', pattern: /nonce has already been used/, kind: 'nonce-too-low' },
  // nonce-too-high
  { provider: 'geth, Nethermind, Hardhat', says: 'nonce too high', pattern: /nonce (is )?too high/, kind: 'nonce-too-high' },
  { provider: 'Nethermind (old)', says: 'NonceGap', pattern: /\bnoncegap\b|nonce gap/, kind: 'nonce-too-high' },
  // insufficient-funds
  { provider: 'geth, Erigon, Nethermind', says: 'insufficient funds for gas * price + value', pattern: /insufficient ?funds/, kind: 'insufficient-funds' },
  { provider: 'Hardhat', says: "Sender doesn't have enough funds to send tx", pattern: /sender doesn't have enough funds/, kind: 'insufficient-funds' },
  { provider: 'earlier list (unattributed; viem has it too)', says: 'exceeds transaction sender account balance', pattern: /exceeds transaction sender account balance/, kind: 'insufficient-funds' },
  // fee-too-low
  { provider: 'geth', says: 'max fee per gas less than block base fee', pattern: /(max fee per gas|fee cap) less than block base fee/, kind: 'fee-too-low' },
  { provider: 'geth, Nethermind', says: 'transaction underpriced', pattern: /transaction underpriced/, kind: 'fee-too-low' },
  { provider: 'Erigon', says: 'fee too low', pattern: /fee too low/, kind: 'fee-too-low' },
  { provider: 'Nethermind (old)', says: 'FeeTooLow', pattern: /\bfeetoolow/, kind: 'fee-too-low' },
  { provider: 'Hardhat', says: 'Transaction maxFeePerGas (…) is too low for the next block', pattern: /maxfeepergas \(\d+\) is too low/, kind: 'fee-too-low' },
  // type-not-supported
  { provider: 'geth', says: 'transaction type not supported', pattern: /transaction type not supported|tx type not supported/, kind: 'type-not-supported' },
  // execution-reverted
  { provider: 'geth, Erigon', says: 'execution reverted', pattern: /execution reverted/, kind: 'execution-reverted' },
  { provider: 'Hardhat', says: 'Transaction reverted without a reason string / with reason string …', pattern: /transaction reverted/, kind: 'execution-reverted' },
  { provider: 'Ganache', says: 'VM Exception while processing transaction: revert', pattern: /vm exception while processing transaction: revert/, kind: 'execution-reverted' },
  // log-range-too-large (eth_getLogs)
  { provider: 'Infura, geth', says: 'query returned more than 10000 results', pattern: /query returned more than \d+ results/, kind: 'log-range-too-large' },
  { provider: 'Alchemy', says: 'Log response size exceeded … up to a 2K block range', pattern: /log response size exceeded|up to a [\d,]+k? block range/, kind: 'log-range-too-large' },
  { provider: 'QuickNode, Ankr', says: 'eth_getLogs is limited to a 10,000 range', pattern: /limited to (a )?[\d,]+ (block )?range|max(imum)? \d+ blocks/, kind: 'log-range-too-large' },
  { provider: 'Erigon, Nethermind, public RPCs', says: 'block range is too wide / exceed maximum block range: 5000', pattern: /block range|range (is )?too (large|wide|big)|exceed(s|ed)? (the )?(max(imum)?|limit)/, kind: 'log-range-too-large' },
  { provider: 'geth, hosted', says: 'request timed out / query timeout exceeded', pattern: /timed out|timeout exceeded/, kind: 'log-range-too-large' },
  { provider: 'hosted', says: 'too many results / response size exceeded / limit exceeded', pattern: /too many (results|logs|blocks)|response (size|body) (is )?(too large|exceeded)|limit exceeded/, kind: 'log-range-too-large' },
];

/** Every message and details string of an error's cause chain, lower-cased, for the table. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  for (const link of causes(error)) {
    if (typeof link !== 'object' || link === null) {
      parts.push(String(link));
      continue;
    }
    const e = link as { message?: unknown; shortMessage?: unknown; details?: unknown };
    for (const v of [e.shortMessage, e.message, e.details]) if (typeof v === 'string') parts.push(v);
  }
  return parts.join(' | ').toLowerCase();
}

/** The table's answer for an error's text, with the row that gave it. */
export function matchRpcErrorText(error: unknown): TextRule | null {
  const text = errorText(error);
  return RPC_ERROR_TEXTS.find((rule) => rule.pattern.test(text)) ?? null;
}

/** viem's node-error classes → kind. */
function kindOfClass(error: unknown): RpcErrorKind | null {
  if (error instanceof NonceTooLowError) return 'nonce-too-low';
  if (error instanceof NonceTooHighError) return 'nonce-too-high';
  if (error instanceof InsufficientFundsError) return 'insufficient-funds';
  if (error instanceof FeeCapTooLowError) return 'fee-too-low';
  if (error instanceof TransactionTypeNotSupportedError) return 'type-not-supported';
  if (
    error instanceof ExecutionRevertedError ||
    error instanceof ContractFunctionRevertedError ||
    error instanceof RawContractError
  )
    return 'execution-reverted';
  return null;
}

/**
 * What a send, call or getLogs error means, or null when neither viem nor the table knows it:
 * 1. a viem class anywhere in the cause chain (`NonceTooLowError`, `InsufficientFundsError`, …);
 * 2. the provider table (`RPC_ERROR_TEXTS`), for texts viem has no class for or misfiles;
 * 3. viem's own mapping of a bare RPC error's text to its classes (`getNodeError`), for the few
 *    phrasings it knows and the table does not (actions such as `sendRawTransaction` leave the
 *    node's error unmapped).
 * viem counts geth's "already known" as `NonceTooLowError`; the table tells it apart.
 */
export function classifyRpcError(error: unknown): RpcErrorKind | null {
  const refine = (kind: RpcErrorKind): RpcErrorKind =>
    kind === 'nonce-too-low' && matchRpcErrorText(error)?.kind === 'already-known' ? 'already-known' : kind;
  for (const link of causes(error)) {
    const kind = kindOfClass(link);
    if (kind) return refine(kind);
  }
  const text = matchRpcErrorText(error)?.kind ?? null;
  if (text) return text;
  for (const link of causes(error)) {
    if (!(link instanceof ViemBaseError) || !link.details) continue;
    const mapped = getNodeError(link, {});
    if (mapped instanceof UnknownNodeError) continue;
    const kind = kindOfClass(mapped);
    if (kind) return refine(kind);
  }
  return null;
}

/**
 * A `getLogs` failure that a smaller block range may avoid: a rate limit (-32005), a response
 * too large or too slow (viem's classes), or a provider's range text (the table).
 */
export function isLogRangeError(error: unknown): boolean {
  for (const link of causes(error)) {
    if (
      link instanceof LimitExceededRpcError ||
      link instanceof ResponseBodyTooLargeError ||
      link instanceof TimeoutError ||
      (link instanceof RpcRequestError && link.code === LimitExceededRpcError.code)
    )
      return true;
  }
  return classifyRpcError(error) === 'log-range-too-large';
}

// The predicates the submitter used before `classifyRpcError`; kept with their old meanings.

/** The nonce was already used (mined or known to the node); includes "already known", as before. */
export function isNonceTooLowError(error: unknown): boolean {
  const kind = classifyRpcError(error);
  return kind === 'nonce-too-low' || kind === 'already-known';
}

export function isNonceTooHighError(error: unknown): boolean {
  return classifyRpcError(error) === 'nonce-too-high';
}

export function isAlreadyKnownError(error: unknown): boolean {
  return classifyRpcError(error) === 'already-known';
}

export function isReplacementUnderpricedError(error: unknown): boolean {
  return classifyRpcError(error) === 'replacement-underpriced';
}

export function isInsufficientFundsError(error: unknown): boolean {
  return classifyRpcError(error) === 'insufficient-funds';
}

export function isFeeTooLowError(error: unknown): boolean {
  return classifyRpcError(error) === 'fee-too-low';
}

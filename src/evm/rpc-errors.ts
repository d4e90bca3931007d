/**
 * Classifies errors from EVM JSON-RPC providers by what the caller should do. Providers word the
 * same condition differently (geth, erigon, Alchemy, Infura, QuickNode, Hardhat), so this reads
 * the whole cause chain and matches the known phrasings.
 */

/** Every message, short message, details and code in an error's cause chain, lower-cased. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 8; depth++) {
    if (typeof current === 'object') {
      const e = current as { message?: unknown; shortMessage?: unknown; details?: unknown; code?: unknown };
      for (const v of [e.shortMessage, e.message, e.details]) if (typeof v === 'string') parts.push(v);
      if (typeof e.code === 'number' || typeof e.code === 'string') parts.push(`code ${e.code}`);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(' | ').toLowerCase();
}

const RANGE_PATTERNS = [
  /block range/,
  /range (is )?too (large|wide|big)/,
  /exceed(s|ed)? (the )?(max(imum)?|limit)/,
  /query returned more than \d+ results/,
  /too many (results|logs|blocks)/,
  /log response size exceeded/,
  /response (size|body) (is )?(too large|exceeded)/,
  /limit exceeded/,
  /max(imum)? \d+ blocks/,
  /limited to (a )?[\d,]+ (block )?range/,
  /up to a [\d,]+k? block range/,
  /code -32005/,
  /timeout|timed out/,
];

/** A `getLogs` failure that a smaller block range may avoid. */
export function isLogRangeError(error: unknown): boolean {
  const text = errorText(error);
  return RANGE_PATTERNS.some((re) => re.test(text));
}

/** The nonce was already used (mined or known to the node). */
export function isNonceTooLowError(error: unknown): boolean {
  return /nonce too low|nonce is too low|transaction already imported|already known|known transaction|nonce has already been used|old nonce/.test(
    errorText(error),
  );
}

/** The nonce is above the account's next one (a gap): the node will not take it (or only queue it). */
export function isNonceTooHighError(error: unknown): boolean {
  return /nonce too high|nonce is too high|nonce gap/.test(errorText(error));
}

/** The exact transaction is already in the node's pool: it was sent, which is what we wanted. */
export function isAlreadyKnownError(error: unknown): boolean {
  return /already known|known transaction|transaction already imported/.test(errorText(error));
}

/** Another transaction with the same nonce is pending and ours does not outbid it. */
export function isReplacementUnderpricedError(error: unknown): boolean {
  return /replacement (transaction )?underpriced|replacement fee too low|could not replace existing tx/.test(
    errorText(error),
  );
}

export function isInsufficientFundsError(error: unknown): boolean {
  return /insufficient funds|exceeds transaction sender account balance|sender doesn't have enough funds/.test(
    errorText(error),
  );
}

export function isFeeTooLowError(error: unknown): boolean {
  return /max fee per gas less than block base fee|fee cap less than block base fee|transaction underpriced|feecap too low/.test(
    errorText(error),
  );
}

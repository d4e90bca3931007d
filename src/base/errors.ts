/**
 * The one error shape of the project (after viem's BaseError): a short message a person can act
 * on, optional details, the docs page that explains the error, and whether trying again can
 * help. Subclasses add a `name`, structured fields and their `static retry`; nothing secret is
 * ever put in any of them.
 */

/**
 * Whether trying the same thing again can succeed:
 * - `retry`: yes, later (a timeout, a busy or restarting peer, a nonce or fee to refresh);
 * - `after-fix`: only after a person changes something (configuration, funds, a file, the input);
 * - `never`: the answer is final (a refusal, a revert, malformed or hostile data).
 */
export type Retry = 'retry' | 'never' | 'after-fix';

export type BaseErrorParameters = {
  details?: string | undefined;
  docsPath?: string | undefined;
  cause?: unknown;
  metaMessages?: string[] | undefined;
  /** Overrides the class's `static retry` for this one error (a thrower that knows better). */
  retry?: Retry | undefined;
};

export class BaseError extends Error {
  /**
   * What every error of this class says about retrying. Each subclass states its own (a test
   * checks every class in src/ does); `after-fix` here is for the plain `new BaseError(…)` of the
   * command line, whose messages ask the user to change something.
   */
  static readonly retry: Retry = 'after-fix';

  override name = 'PhalaBridgeError';
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly docsPath: string | undefined;
  readonly metaMessages: string[];
  /** This error's answer to "can a retry help?" (the class's, unless the thrower overrode it). */
  readonly retry: Retry;

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const lines = [shortMessage];
    if (parameters.metaMessages?.length) lines.push('', ...parameters.metaMessages);
    if (parameters.details) lines.push('', `Details: ${parameters.details}`);
    if (parameters.docsPath) lines.push(`Docs: ${parameters.docsPath}`);
    super(lines.join('\n'), parameters.cause === undefined ? undefined : { cause: parameters.cause });
    this.shortMessage = shortMessage;
    this.details = parameters.details;
    this.docsPath = parameters.docsPath;
    this.metaMessages = parameters.metaMessages ?? [];
    this.retry = parameters.retry ?? (new.target as typeof BaseError).retry;
  }

  /**
   * This error and its causes, outermost first (viem's `walk`): without `fn` the innermost one,
   * with `fn` the first for which it returns true (null when none does).
   */
  walk(fn?: (error: unknown) => boolean): unknown {
    return walkCauses(this, fn);
  }
}

/**
 * What an HTTP status says about retrying the same request: 408, 425, 429 and 5xx are the
 * server's "not now"; 401 and 403 want other credentials; other 4xx are "not this request".
 */
export function retryOfHttpStatus(status: number): Retry {
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  if (status === 401 || status === 403) return 'after-fix';
  return 'never';
}

/**
 * An error and its causes, outermost first, as far as `cause` links go (at most 16, and never
 * round a cycle): our errors, viem's and Node's alike.
 */
export function* causes(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let current = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 16; depth++) {
    if (seen.has(current)) return;
    seen.add(current);
    yield current;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
}

/** viem's `walk` over any cause chain: the innermost link, or the first that `fn` accepts. */
export function walkCauses(error: unknown, fn?: (error: unknown) => boolean): unknown {
  let last: unknown = null;
  for (const link of causes(error)) {
    if (fn?.(link)) return link;
    last = link;
  }
  return fn ? null : last;
}

/** Raised when bytes or text from outside do not have the expected shape. */
export class InvalidInputError extends BaseError {
  /** The same bytes or text fail the same way. */
  static override readonly retry: Retry = 'never';
  override name = 'InvalidInputError';
  readonly field: string;
  constructor(field: string, expected: string, parameters: BaseErrorParameters = {}) {
    super(`${field}: expected ${expected}`, parameters);
    this.field = field;
  }
}

/**
 * The text a command line prints: one line (short message and details), then any listed items
 * (a config error's bad fields) one per line.
 */
export function cliErrorText(error: unknown): string {
  if (!(error instanceof BaseError)) return errorMessage(error);
  const head = error.details
    ? `${error.shortMessage.replace(/\.$/, '')}: ${error.details}`
    : error.shortMessage;
  return [head, ...error.metaMessages].join('\n');
}

/** A message for logs and replies from anything thrown, without stack traces or causes. */
export function errorMessage(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

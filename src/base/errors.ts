/**
 * The one error shape of the project (after viem's BaseError): a short message a person can act
 * on, optional details, and the docs page that explains the error. Subclasses add a `name` and
 * structured fields; nothing secret is ever put in any of them.
 */
export type BaseErrorParameters = {
  details?: string | undefined;
  docsPath?: string | undefined;
  cause?: unknown;
  metaMessages?: string[] | undefined;
};

export class BaseError extends Error {
  override name = 'PhalaBridgeError';
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly docsPath: string | undefined;
  readonly metaMessages: string[];

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
  }
}

/** Raised when bytes or text from outside do not have the expected shape. */
export class InvalidInputError extends BaseError {
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

import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';
import { BaseError, type Retry } from '../base/errors.js';

/**
 * A secret from the configuration. It prints as `[secret]` everywhere (JSON, util.inspect,
 * template strings), so passing a config object to a logger cannot leak it; `reveal()` is the
 * one way out, used only where the key is needed.
 */
export class Secret {
  readonly #value: string;
  readonly source: string;
  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return `[secret from ${this.source}]`;
  }
  toString(): string {
    return this.toJSON();
  }
  [inspect.custom](): string {
    return this.toJSON();
  }
}

export class SecretSourceError extends BaseError {
  /** Set the variable or fix the file. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'SecretSourceError';
}

/**
 * A secret whose source could not be read while a config was only being checked
 * (`checkingSecrets`): `config check` on a machine other than the one that holds the secrets.
 * It can never be revealed.
 */
export class UnreadSecret extends Secret {
  /** Why it could not be read (the variable is not set, the file cannot be read). */
  readonly reason: string;
  constructor(source: string, reason: string) {
    super('', source);
    this.reason = reason;
  }
  override reveal(): never {
    throw new SecretSourceError(`The secret from ${this.source} was not read (config checked only).`);
  }
  override toJSON(): string {
    return `[unread secret from ${this.source}]`;
  }
}

const checkOnly = new AsyncLocalStorage<true>();

/** Runs `parse` with unreadable secrets kept as `UnreadSecret` instead of failing the parse. */
export function checkingSecrets<T>(parse: () => T): T {
  return checkOnly.run(true, parse);
}

/** Where a secret comes from: an environment variable, a file, or (development only) inline. */
export const secretSourceSchema = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ value: z.string().min(1) }),
]);
export type SecretSource = z.infer<typeof secretSourceSchema>;

/** The error's text with the system's code when it has one (`ENOENT`: the file is missing). */
function reasonOf(error: SecretSourceError): string {
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${error.shortMessage} (${code})` : error.shortMessage;
}

function describeSource(source: SecretSource): string {
  return 'env' in source ? `env ${source.env}` : 'file' in source ? `file ${source.file}` : 'inline value';
}

export function resolveSecret(source: SecretSource, env: NodeJS.ProcessEnv = process.env): Secret {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value === '')
      throw new SecretSourceError(`environment variable ${source.env} is not set`);
    return new Secret(value.trim(), `env ${source.env}`);
  }
  if ('file' in source) {
    try {
      return new Secret(readFileSync(source.file, 'utf8').trim(), `file ${source.file}`);
    } catch (cause) {
      throw new SecretSourceError(`cannot read secret file ${source.file}`, { cause });
    }
  }
  return new Secret(source.value, 'inline value');
}

/** A schema field that accepts a secret source and yields a resolved `Secret`. */
export const secretSchema = secretSourceSchema.transform((source, ctx) => {
  try {
    return resolveSecret(source);
  } catch (error) {
    if (checkOnly.getStore() && error instanceof SecretSourceError)
      return new UnreadSecret(describeSource(source), reasonOf(error));
    ctx.addIssue({
      code: 'custom',
      message: error instanceof BaseError ? error.shortMessage : String(error),
    });
    return z.NEVER;
  }
});

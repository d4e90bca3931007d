import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { BaseError, type Retry } from '../base/errors.js';
import { type Config, configSchema, forEachSecret } from './schema.js';
import { checkingSecrets, UnreadSecret } from './secret.js';

export type ConfigIssue = { path: string; message: string };

/** One error for a whole bad configuration, naming each bad field by its path. */
export class ConfigError extends BaseError {
  /** Fix the named fields and start again. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'ConfigError';
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    super(`Invalid configuration in ${source}.`, {
      metaMessages: issues.map((i) => `- ${i.path || '(root)'}: ${i.message}`),
      docsPath: '/docs/operations.md#configuration',
    });
    this.issues = issues;
  }
}

export const ENV_PREFIX = 'PHALA_BRIDGE_';

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * `PHALA_BRIDGE_REDIS__URL=…` sets `redis.url`; `__` nests, digits index arrays
 * (`PHALA_BRIDGE_CHAINS__0__RPC_URL`). Values are JSON when they parse as JSON, text otherwise.
 * Only variables whose first segment names a top-level config key apply, so unrelated
 * `PHALA_BRIDGE_*` variables are left alone.
 */
export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const root = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  const topLevel = new Set(Object.keys(configSchema.shape));
  for (const [key, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const segments = key.slice(ENV_PREFIX.length).split('__').map(camel);
    if (!topLevel.has(segments[0]!)) continue;
    let node: Record<string, unknown> = root;
    segments.forEach((segment, i) => {
      const index = /^\d+$/.test(segment) ? Number(segment) : segment;
      if (i === segments.length - 1) {
        (node as Record<string | number, unknown>)[index] = parseValue(value);
        return;
      }
      const next = (node as Record<string | number, unknown>)[index];
      if (!next || typeof next !== 'object') {
        (node as Record<string | number, unknown>)[index] = /^\d+$/.test(segments[i + 1]!) ? [] : {};
      }
      node = (node as Record<string | number, Record<string, unknown>>)[index]!;
    });
  }
  return root;
}

function parseValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function formatIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Validates an already-parsed object (plus env overrides) against the schema. */
export function parseConfig(raw: unknown, source = 'config', env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(applyEnvOverrides(raw, env));
  if (!result.success) throw new ConfigError(source, formatIssues(result.error));
  return result.data;
}

/** Loads a YAML or JSON file, applies `PHALA_BRIDGE_*` overrides and validates the result. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(file, [
      { path: '', message: `cannot read file (${(cause as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
  let raw: unknown;
  try {
    raw = path.extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new ConfigError(file, [
      {
        path: '',
        message: `not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(cause as Error).message.split('\n')[0]}`,
      },
    ]);
  }
  return parseConfig(raw, file, env);
}

/** A secret `checkConfigFile` could not read on this machine: where it sits, its source, why. */
export type UnreadSecretNotice = { path: string; source: string; reason: string };

/**
 * `config check`: validates like `loadConfig` (schema, env overrides, production rules), but a
 * secret whose file or variable is not on this machine is reported instead of refused, so an
 * example or a deployment's config can be checked on a build host (`loadConfig`, what every role
 * runs, still refuses it).
 */
export function checkConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): { config: Config; unreadSecrets: UnreadSecretNotice[] } {
  const config = checkingSecrets(() => loadConfig(file, env));
  const unreadSecrets: UnreadSecretNotice[] = [];
  forEachSecret(config, (secret, at) => {
    if (secret instanceof UnreadSecret)
      unreadSecrets.push({ path: at.join('.'), source: secret.source, reason: secret.reason });
  });
  return { config, unreadSecrets };
}

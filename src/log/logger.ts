import { type DestinationStream, type Logger, destination, pino, stdSerializers } from 'pino';
import { redactUrl } from '../base/redact-url.js';

export type { Logger };

/**
 * Field names that may hold a secret, redacted wherever they appear (two levels deep, which is
 * how far our log objects nest). `Secret` values print as `[secret]` on their own; this catches
 * raw strings that slipped through.
 */
const SECRET_FIELDS = [
  'secret',
  'secretKey',
  'privateKey',
  'password',
  'token',
  'signer',
  'seed',
  'mnemonic',
  'suri',
  'masterKey',
  'platformSecret',
  'platformCaKey',
  'authorization',
];
export const redactPaths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/**
 * Redaction above works on keys; a password inside a URL (`redis://:pw@host`) is in a value.
 * These fields, wherever a URL or an error text that may quote one is logged, mask userinfo.
 */
const maskUrls = (value: unknown): unknown =>
  typeof value === 'string' ? redactUrl(value) : Array.isArray(value) ? value.map(maskUrls) : value;
const urlSerializers = Object.fromEntries(
  ['url', 'rpcUrl', 'wsUrl', 'redisUrl', 'endpoint', 'endpoints'].map((k) => [k, maskUrls]),
);
function maskError(value: unknown): unknown {
  if (!(value instanceof Error)) return maskUrls(value);
  const serialized = stdSerializers.err(value);
  return { ...serialized, message: redactUrl(serialized.message), stack: redactUrl(serialized.stack ?? '') };
}

export type CreateLoggerParameters = {
  level?: string | undefined;
  /** Human-readable output; defaults to true when stderr is a terminal. */
  pretty?: boolean | undefined;
  name?: string | undefined;
  destination?: NodeJS.WritableStream | undefined;
};

export function createLogger(parameters: CreateLoggerParameters = {}): Logger {
  const pretty = parameters.pretty ?? Boolean(process.stderr.isTTY);
  const options = {
    name: parameters.name ?? 'phala-bridge',
    level: parameters.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { ...urlSerializers, err: maskError },
    base: undefined,
  };
  if (parameters.destination) return pino(options, parameters.destination as DestinationStream);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
    });
  }
  return pino(options, destination({ dest: 2, sync: false }));
}

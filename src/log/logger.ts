import { type DestinationStream, type Logger, destination, pino } from 'pino';

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

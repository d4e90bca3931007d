import { type DestinationStream, type Logger, destination, pino, stdSerializers, symbols } from 'pino';
import { isPackageInstalled } from '../base/optional-package.js';
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

/**
 * One key once per line. Pino writes a child's bindings after its parent's and a line's fields
 * after both, without looking for repeats, so `logger.child({ chain }).warn({ chain }, …)` or a
 * child of a child re-binding `chain` printed `"chain":"evm","chain":"evm"` — JSON that most
 * readers take differently (first or last wins, or refuse). A child re-binding a key replaces it
 * in place; a line repeating a bound key drops it when equal and is written through a child that
 * re-binds it otherwise (the line's value wins, as it did for JSON.parse).
 */
const { chindingsSym } = symbols;
type Bound = Record<symbol, string>;
const boundKeysCache = new WeakMap<object, Set<string>>();

function parseChindings(chindings: string): Record<string, unknown> {
  // Pino keeps bindings as `,"k":v,…`: already serialized (redacted, URLs masked) JSON members.
  return chindings.length > 1 ? (JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>) : {};
}

function boundOf(logger: object): Record<string, unknown> {
  return parseChindings((logger as Bound)[chindingsSym] ?? '');
}

function boundKeys(logger: object): Set<string> {
  let keys = boundKeysCache.get(logger);
  if (!keys) {
    keys = new Set(Object.keys(boundOf(logger)));
    boundKeysCache.set(logger, keys);
  }
  return keys;
}

function onChild(child: Logger): void {
  const own = (child as unknown as Bound)[chindingsSym] ?? '';
  const inherited = (Object.getPrototypeOf(child) as Bound)[chindingsSym] ?? '';
  if (!own.startsWith(inherited)) return;
  const added = Object.keys(parseChindings(own.slice(inherited.length)));
  const parentKeys = new Set(Object.keys(parseChindings(inherited)));
  if (!added.some((k) => parentKeys.has(k))) return;
  // JSON.parse keeps a repeated key at its first place with its last value: the child's.
  const merged = parseChindings(own);
  (child as unknown as Bound)[chindingsSym] = `,${JSON.stringify(merged).slice(1, -1)}`;
}

function logMethod(this: Logger, args: Parameters<Logger['info']>, method: Logger['info']): void {
  const [first, ...rest] = args as unknown[];
  const fields =
    first !== null && typeof first === 'object' && !(first instanceof Error) && !Array.isArray(first)
      ? (first as Record<string, unknown>)
      : {};
  const keys = boundKeys(this);
  const repeated = Object.keys(fields).filter((k) => keys.has(k));
  if (repeated.length === 0) {
    method.apply(this, args);
    return;
  }
  const bound = boundOf(this);
  const line: Record<string, unknown> = { ...fields };
  const rebind: Record<string, unknown> = {};
  for (const k of repeated) {
    const value = line[k];
    delete line[k];
    if (value !== bound[k]) rebind[k] = value;
  }
  const target = Object.keys(rebind).length > 0 ? this.child(rebind) : this;
  (method as (...a: unknown[]) => void).apply(target, [line, ...rest]);
}

export type CreateLoggerParameters = {
  level?: string | undefined;
  /**
   * Human-readable output; defaults to true when stderr is a terminal. It needs pino-pretty, an
   * optional peer dependency: without it the lines stay JSON.
   */
  pretty?: boolean | undefined;
  name?: string | undefined;
  destination?: NodeJS.WritableStream | undefined;
};

export function createLogger(parameters: CreateLoggerParameters = {}): Logger {
  const pretty = (parameters.pretty ?? Boolean(process.stderr.isTTY)) && isPackageInstalled('pino-pretty');
  const options = {
    name: parameters.name ?? 'phala-bridge',
    level: parameters.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { ...urlSerializers, err: maskError },
    base: undefined,
    onChild,
    hooks: { logMethod },
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

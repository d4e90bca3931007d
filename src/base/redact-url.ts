/**
 * URLs as they may be printed or logged: the userinfo (`user:password@`) of every URL is masked,
 * whatever the scheme (redis, rediss, http(s), ws(s)). Config values, log fields and error texts
 * all go through these, so a password in a Redis or RPC URL never reaches a terminal or a log.
 */
const MASK = '***';
// scheme://userinfo@ — userinfo ends at the last '@' before the path, query or fragment.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;

/** One URL (or any text holding URLs) with every userinfo masked; other text is left as it is. */
export function redactUrl(text: string): string {
  return text.replace(USERINFO, `$1${MASK}@`);
}

/** A copy of a JSON-like value with `redactUrl` applied to every string in it (objects, arrays). */
export function redactUrlsIn<T>(value: T): T {
  if (typeof value === 'string') return redactUrl(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactUrlsIn(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUrlsIn(v)])) as T;
  }
  return value;
}

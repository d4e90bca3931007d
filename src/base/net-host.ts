import { isIP } from 'node:net';

/**
 * What a listening address or a `Host` header names: loopback (only this machine can reach it),
 * a wildcard (every interface) or an IP literal. Used by the admin API's rules: no token is
 * needed only on loopback, and a Host header naming another host is a DNS-rebinding attempt.
 */
export function hostNameOf(hostHeader: string): string {
  // "[::1]:8090" → "::1", "localhost:8090" → "localhost"
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const colons = hostHeader.split(':').length - 1;
  return (colons === 1 ? hostHeader.slice(0, hostHeader.indexOf(':')) : hostHeader).toLowerCase();
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

export function isIpLiteral(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

import type { Redis } from 'ioredis';
import pidusage from 'pidusage';

/**
 * CPU time (user + system) the processes of a measurement spend, so a report can say what one
 * request costs, process by process, beside how many went through a second. On a machine whose
 * cores are all busy a rate is a share of the CPU, and the CPU a unit of work costs is what two
 * designs can be compared by; the rate alone also moves with whatever else runs on the host.
 * pidusage reads /proc on Linux and asks `ps` elsewhere.
 */
export type CpuMeter = {
  /** Starts a window; its `stop` gives each process's CPU milliseconds in the window. */
  start(): Promise<{ stop(): Promise<Record<string, number>> }>;
};

/** A meter over the named pids; a pid that has gone (or cannot be read) is left out. */
export function cpuMeter(pids: Record<string, number | undefined>): CpuMeter {
  const named = Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined);
  const read = async (): Promise<Map<string, number>> => {
    const stats = await Promise.all(
      named.map(async ([name, pid]) => [name, (await pidusage(pid).catch(() => null))?.ctime] as const),
    );
    return new Map(stats.filter((e): e is readonly [string, number] => e[1] !== undefined));
  };
  return {
    async start() {
      const before = await read();
      return {
        async stop() {
          const after = await read();
          return Object.fromEntries(
            [...after].flatMap(([name, ms]) => {
              const from = before.get(name);
              return from === undefined ? [] : [[name, ms - from]];
            }),
          );
        },
      };
    },
  };
}

/**
 * The Redis server's pid when it runs on this machine (a loopback URL), from `INFO server`;
 * undefined for a remote server, whose pid would name some unrelated local process.
 */
export async function localRedisPid(redis: Redis, url: string): Promise<number | undefined> {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) return undefined;
  const pid = /^process_id:(\d+)\s*$/m.exec(await redis.info('server'))?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** Each process's CPU milliseconds per unit of work, with their sum as `total`. */
export function cpuPerUnit(
  cpuMs: Record<string, number>,
  units: number,
): Record<string, number> & { total: number } {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const each = Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, round(ms / units)]));
  const total = Object.values(cpuMs).reduce((a, b) => a + b, 0);
  return { ...each, total: round(total / units) };
}

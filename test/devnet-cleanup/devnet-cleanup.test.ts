import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { devnetRedisPrefix, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { deletePrefixedKeys, ensureRedis, stopStartedRedis } from '../../src/devnet/orchestrator/redis.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * What a devnet leaves behind once stopped: nothing it made. Its temporary data directory (signer
 * keys, the sim platform CA key, the admin token), its Redis keys, and a redis-server it started
 * go on stop(), on SIGTERM once running, and on SIGINT during start-up.
 */
const bin = path.resolve(import.meta.dirname, '../../bin/phala-bridge.js');
const children: ChildProcess[] = [];
const ports: number[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_500, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(String(d).startsWith('+PONG')));
    socket.on('error', () => done(false));
  });
}

async function keysUnder(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    return (await redis.keys(`${prefix}:*`)).length;
  } finally {
    redis.disconnect();
  }
}

/** `phala-bridge devnet` on a Redis port of its own (nothing answers there: it starts redis-server). */
function devnetCli(port: number) {
  const child = spawn(
    process.execPath,
    [bin, 'devnet', '--workers', '1', '--redis-url', `redis://127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = pattern.exec(stdout);
        if (match) {
          clearInterval(timer);
          resolve(match);
        }
      }, 100);
      setTimeout(() => {
        clearInterval(timer);
        reject(new Error(`no ${pattern} in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
      }, timeoutMs);
    });
  return { child, exited, line, output: () => `${stdout}\n${stderr}` };
}

afterAll(async () => {
  // Only what this file started, by its own handles.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const port of ports)
    if (await answers(port)) {
      const redis = new Redis(port, '127.0.0.1');
      await redis.shutdown('NOSAVE').catch(() => undefined);
      redis.disconnect();
    }
});

describe('the devnet cleans up what it made', { timeout: 600_000 }, () => {
  it("devnets started in the same millisecond never share a Redis prefix (the first to stop would delete the other's keys)", () => {
    const prefixes = Array.from({ length: 1_000 }, devnetRedisPrefix);
    const millis = new Set(prefixes.map((p) => p.split('-').at(-2)));
    expect(millis.size).toBeLessThan(prefixes.length); // some were made in the same millisecond
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const prefix of prefixes) expect(prefix).toMatch(/^phala-bridge-devnet-[0-9a-z]+-[0-9a-f]{8}$/);
  });

  it('stop(): its temp data directory and every Redis key under its prefix are gone', async () => {
    const devnet = await startDevnet({ redisUrl: REDIS_URL, workers: 1, examples: false });
    const prefix = devnet.config.redis.prefix;
    expect(existsSync(path.join(devnet.dataDir, 'devnet.json'))).toBe(true);
    expect(await keysUnder(prefix)).toBeGreaterThan(0);
    await devnet.stop();
    expect(existsSync(devnet.dataDir)).toBe(false);
    expect(await keysUnder(prefix)).toBe(0);
    await devnet.stop(); // a second stop is harmless
  });

  it('SIGTERM once running: the data directory goes, and the redis-server it started is shut down', async () => {
    const port = await freePort();
    ports.push(port);
    const cli = devnetCli(port);
    const [, dataDir] = await cli.line(/data directory (\S+) \(removed on stop\)/, 60_000);
    await cli.line(/redis-server started on/, 60_000);
    await cli.line(/running; Ctrl-C stops everything/, 540_000);
    expect(existsSync(path.join(dataDir!, 'devnet.json'))).toBe(true);
    expect(await answers(port)).toBe(true);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toContain('stopped the redis-server it started');
    expect(existsSync(dataDir!)).toBe(false);
    expect(await answers(port)).toBe(false);
  });

  it('SIGINT during start-up: it stops there, exits 130 and leaves nothing behind', async () => {
    const port = await freePort();
    ports.push(port);
    const cli = devnetCli(port);
    const [, dataDir] = await cli.line(/data directory (\S+) \(removed on stop\)/, 60_000);
    // The chains run by now, the devnet is far from ready.
    await cli.line(/starting the EVM node/, 300_000);
    const interrupted = Date.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(60_000);
    expect(cli.output()).toContain('stopped before it was ready');
    expect(existsSync(dataDir!)).toBe(false);
    expect(await answers(port)).toBe(false);
  });

  it('a redis-server it started that someone else uses by now keeps running; keys of another prefix stay', async () => {
    const port = await freePort();
    ports.push(port);
    const url = `redis://127.0.0.1:${port}`;
    expect(await ensureRedis(url)).toEqual({ started: true });
    const other = new Redis(port, '127.0.0.1');
    await other.set('someone-else', '1');
    expect(await stopStartedRedis(url)).toMatchObject({
      stopped: false,
      reason: expect.stringContaining('1 other client'),
    });
    await other.del('someone-else');
    other.disconnect();
    await new Promise((r) => setTimeout(r, 200));
    expect(await stopStartedRedis(url)).toEqual({ stopped: true });
    expect(await answers(port)).toBe(false);

    const mine = uniquePrefix('cleanup');
    const theirs = `${mine}x`;
    const redis = new Redis(REDIS_URL);
    await redis.set(`${mine}:{journeys}`, '1');
    await redis.hset(`${mine}:{requests-0011}:meta`, 'a', '1');
    await redis.set(`${theirs}:kept`, '1');
    const deleted = await deletePrefixedKeys({ url: REDIS_URL, prefix: mine, tls: false });
    expect(deleted).toBe(2);
    expect(await redis.exists(`${theirs}:kept`)).toBe(1);
    await redis.del(`${theirs}:kept`);
    redis.disconnect();
  });
});

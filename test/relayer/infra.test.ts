import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { backoffDelay, retryFitsDeadline } from '../../src/protocol/retry.js';
import { CheckpointFile, RedisCheckpointStore } from '../../src/relayer/checkpoints.js';
import { JourneyStore, JourneyWriteError } from '../../src/relayer/journey.js';
import { Lease, LeaseLostError } from '../../src/relayer/lease.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const prefix = `{${uniquePrefix('infra')}}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('lease with fencing (real Redis)', () => {
  it('is held by one process at a time; a new holder gets a higher token and fences the old one', async () => {
    const key = `${prefix}:lease:watcher-a`;
    const a = new Lease({ redis, key, ttlMs: 300, renewEveryMs: 10_000 });
    const b = new Lease({ redis, key, ttlMs: 300, renewEveryMs: 10_000 });
    expect(await a.tryAcquire()).toBe(true);
    const first = a.token!;
    expect(await b.tryAcquire()).toBe(false);
    expect(await a.assertHeld()).toBe(first);
    // a stalls past its TTL (no renewal); b takes over with a higher fencing token
    await new Promise((r) => setTimeout(r, 400));
    expect(await b.tryAcquire()).toBe(true);
    expect(b.token!).toBeGreaterThan(first);
    await expect(a.assertHeld()).rejects.toBeInstanceOf(LeaseLostError);
    expect(a.token).toBeNull();
    await b.release();
    expect(await a.tryAcquire()).toBe(true);
    await a.release();
  });

  it('keeps the lease while renewing and reports a loss', async () => {
    const key = `${prefix}:lease:submitter`;
    let lost = 0;
    // Wide margins: a loaded CI machine can delay a renewal by a few hundred milliseconds.
    const a = new Lease({ redis, key, ttlMs: 2_000, renewEveryMs: 100, onLost: () => lost++ });
    expect(await a.tryAcquire()).toBe(true);
    // Held across several TTLs only by renewing.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await a.assertHeld()).toBe(a.token);
    expect(lost).toBe(0);
    // someone deletes the key and takes it (as after a Redis failover): the holder notices
    await redis.del(key);
    const b = new Lease({ redis, key, ttlMs: 10_000 });
    expect(await b.tryAcquire()).toBe(true);
    for (let i = 0; i < 50 && lost === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(lost).toBe(1);
    await b.release();
    await a.release();
  });
});

describe('checkpoints in Redis, mirrored to a file', () => {
  it('survive a Redis flush through the file mirror', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pb-cp-')), 'checkpoints.json');
    const store = new RedisCheckpointStore({
      redis,
      prefix,
      chain: 'evm-1',
      mirror: new CheckpointFile(file),
    });
    expect(await store.load()).toBeNull();
    await store.save({ blockNumber: 41n, blockHash: `0x${'ab'.repeat(32)}` });
    await store.save({ blockNumber: 42n, blockHash: `0x${'cd'.repeat(32)}` });
    expect(await store.load()).toEqual({ blockNumber: 42n, blockHash: `0x${'cd'.repeat(32)}` });
    await redis.del(`${prefix}:checkpoint:evm-1`);
    const reopened = new RedisCheckpointStore({
      redis,
      prefix,
      chain: 'evm-1',
      mirror: new CheckpointFile(file),
    });
    expect(await reopened.load()).toEqual({ blockNumber: 42n, blockHash: `0x${'cd'.repeat(32)}` });
    const mirror = new CheckpointFile(file);
    mirror.update('evm-1', { lowWater: 17 });
    expect(new CheckpointFile(file).get('evm-1')).toMatchObject({
      lowWater: 17,
      checkpoint: { blockNumber: '42' },
    });
  });
});

describe('journeys', () => {
  it('record stages in order and list by state, origin and contract', async () => {
    const journeys = new JourneyStore({ redis, prefix });
    const contract = `0x${'11'.repeat(32)}`;
    await journeys.record(
      'evm-1-0xaa',
      { stage: 'observed', chain: 'evm-1', blockNumber: 5 },
      { origin: 'evm-1', contractId: contract },
    );
    await journeys.record('evm-1-0xaa', { stage: 'queued' });
    await journeys.record('evm-1-0xaa', { stage: 'submitted', chain: 'evm-1', txHash: '0xfeed' });
    await journeys.record(
      'phala-0xbb',
      { stage: 'observed' },
      { origin: 'phala', contractId: `0x${'22'.repeat(32)}` },
    );
    const entries = await journeys.entries('evm-1-0xaa');
    expect(entries.map((e) => e.stage)).toEqual(['observed', 'queued', 'submitted']);
    expect(entries[2]).toMatchObject({ txHash: '0xfeed', chain: 'evm-1' });
    expect((await journeys.list({ state: 'submitted' })).map((s) => s.jobId)).toEqual(['evm-1-0xaa']);
    expect((await journeys.list({ origin: 'phala' })).map((s) => s.jobId)).toEqual(['phala-0xbb']);
    expect(
      (await journeys.list({ contractId: contract.toUpperCase().replace('0X', '0x') })).map((s) => s.jobId),
    ).toEqual(['evm-1-0xaa']);
    await journeys.record('evm-1-0xaa', { stage: 'confirmed' });
    expect(await redis.ttl(`${prefix}:journey:evm-1-0xaa`)).toBeGreaterThan(0);
    expect(await redis.ttl(`${prefix}:journey-meta:evm-1-0xaa`)).toBeGreaterThan(0);
    expect(await journeys.summary('evm-1-0xaa')).toMatchObject({ state: 'confirmed', origin: 'evm-1' });
    // Observed again (a dropped job queued anew): kept until it ends again.
    await journeys.record('evm-1-0xaa', { stage: 'observed' });
    expect(await redis.ttl(`${prefix}:journey:evm-1-0xaa`)).toBe(-1);
    expect(await redis.ttl(`${prefix}:journey-meta:evm-1-0xaa`)).toBe(-1);
    expect((await journeys.entries('evm-1-0xaa')).map((e) => e.stage)).toEqual([
      'observed',
      'queued',
      'submitted',
      'confirmed',
      'observed',
    ]);
  });

  it('reads a journey in time order, whatever order its stages were written in; a stage read after the fact keeps the later state', async () => {
    const journeys = new JourneyStore({ redis, prefix });
    const meta = { origin: 'evm-1', contractId: `0x${'33'.repeat(32)}` };
    // A worker took the job (its event's time) before the relayer's write of the start landed.
    await journeys.record('evm-1-0xdd', { stage: 'dispatched', at: 2_000 });
    expect(
      await journeys.start(
        'evm-1-0xdd',
        [
          { stage: 'observed', at: 1_000 },
          { stage: 'queued', at: 1_000 },
        ],
        meta,
      ),
    ).toBe(true);
    // The start, written last, keeps the later stage's state and adds what it knows.
    expect(await journeys.summary('evm-1-0xdd')).toMatchObject({
      state: 'dispatched',
      updatedAt: 2_000,
      origin: 'evm-1',
    });
    await journeys.record('evm-1-0xdd', { stage: 'result', at: 3_000 });
    await journeys.record('evm-1-0xdd', { stage: 'confirmed', at: 5_000 });
    // Read after the fact (ifLatest): joins the timeline, and the journey stays confirmed.
    await journeys.record('evm-1-0xdd', { stage: 'dispatched', at: 4_000 }, undefined, { ifLatest: true });
    const entries = await journeys.entries('evm-1-0xdd');
    expect(entries.map((e) => [e.stage, e.at])).toEqual([
      ['observed', 1_000],
      ['queued', 1_000],
      ['dispatched', 2_000],
      ['result', 3_000],
      ['dispatched', 4_000],
      ['confirmed', 5_000],
    ]);
    expect(await journeys.summary('evm-1-0xdd')).toMatchObject({ state: 'confirmed', updatedAt: 5_000 });
    // One that is the latest moves the state as any record does.
    await journeys.record('evm-1-0xdd', { stage: 'retry', at: 6_000 }, undefined, { ifLatest: true });
    expect(await journeys.summary('evm-1-0xdd')).toMatchObject({ state: 'retry', updatedAt: 6_000 });
  });

  it("records on a fresh auto-pipelining connection in the same tick as another command (the daemon's records connection)", async () => {
    // Before the store defined its script up front, the first record joined an auto-pipeline opened
    // without it, and ioredis crashed the process on that pipeline's reply (redis/ioredis#1931).
    const records = new Redis(REDIS_URL, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    try {
      const journeys = new JourneyStore({ redis: records, prefix });
      const other = records.get(`${prefix}:unrelated`);
      await journeys.record(
        'evm-1-0xcc',
        { stage: 'observed' },
        { origin: 'evm-1', contractId: `0x${'33'.repeat(32)}` },
      );
      expect(await other).toBeNull();
      expect((await journeys.entries('evm-1-0xcc')).map((e) => e.stage)).toEqual(['observed']);
    } finally {
      records.disconnect();
    }
  });
});

describe('journeys written together', () => {
  it('writes the records asked for in one turn with one script call, each in order with its own expiry rule', async () => {
    const records = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const journeys = new JourneyStore({ redis: records, prefix });
    // One record first, so the script is cached and each write below is one EVALSHA.
    await journeys.record('batch-warm', { stage: 'queued' });
    const monitor = await new Redis(REDIS_URL).monitor();
    const calls: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^eval(sha)?$/i.test(args[0] ?? '') && args.some((a) => a.includes(`${prefix}:journey:batch-`)))
        calls.push(args);
    });
    try {
      const meta = { origin: 'evm-1', contractId: `0x${'44'.repeat(32)}` };
      await Promise.all(
        ['a', 'b', 'c'].map((n) => journeys.record(`batch-${n}`, { stage: 'observed' }, meta)),
      );
      // One turn: two stages of one request (their order kept), another's end, a third's retry.
      await Promise.all([
        journeys.record('batch-a', { stage: 'result', worker: '0x01' }),
        journeys.record('batch-a', { stage: 'submitted', txHash: '0xab' }),
        journeys.record('batch-b', { stage: 'confirmed', txHash: '0xcd' }),
        journeys.record('batch-c', { stage: 'retry', detail: 'sent back to the workers' }),
      ]);
      // MONITOR reports what the server ran; give its stream a moment to catch up.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(calls).toHaveLength(2);
      // The second call's keys: the index, then entries and meta of each of the four records.
      expect(calls[1]![2]).toBe('9');
      expect((await journeys.entries('batch-a')).map((e) => e.stage)).toEqual([
        'observed',
        'result',
        'submitted',
      ]);
      expect(await journeys.summary('batch-a')).toMatchObject({ state: 'submitted', origin: 'evm-1' });
      expect(await journeys.summary('batch-b')).toMatchObject({ state: 'confirmed' });
      expect(await journeys.summary('batch-c')).toMatchObject({ state: 'retry' });
      expect(await redis.ttl(`${prefix}:journey:batch-a`)).toBe(-1);
      expect(await redis.ttl(`${prefix}:journey-meta:batch-b`)).toBeGreaterThan(0);
      expect(await redis.ttl(`${prefix}:journey:batch-c`)).toBe(-1);
    } finally {
      monitor.disconnect();
      records.disconnect();
    }
  });

  it('rejects only the record Redis refused; the others of its call are written, and the next turn goes', async () => {
    const records = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    try {
      const journeys = new JourneyStore({ redis: records, prefix });
      // A journey's entries key holding a string: RPUSH on it fails.
      await redis.set(`${prefix}:journey:broken`, 'not a list');
      const results = await Promise.allSettled([
        journeys.record('fine-0', { stage: 'queued' }),
        journeys.record('broken', { stage: 'queued' }),
        journeys.record('fine-1', { stage: 'queued' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const refused = (results[1] as PromiseRejectedResult).reason;
      expect(refused).toBeInstanceOf(JourneyWriteError);
      expect(refused.details).toMatch(/WRONGTYPE/);
      for (const id of ['fine-0', 'fine-1'])
        expect((await journeys.entries(id)).map((e) => e.stage)).toEqual(['queued']);
      await journeys.record('fine-2', { stage: 'queued' });
      expect((await journeys.entries('fine-2')).map((e) => e.stage)).toEqual(['queued']);
    } finally {
      records.disconnect();
    }
  });
});

describe('backoff schedule', () => {
  it('follows the schedule, repeats its last step, jitters ±10 % and respects deadlines', () => {
    const schedule = [1_000, 60_000, 3_600_000];
    expect(backoffDelay(schedule, 1, () => 0.5)).toBe(1_000);
    expect(backoffDelay(schedule, 2, () => 0.5)).toBe(60_000);
    expect(backoffDelay(schedule, 9, () => 0.5)).toBe(3_600_000);
    expect(backoffDelay(schedule, 1, () => 0)).toBe(900);
    expect(backoffDelay(schedule, 1, () => 1)).toBe(1_100);
    expect(retryFitsDeadline(1_000, 500, 999_000)).toBe(true);
    expect(retryFitsDeadline(1_000, 1_500, 999_000)).toBe(false);
  });
});

import { type Job, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { requestJobId } from '../../src/protocol/origin.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { createRelayerMetrics } from '../../src/relayer/metrics.js';
import { PendingIndex } from '../../src/relayer/pending.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { ObserveStage } from '../../src/relayer/stages/observe.js';
import { redisTestKit } from '../helpers/redis.js';

// The observe stage on a real Redis: what a watcher reports becomes one job and one journey
// start per request, however the reports arrive (together, twice, from two relayers).

const kit = redisTestKit();
const connection = kit.connection;
const CLUSTER = `0x${'c1'.repeat(32)}` as const;
const OTHER_CLUSTER = `0x${'c2'.repeat(32)}` as const;
const GATEWAY = `0x${'ab'.repeat(20)}` as const;

afterAll(() => kit.cleanUp());

function request(n: number, options: { cluster?: `0x${string}`; deadline?: number } = {}): RequestJob {
  return {
    v: 1,
    origin: { kind: 'evm', chainId: 31337, gateway: GATEWAY },
    requestId: `0x${n.toString(16).padStart(64, '0')}`,
    contractId: `0x${'77'.repeat(32)}`,
    cluster: options.cluster ?? CLUSTER,
    requester: `0x${'11'.repeat(20)}`,
    nonce: String(n),
    sealedInput: '0x01',
    responseKey: `0x${'22'.repeat(32)}`,
    deadline: options.deadline ?? Math.floor(Date.now() / 1000) + 3600,
    observed: { chain: 'evm-a', blockNumber: 100 + n, blockHash: `0x${'33'.repeat(32)}`, at: Date.now() },
  };
}

/** One relayer's observe stage on `prefix`, with what it told the world. */
function stageOn(prefix: string) {
  const queues = new RelayerQueues(connection(), prefix);
  const records = connection(true);
  const journeys = new JourneyStore({ redis: records, prefix });
  const pending = new PendingIndex(records, prefix);
  const started: string[] = [];
  const reconsidered: string[] = [];
  const rejected: string[] = [];
  const metrics = createRelayerMetrics();
  const stage = new ObserveStage({
    queues,
    journeys,
    pending,
    metrics,
    logger: pino({ level: 'silent' }),
    onRequest: (job) => started.push(requestJobId(job.origin, job.requestId)),
    reconsider: async (job: RequestJob, _existing: Job) => {
      reconsidered.push(requestJobId(job.origin, job.requestId));
    },
  });
  const rejectedBefore = stage.rejected.bind(stage);
  stage.rejected = (chain, reason) => {
    rejected.push(reason);
    rejectedBefore(chain, reason);
  };
  return { stage, queues, journeys, pending, started, reconsidered, rejected, metrics };
}

const freshPrefix = kit.prefix;

describe('observe stage (real Redis)', () => {
  it('300 requests reported at once, 20 of them twice, over two clusters: one job and one journey start each', async () => {
    const prefix = freshPrefix('observe-burst');
    const world = stageOn(prefix);
    const jobs = Array.from({ length: 300 }, (_, i) =>
      request(i + 1, { cluster: i % 3 === 0 ? OTHER_CLUSTER : CLUSTER }),
    );
    await Promise.all([...jobs, ...jobs.slice(0, 20)].map((j) => world.stage.request(j)));

    const counts = await Promise.all(
      [CLUSTER, OTHER_CLUSTER].map((c) => world.queues.requests(c).getJobCountByTypes('waiting')),
    );
    expect(counts).toEqual([200, 100]);
    expect(world.started).toHaveLength(300);
    expect(new Set(world.started).size).toBe(300);
    expect(world.reconsidered).toEqual([]);
    expect(await world.pending.count('evm-a')).toBe(300);
    expect(await world.pending.lowWater('evm-a')).toBe(101);
    for (const job of [jobs[0]!, jobs[150]!, jobs[299]!]) {
      const id = requestJobId(job.origin, job.requestId);
      expect((await world.journeys.entries(id)).map((e) => e.stage)).toEqual(['observed', 'queued']);
      expect(await world.journeys.summary(id)).toMatchObject({ state: 'queued', origin: 'evm-31337' });
      const queued = await world.queues.requests(job.cluster).getJob(id);
      expect(queued?.data).toEqual(job);
      // The stage's defaults (attempts, keep-finished) apply to jobs added together too.
      expect(queued?.opts.attempts).toBeGreaterThan(1);
    }
    expect((await world.metrics.observed.get()).values[0]?.value).toBe(300);
  });

  it('two relayers reporting the same requests: each request starts its journey once', async () => {
    const prefix = freshPrefix('observe-two');
    const a = stageOn(prefix);
    const b = stageOn(prefix);
    const jobs = Array.from({ length: 50 }, (_, i) => request(i + 1));
    await Promise.all(jobs.flatMap((j) => [a.stage.request(j), b.stage.request(j)]));
    expect(a.started.length + b.started.length).toBe(50);
    expect(new Set([...a.started, ...b.started]).size).toBe(50);
    expect(await a.queues.requests(CLUSTER).getJobCountByTypes('waiting')).toBe(50);
    const id = requestJobId(jobs[7]!.origin, jobs[7]!.requestId);
    expect((await a.journeys.entries(id)).map((e) => e.stage)).toEqual(['observed', 'queued']);
  });

  it('a request seen again after its job finished is reconsidered; one still queued changes nothing', async () => {
    const prefix = freshPrefix('observe-again');
    const world = stageOn(prefix);
    const done = request(1);
    const waiting = request(2);
    await world.stage.request(done);
    // A worker answers the first request before the second is seen.
    const answered = new Promise<void>((resolve) => {
      const worker = new Worker(world.queues.requests(CLUSTER).name, async () => 'answered', {
        connection: connection(),
        prefix,
      });
      worker.on('completed', () => void worker.close().then(resolve));
    });
    await answered;
    await world.stage.request(waiting);
    // Its answer confirmed meanwhile: the journey ended and it left the pending index.
    const doneId = requestJobId(done.origin, done.requestId);
    await world.journeys.record(doneId, { stage: 'confirmed' });
    await world.pending.remove('evm-a', doneId);
    await Promise.all([world.stage.request(done), world.stage.request(waiting)]);
    expect(world.reconsidered).toEqual([doneId]);
    expect(world.started).toHaveLength(2);
    // Seen again, the finished one is not pending again (it would hold the low-water mark); the
    // queued one still is.
    expect(await world.pending.count('evm-a')).toBe(1);
    expect(await world.pending.lowWater('evm-a')).toBe(waiting.observed.blockNumber);
  });

  it('a malformed report is refused with its reason and the requests reported beside it are queued', async () => {
    const prefix = freshPrefix('observe-bad');
    const world = stageOn(prefix);
    const bad = { ...request(9), requestId: '0x1234' } as RequestJob;
    await Promise.all([
      world.stage.request(request(1)),
      world.stage.request(bad),
      world.stage.request(request(2)),
    ]);
    expect(world.rejected).toHaveLength(1);
    expect(world.rejected[0]).toMatch(/^request job: /);
    expect(world.started).toHaveLength(2);
  });

  it('a request whose deadline passed before it was seen ends dead, never queued', async () => {
    const prefix = freshPrefix('observe-late');
    const world = stageOn(prefix);
    const late = request(5, { deadline: Math.floor(Date.now() / 1000) - 10 });
    await world.stage.request(late);
    const id = requestJobId(late.origin, late.requestId);
    expect((await world.journeys.entries(id)).map((e) => e.stage)).toEqual(['observed', 'dead']);
    expect(await world.queues.requests(CLUSTER).getJob(id)).toBeUndefined();
    expect(await world.pending.count('evm-a')).toBe(0);
  });
});

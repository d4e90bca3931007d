import { UnrecoverableError, Worker } from 'bullmq';
import { type Logger, pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { requestJobId } from '../../src/protocol/origin.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import type { RelayerDaemon } from '../../src/relayer/daemon.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { createRelayerMetrics } from '../../src/relayer/metrics.js';
import { PendingIndex } from '../../src/relayer/pending.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { redisKey } from '../../src/relayer/redis.js';
import {
  RequestQueueFollower,
  eventsPlaceKey,
  followLeaseName,
} from '../../src/relayer/request-queue-follower.js';
import { ObserveStage } from '../../src/relayer/stages/observe.js';
import { startEvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import { redisTestKit } from '../helpers/redis.js';

// Who records a request's `dispatched` stage and its dead letter: one follower of its request
// queue at a time, reading on where the last one stopped. Real Redis, real BullMQ workers.

const kit = redisTestKit();
const connection = kit.connection;
const CLUSTER = `0x${'c3'.repeat(32)}` as const;

afterAll(() => kit.cleanUp());

function request(n: number): RequestJob {
  return {
    v: 1,
    origin: { kind: 'evm', chainId: 31337, gateway: `0x${'ab'.repeat(20)}` },
    requestId: `0x${n.toString(16).padStart(64, '0')}`,
    contractId: `0x${'77'.repeat(32)}`,
    cluster: CLUSTER,
    requester: `0x${'11'.repeat(20)}`,
    nonce: String(n),
    sealedInput: '0x01',
    responseKey: `0x${'22'.repeat(32)}`,
    deadline: Math.floor(Date.now() / 1000) + 3600,
    observed: { chain: 'evm-a', blockNumber: 100 + n, blockHash: `0x${'33'.repeat(32)}`, at: Date.now() },
  };
}

const idOf = (job: RequestJob) => requestJobId(job.origin, job.requestId);

/** A request queue on a fresh prefix, its observe stage, and followers of it made on demand. */
function world(label: string, logger: Logger) {
  const prefix = kit.prefix(label);
  const redis = connection();
  const records = connection(true);
  const queues = new RelayerQueues(redis, prefix);
  const journeys = new JourneyStore({ redis: records, prefix });
  const pending = new PendingIndex(records, prefix);
  const name = queues.requests(CLUSTER).name;
  const observe = new ObserveStage({ queues, journeys, pending, metrics: createRelayerMetrics(), logger });
  return {
    prefix,
    redis,
    queues,
    journeys,
    pending,
    name,
    observe,
    stages: async (job: RequestJob) => (await journeys.entries(idOf(job))).map((e) => e.stage),
    follower() {
      const metrics = createRelayerMetrics();
      const f = new RequestQueueFollower({
        name,
        redis,
        records,
        prefix,
        queues,
        journeys,
        pending,
        metrics,
        logger,
      });
      return { f, metrics };
    },
  };
}

describe('RequestQueueFollower', { timeout: 60_000 }, () => {
  it('records dispatched and dead letters once, and its successor reads on where it stopped', async () => {
    const { prefix, queues, journeys, pending, observe, stages, follower } = world(
      'follow',
      pino({ level: 'silent' }),
    );
    // A worker that answers every request but the one whose nonce is 3, which it refuses for good.
    const worker = new Worker(
      queues.requests(CLUSTER).name,
      async (job) => {
        if ((job.data as RequestJob).nonce === '3') throw new UnrecoverableError('input unreadable');
        return 'answered';
      },
      { connection: connection(), prefix },
    );
    try {
      const [one, two, three] = [request(1), request(2), request(3)];
      await observe.request(one);
      const a = follower();
      // From the first job's events on: the worker may have taken it before the follower started.
      await a.f.start(idOf(one));
      await waitFor(async () => (await stages(one)).includes('dispatched'), 20_000, 'one dispatched');
      await a.f.stop();

      // Taken and refused while nobody follows the queue.
      const before = Date.now();
      await Promise.all([observe.request(two), observe.request(three)]);
      await waitFor(
        async () => ((await queues.requests(CLUSTER).getJob(idOf(three)))?.failedReason ? true : null),
        20_000,
        'three failed',
      );
      expect(await stages(two)).toEqual(['observed', 'queued']);
      // Meanwhile the relayer's confirm stage ends two (its answer mined).
      await new Promise((r) => setTimeout(r, 5));
      await journeys.record(idOf(two), { stage: 'confirmed' });

      const b = follower();
      await b.f.start();
      await waitFor(async () => (await stages(three)).includes('dead'), 20_000, 'three dead');
      await waitFor(async () => (await stages(two)).includes('dispatched'), 20_000, 'two dispatched');
      expect(await stages(one)).toEqual(['observed', 'queued', 'dispatched']);
      // Read after the fact, two's `dispatched` joins its timeline and leaves it confirmed.
      expect(await stages(two)).toEqual(['observed', 'queued', 'dispatched', 'confirmed']);
      expect((await journeys.summary(idOf(two)))?.state).toBe('confirmed');
      expect(await stages(three)).toEqual(['observed', 'queued', 'dispatched', 'dead']);
      // Recorded at their events' times, not when the successor read them.
      const dead = (await journeys.entries(idOf(three))).find((e) => e.stage === 'dead')!;
      expect(dead.at).toBeGreaterThanOrEqual(before);
      expect(dead.detail).toBe('worker: input unreadable');
      expect((await journeys.summary(idOf(three)))?.state).toBe('dead');
      expect(await pending.count('evm-a')).toBe(2); // one and two wait for their answers
      expect((await b.metrics.completed.get()).values).toEqual([
        expect.objectContaining({ labels: { origin: 'evm', outcome: 'dead' }, value: 1 }),
      ]);
      await b.f.stop();
      // Its place is kept: a third follower reads nothing again.
      const c = follower();
      await c.f.start();
      await new Promise((r) => setTimeout(r, 500));
      await c.f.stop();
      expect(await stages(three)).toEqual(['observed', 'queued', 'dispatched', 'dead']);
      expect((await c.metrics.completed.get()).values).toEqual([]);
    } finally {
      await worker.close();
    }
  });
});

describe('RequestQueueFollower and a place it cannot trust', { timeout: 60_000 }, () => {
  it('reads as if nothing was kept over a place that is not a stream id, and never moves a further place back', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const { prefix, redis, name, observe, stages, follower } = world('follow-place', logger);
    const place = eventsPlaceKey(prefix, name);
    const worker = new Worker(name, async () => 'answered', { connection: connection(), prefix });
    try {
      // Someone with write access to Redis put something else there.
      await redis.set(place, '1-0"; DROP');
      const { f } = follower();
      const one = request(11);
      await observe.request(one);
      await f.start(idOf(one));
      expect(warnings.join('')).toContain('the kept events place is not a stream id');
      await waitFor(async () => (await stages(one)).includes('dispatched'), 20_000, 'dispatched');
      // A successor kept a place further on before this follower's late stop.
      const further = `${Date.now() + 60_000}-0`;
      await redis.set(place, further);
      await f.stop();
      expect(await redis.get(place)).toBe(further);
    } finally {
      await worker.close();
    }
  });
});

describe('two relayers on one request queue (real Hardhat node, real Redis, real enclave)', {
  timeout: 180_000,
}, () => {
  it('one follows it at a time: each request is dispatched once in its journey, also across a hand-over', async () => {
    const f = await startEvmRelayFixture();
    let worker: ReturnType<typeof f.startTestWorker> | undefined;
    const daemons: RelayerDaemon[] = [];
    const lease = (name: string) => f.redis.get(redisKey(f.prefix, 'lease', name));
    try {
      const a = f.startRelayer();
      daemons.push(a);
      await a.start();
      await waitFor(async () => (await lease('watch:hardhat')) !== null, 20_000, 'A watching');
      // B starts before the request queue exists: it learns of it from the registry, not a scan.
      const b = f.startRelayer();
      daemons.push(b);
      await b.start();
      const events = followLeaseName(b.queues.requests(f.cluster).name);
      // Started last: a worker on the queue makes its keys, and B would find them by a scan.
      worker = f.startTestWorker();
      const ids: `0x${string}`[] = [];
      for (let i = 0; i < 5; i++) ids.push(await f.request(`both ${i}`));
      await waitFor(async () => (await f.received()) === 5n, 60_000, 'answered with both running');
      // A leaves (its leases go with it). B takes the queue's events lease with no request to
      // tell it of the queue, and then watches, submits and follows it from A's place.
      await a.stop();
      await waitFor(async () => (await lease(events)) !== null, 20_000, 'B following the queue');
      for (let i = 0; i < 3; i++) ids.push(await f.request(`after ${i}`));
      await waitFor(async () => (await f.received()) === 8n, 90_000, 'answered after the hand-over');
      for (const requestId of ids) {
        const jobId = requestJobId(f.origin, requestId);
        const journey = await waitFor(
          async () => {
            const stages = (await b.journeys.entries(jobId)).map((e) => e.stage);
            return stages.includes('confirmed') && stages.includes('dispatched') ? stages : null;
          },
          20_000,
          `journey of ${jobId}`,
        );
        expect(
          journey.filter((s) => s === 'dispatched'),
          `${jobId}: ${journey.join(' ')}`,
        ).toHaveLength(1);
        // In time order, whichever process wrote each stage (the list itself may hold
        // `dispatched` before the start that a slower write recorded).
        const main = ['observed', 'queued', 'dispatched', 'result', 'submitted', 'confirmed'];
        expect(journey.filter((s) => main.includes(s))).toEqual(main);
      }
    } finally {
      await worker?.close();
      for (const d of daemons) await d.stop();
      await f.close();
    }
  });
});

/**
 * Faults while a fulfil transaction is in flight: sent by the relayer, not yet mined. The node
 * stops mining (Hardhat `evm_setAutomine false`) so that the window is real and held open for as
 * long as the scenario needs: the relayer's transaction is seen in the pool, then the fault, then
 * mining resumes.
 */
import type { Hex } from 'viem';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { requestJobId } from '../../src/protocol/origin.js';
import { type EvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import {
  type Relayer,
  type Scenario,
  allAnswered,
  deliveredCount,
  journeyOf,
  minedFulfils,
  relayerUp,
  sleep,
  spawnRelayer,
  stream,
  trace,
  waitForPooledFulfils,
} from './harness.js';

/** Starts a relayer and sends one request through it with mining on: the pipeline is warm. */
async function warmRelayer(f: EvmRelayFixture, name: string): Promise<{ relayer: Relayer; warm: Hex[] }> {
  const relayer = await spawnRelayer(f, name);
  await relayerUp(relayer);
  trace(`relayer ${name} up`);
  const warm = await stream(f, 1, 0);
  if (!(await allAnswered(f, warm, 60_000))) throw new Error('the warm-up request was not answered');
  trace('warm-up request answered');
  return { relayer, warm };
}

/** Sends `deadlines.length` requests with mining off, then mines them in one block; returns their ids. */
async function requestsInOneBlock(f: EvmRelayFixture, deadlines: number[]): Promise<Hex[]> {
  const hashes: Hex[] = [];
  for (const [i, seconds] of deadlines.entries())
    hashes.push(await f.sendRequest(`in flight ${i} ${Date.now()}`, seconds));
  await f.mine();
  return f.requestIdsOf(hashes);
}

/** Mining back on, and what the pool holds mined now. */
async function resumeMining(f: EvmRelayFixture): Promise<void> {
  await f.setAutomine(true);
  await f.mine();
}

export const inFlightScenarios: Scenario[] = [
  {
    name: 'relayer SIGKILLed with its fulfil transaction unmined, restarted before it is mined: nothing lost or re-sent',
    run: async (f) => {
      const fromBlock = await f.devnet.clients.publicClient.getBlockNumber();
      const started = await warmRelayer(f, 'unmined-1');
      const warm = started.warm;
      let relayer = started.relayer;
      await f.setAutomine(false);
      let ids: Hex[] = [];
      try {
        ids = await requestsInOneBlock(f, [3600, 3600, 3600, 3600, 3600, 3600]);
        await waitForPooledFulfils(f, ids);
        trace('fulfil transactions in the pool');
        await relayer.stop('SIGKILL');
        relayer = await spawnRelayer(f, 'unmined-2');
        await relayerUp(relayer);
        trace('restarted relayer up');
        // The restarted relayer meets its predecessor's transaction still unmined, past the 3 s
        // after which it may rebroadcast or replace it (same nonce): it must not send it anew.
        await sleep(5_000);
      } finally {
        await resumeMining(f);
      }
      const all = [...warm, ...ids];
      await allAnswered(f, all);
      trace('all answered');
      // Whatever the restart would send again goes out now: give it the time to show.
      await sleep(3_000);
      const { resent } = await minedFulfils(f, ids, fromBlock);
      await relayer.stop();
      if (resent.length)
        throw new Error(
          `${resent.length} of ${ids.length} requests re-sent: in two mined fulfil transactions`,
        );
      return all;
    },
  },
  {
    name: 'Redis flushed while a fulfil batch is unmined (after submitted, before confirmed)',
    run: async (f) => {
      const fromBlock = await f.devnet.clients.publicClient.getBlockNumber();
      const { relayer, warm } = await warmRelayer(f, 'flush-in-flight');
      await f.setAutomine(false);
      let ids: Hex[] = [];
      try {
        ids = await requestsInOneBlock(f, [3600, 3600, 3600, 3600, 3600, 3600]);
        await waitForPooledFulfils(f, ids);
        if ((await f.redis.flushdb()) !== 'OK') throw new Error('FLUSHDB refused');
        // The relayer works on an empty Redis while its transaction is still unmined.
        await sleep(3_000);
      } finally {
        await resumeMining(f);
      }
      // And it still serves new requests after the flush.
      const after = await stream(f, 4, 100);
      const all = [...warm, ...ids, ...after];
      await allAnswered(f, all);
      const { resent, transactions } = await minedFulfils(f, ids, fromBlock);
      // Sending again what was in flight is allowed here (the flush erased the record of it), but shown.
      console.log(
        `     ${transactions} fulfil transactions mined; ${resent.length} in-flight requests re-sent`,
      );
      await relayer.stop();
      return all;
    },
  },
  {
    name: 'one item of a worker batch refused by the gateway (expired before mined): the rest delivered, it dead-lettered with its code',
    // The worker signs its results as one batch, so one transaction carries all four.
    testWorker: { batch: { size: 4, windowMs: 2_000 } },
    run: async (f) => {
      const { relayer, warm } = await warmRelayer(f, 'refused-item');
      await f.setAutomine(false);
      let ids: Hex[] = [];
      try {
        // The first request's deadline is 90 s away; the chain's clock jumps 180 s before mining.
        ids = await requestsInOneBlock(f, [90, 3600, 3600, 3600]);
        const pooled = await waitForPooledFulfils(f, ids);
        const together = pooled.some((tx) => ids.every((id) => tx.input.toLowerCase().includes(id.slice(2))));
        if (!together) {
          const carried = pooled.map(
            (tx) => ids.filter((id) => tx.input.toLowerCase().includes(id.slice(2))).length,
          );
          throw new Error(
            `the four results were not sent in one transaction (the pooled ones carry ${JSON.stringify(carried)}): no batch to refuse an item of`,
          );
        }
        await f.increaseTime(180);
      } finally {
        await resumeMining(f);
      }
      const [expired, ...others] = ids as [Hex, ...Hex[]];
      await allAnswered(f, others);
      const client = f.devnet.clients.publicClient;
      if ((await deliveredCount(f, [expired])) !== 0) throw new Error('the expired request was delivered');
      if (!(await isRequestPending(client, { gateway: f.devnet.gateway, requestId: expired })))
        throw new Error('the expired request is no longer pending: something else answered it');
      const jobId = requestJobId(f.origin, expired);
      const journey = await waitFor(
        async () => {
          const j = await journeyOf(relayer, jobId);
          return j?.state === 'dead' ? j : null;
        },
        30_000,
        `the expired request's journey ending 'dead'`,
      ).catch(async (e: Error) => {
        const j = await journeyOf(relayer, jobId).catch(() => null);
        throw new Error(`${e.message}; it is ${JSON.stringify(j?.journey.map((s) => [s.stage, s.detail]))}`);
      });
      const dead = journey.journey.findLast((s) => s.stage === 'dead');
      if (!dead?.detail?.includes('Expired'))
        throw new Error(`dead-lettered without the gateway's code: ${JSON.stringify(dead)}`);
      await relayer.stop();
      return { ids: [...warm, ...others], refused: [expired] };
    },
  },
];

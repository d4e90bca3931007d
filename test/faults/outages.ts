/**
 * Faults of the chains' RPC: a node that stops answering for a while, and one origin chain
 * dead while another keeps working in the same relayer.
 */
import type { Hex } from 'viem';
import { toHex } from '../../src/base/bytes.js';
import { type EvmRelayFixture, startEvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import {
  REDIS_URL,
  type Scenario,
  type ScenarioResult,
  allAnswered,
  cleanups,
  deliveredCount,
  readiness,
  relayerUp,
  sleep,
  spawnRelayer,
  stream,
} from './harness.js';

/** The name the second chain has in the relayer's configuration (and so in `/readyz`). */
const CHAIN_B = 'hardhat-b';

export const outageScenarios: Scenario[] = [
  {
    name: 'EVM node unresponsive for 10 s (its RPC holds every connection) while requests flow',
    run: async (f) => {
      const proxy = await startTcpProxy(Number(new URL(f.devnet.node.rpcUrl).port));
      cleanups.push(() => proxy.close());
      const relayer = await spawnRelayer(f, 'frozen-node', { rpcUrl: proxy.url });
      await relayerUp(relayer);
      const ids: Hex[] = [];
      let pausedAt = 0;
      for (let i = 0; i < 16; i++) {
        if (i === 4) {
          proxy.pause();
          pausedAt = Date.now();
        }
        // Requests keep coming meanwhile (straight to the node); the relayer sees none of them.
        if (i === 12) {
          await sleep(Math.max(0, pausedAt + 10_000 - Date.now()));
          const seen = await deliveredCount(f, ids.slice(4));
          proxy.resume();
          if (seen > 0)
            throw new Error(
              `${seen} requests made during the freeze were answered: the relayer was not cut off`,
            );
        }
        ids.push(await f.request(`frozen ${i} ${Date.now()}`));
        await sleep(150);
      }
      await allAnswered(f, ids);
      await relayer.stop();
      return ids;
    },
  },
  {
    name: 'one origin chain RPC dead for 30 s: the other chain fulfilled meanwhile, /readyz names the dead one',
    run: async (f): Promise<ScenarioResult> => {
      // A second chain in the same relayer: its own Hardhat node and gateway, its own worker cluster.
      const b: EvmRelayFixture = await startEvmRelayFixture({
        redisUrl: REDIS_URL,
        prefix: f.prefix,
        cluster: toHex(new Uint8Array(32).fill(0x22)),
        chainId: f.devnet.node.chainId + 1,
      });
      cleanups.push(() => b.close());
      const workerB = b.startTestWorker();
      cleanups.push(() => workerB.close());
      const proxy = await startTcpProxy(Number(new URL(b.devnet.node.rpcUrl).port));
      cleanups.push(() => proxy.close());
      const relayer = await spawnRelayer(f, 'two-chains', {}, (raw) => {
        const [chainB] = b.rawConfig({ rpcUrl: proxy.url }).chains;
        return { ...raw, chains: [...raw.chains, { ...chainB!, name: CHAIN_B }] };
      });
      await relayerUp(relayer);
      const [warmA, warmB] = await Promise.all([stream(f, 1, 0), stream(b, 1, 0)]);
      if (!(await allAnswered(f, warmA, 60_000)) || !(await allAnswered(b, warmB, 60_000)))
        throw new Error('the warm-up requests were not answered on both chains');

      proxy.drop();
      const deadUntil = Date.now() + 30_000;
      // Requests on the dead chain are made on its node directly: only the relayer is cut off.
      const idsB = await stream(b, 3, 200);
      const idsA = await stream(f, 6, 200);
      const during = await allAnswered(f, idsA, Math.max(1_000, deadUntil - 8_000 - Date.now()));
      const ready = await waitFor(
        async () => {
          const r = await readiness(relayer).catch(() => null);
          return r && Object.entries(r.checks).some(([name, c]) => name.includes(CHAIN_B) && !c.ok)
            ? r
            : null;
        },
        Math.max(1_000, deadUntil - 2_000 - Date.now()),
        `/readyz naming ${CHAIN_B} as failing`,
      ).catch(() => null);
      const stillDead = Date.now() < deadUntil;
      await sleep(Math.max(0, deadUntil - Date.now()));
      proxy.restore();
      if (!during) throw new Error(`chain A's requests were not fulfilled while ${CHAIN_B} was dead`);
      if (!stillDead) throw new Error('the checks ran past the 30 s outage: the scenario proved nothing');
      if (!ready) throw new Error(`/readyz did not name ${CHAIN_B} while its RPC was dead`);
      if (ready.status !== 503) throw new Error(`/readyz answered ${ready.status} with a chain dead`);
      const wrongly = Object.entries(ready.checks).filter(([name, c]) => !name.includes(CHAIN_B) && !c.ok);
      if (wrongly.some(([name]) => name.includes('hardhat')))
        throw new Error(`/readyz failed the live chain too: ${JSON.stringify(wrongly)}`);
      // Back: the dead chain's requests, made while it was away, are fulfilled now.
      await allAnswered(b, [...warmB, ...idsB]);
      await relayer.stop();
      return {
        ids: [...warmA, ...idsA],
        elsewhere: [{ f: b, ids: [...warmB, ...idsB], fromBlock: 0n }],
      };
    },
  },
];

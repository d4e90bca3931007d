/**
 * The relayer on a real Redis Cluster (3 masters on loopback ports, test/helpers/redis-cluster.ts),
 * reached through `redis.clusterNodes` with a plain prefix, so that queues and keys spread over the
 * masters by their own hash tags.
 */
import { Redis } from 'ioredis';
import { startEvmRelayFixture } from '../helpers/evm-relay.js';
import { uniquePrefix } from '../helpers/redis.js';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-cluster.js';
import { type Scenario, allAnswered, cleanups, relayerUp, spawnRelayer, stream, trace } from './harness.js';

let cluster: RedisClusterHandle | undefined;

/** How many of the cluster's masters hold keys of the deployment. */
async function mastersHolding(handle: RedisClusterHandle, prefix: string): Promise<number> {
  let holding = 0;
  for (const node of handle.nodes) {
    const redis = new Redis({ host: node.host, port: node.port, lazyConnect: true });
    try {
      const [, keys] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000);
      if (keys.length > 0) holding++;
    } finally {
      redis.disconnect();
    }
  }
  return holding;
}

export const clusterScenarios: Scenario[] = [
  {
    name: 'relayer SIGKILLed while two relayers run on a real 3-master Redis Cluster',
    // The in-process test worker, on the cluster too.
    testWorker: {},
    start: async () => {
      cluster = await startRedisCluster(3);
      trace('cluster up');
      const handle = cluster;
      try {
        const f = await startEvmRelayFixture({
          redisCluster: { nodes: handle.nodes },
          prefix: uniquePrefix('faults-cluster'),
        });
        // After the fixture's own close: the cluster goes last.
        cleanups.push(() => handle.stop());
        return f;
      } catch (error) {
        await handle.stop();
        throw error;
      }
    },
    run: async (f) => {
      const a = await spawnRelayer(f, 'cluster-a');
      const b = await spawnRelayer(f, 'cluster-b');
      await Promise.all([relayerUp(a), relayerUp(b)]);
      trace('both up');
      let a2: typeof a | undefined;
      const ids = await stream(f, 16, 100, async (i) => {
        if (i === 6) {
          await a.stop('SIGKILL');
          a2 = await spawnRelayer(f, 'cluster-a2');
        }
      });
      trace('streamed');
      await allAnswered(f, ids);
      trace('answered');
      const masters = cluster ? await mastersHolding(cluster, f.prefix) : 0;
      console.log(`     the deployment's keys sit on ${masters} of 3 masters`);
      await Promise.all([a2?.stop(), b.stop()]);
      return ids;
    },
  },
];

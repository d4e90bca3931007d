import { join } from 'node:path';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../base/bytes.js';
import type { XcmTopology } from '../xcm/tracker/topology.js';
import type { ChainLogger } from './substrate/chain/chain.js';
import { type DevNode, startDevNode } from './substrate/node.js';
import {
  PHALA_PARA_ID,
  SIBLING_PARA_ID,
  phalaXcmChainSpec,
  siblingChainSpec,
} from './xcm/chains/parachains.js';
import { relayChainSpec } from './xcm/chains/relay.js';
import { RelayRouter } from './xcm/router.js';

/**
 * The relay devnet: a relay chain, the Phala-style parachain (2035) and a sibling parachain
 * (2000), each a dev node on its own RPC port, wired by a router that carries UMP, DMP and HRMP
 * messages at block boundaries.
 *
 *   const devnet = await startRelayDevnet();
 *   const api = await ApiPromise.create({ provider: new WsProvider(devnet.sibling.wsUrl) });
 *   ...
 *   await devnet.stop();
 */

export type RelayDevnetChain = {
  /** `relay`, `phala` or `sibling` (the names the XCM tracker's topology uses). */
  name: 'relay' | 'phala' | 'sibling';
  wsUrl: string;
  httpUrl: string;
  /** Null for the relay chain. */
  paraId: number | null;
  genesisHash: Hex;
  node: DevNode;
};

export type RelayDevnet = {
  relay: RelayDevnetChain;
  phala: RelayDevnetChain;
  sibling: RelayDevnetChain;
  /** For the XCM tracker: `{ relay: {}, phala: { paraId: 2035 }, sibling: { paraId: 2000 } }`. */
  topology: XcmTopology;
  router: RelayRouter;
  stop(): Promise<void>;
};

export type StartRelayDevnetParameters = {
  /** Each chain keeps its blocks in `<dataDir>/<name>` and survives a restart. */
  dataDir?: string;
  host?: string;
  /** Fixed RPC ports (default: free ports). */
  ports?: Partial<Record<'relay' | 'phala' | 'sibling', number>>;
  /** Block time in ms for all three; default: a block when there is something to put in one. */
  blockTime?: number;
  finalityLag?: number;
  /** Serve the dev_* RPC methods on all three nodes (off by default). */
  dev?: boolean;
  logger?: ChainLogger;
};

export async function startRelayDevnet(p: StartRelayDevnetParameters = {}): Promise<RelayDevnet> {
  const started: DevNode[] = [];
  const start = async (
    name: RelayDevnetChain['name'],
    paraId: number | null,
    spec: Parameters<typeof startDevNode>[0]['chain'],
  ): Promise<RelayDevnetChain> => {
    const node = await startDevNode({
      chain: spec,
      host: p.host,
      rpcPort: p.ports?.[name] ?? 0,
      dataDir: p.dataDir ? join(p.dataDir, name) : undefined,
      blockTime: p.blockTime,
      finalityLag: p.finalityLag,
      dev: p.dev,
      logger: p.logger,
    });
    started.push(node);
    return {
      name,
      wsUrl: node.wsUrl,
      httpUrl: node.httpUrl,
      paraId,
      genesisHash: u8aToHex(node.chain.genesisHash) as Hex,
      node,
    };
  };
  try {
    const relay = await start(
      'relay',
      null,
      await relayChainSpec({ paras: [SIBLING_PARA_ID, PHALA_PARA_ID] }),
    );
    const phala = await start(
      'phala',
      PHALA_PARA_ID,
      await phalaXcmChainSpec({ siblingParaId: SIBLING_PARA_ID }),
    );
    const sibling = await start(
      'sibling',
      SIBLING_PARA_ID,
      await siblingChainSpec({ paraId: SIBLING_PARA_ID, phalaGenesisHash: phala.node.chain.genesisHash }),
    );
    const router = new RelayRouter(
      relay.node.chain,
      [
        { paraId: SIBLING_PARA_ID, chain: sibling.node.chain },
        { paraId: PHALA_PARA_ID, chain: phala.node.chain },
      ],
      p.logger ?? { info() {}, warn() {}, error() {} },
    );
    router.start();
    return {
      relay,
      phala,
      sibling,
      topology: { relay: {}, phala: { paraId: PHALA_PARA_ID }, sibling: { paraId: SIBLING_PARA_ID } },
      router,
      async stop() {
        router.stop();
        await Promise.allSettled(started.map((node) => node.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((node) => node.stop()));
    throw error;
  }
}

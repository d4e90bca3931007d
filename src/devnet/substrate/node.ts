import { BaseError, type Retry } from '../../base/errors.js';
import { type BlockProduction, type ChainLogger, type ChainSpec, DevChain } from './chain/chain.js';
import type { GrandpaSetInfo } from './chain/grandpa.js';
import { type PhalaChainOptions, phalaChainSpec } from './chains/phala.js';
import { type RpcServer, type RpcServerOptions, startRpcServer } from './rpc/server.js';

/**
 * One dev node: a chain and its RPC server on 127.0.0.1. What tests and the CLI start.
 *
 *   const node = await startDevNode({ chain: 'phala' });
 *   const api = await ApiPromise.create({ provider: new WsProvider(node.wsUrl) });
 *   ...
 *   await node.stop();
 */

export type ChainName = 'phala';

export type StartDevNodeParameters = {
  /** A known chain, or a chain spec composed elsewhere (the XCM devnet's relay and sibling). */
  chain: ChainName | ChainSpec;
  phala?: PhalaChainOptions;
  /** 0 (default) picks a free port. */
  rpcPort?: number;
  host?: string;
  dataDir?: string;
  /** Block time in ms; 0 or undefined means a block as soon as a transaction arrives. */
  blockTime?: number;
  /** `manual`: blocks only on `dev_newBlock` / `chain.produceBlock()`. */
  manualSeal?: boolean;
  finalityLag?: number;
  /** Delay before a block's finality is applied (default 100 ms; see DevChainOptions). */
  finalityDelayMs?: number;
  /** Keep the state of this many recent blocks (default: all). */
  stateHistory?: number;
  /** GRANDPA authorities as ed25519 secret URIs (default `['//Alice']`); see DevChainOptions. */
  grandpaAuthorities?: readonly string[];
  logger?: ChainLogger;
  /**
   * Serve the dev_* RPC methods (dev_newBlock, dev_timeTravel, dev_setFinalityLag). Off by
   * default: `phala-bridge node --dev`, and the devnets that want them, turn them on.
   */
  dev?: boolean;
  /** RPC server limits (see rpc/limits.ts; defaults as polkadot-sdk's node where it has them). */
  rpc?: Omit<RpcServerOptions, 'port' | 'host' | 'logger' | 'dev'>;
};

export type DevNode = {
  readonly chain: DevChain;
  readonly server: RpcServer;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly port: number;
  /** What a light client pins: genesis hash, GRANDPA set id and [authority, weight] list. */
  readonly grandpa: GrandpaSetInfo;
  stop(): Promise<void>;
};

export class DevNodeError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'DevNodeError';
}

export async function startDevNode(parameters: StartDevNodeParameters): Promise<DevNode> {
  const spec =
    typeof parameters.chain === 'string' ? await knownChain(parameters.chain, parameters) : parameters.chain;
  const production: BlockProduction = parameters.manualSeal
    ? { mode: 'manual' }
    : parameters.blockTime && parameters.blockTime > 0
      ? { mode: 'interval', intervalMs: parameters.blockTime }
      : { mode: 'instant' };
  const chain = await DevChain.start({
    spec,
    production,
    finalityLag: parameters.finalityLag ?? 0,
    finalityDelayMs: parameters.finalityDelayMs,
    stateHistory: parameters.stateHistory,
    grandpaAuthorities: parameters.grandpaAuthorities,
    dataDir: parameters.dataDir,
    logger: parameters.logger,
  });
  let server: RpcServer;
  try {
    server = await startRpcServer(chain, {
      ...parameters.rpc,
      dev: parameters.dev ?? false,
      host: parameters.host,
      port: parameters.rpcPort ?? 0,
      logger: parameters.logger,
    });
  } catch (error) {
    await chain.stop();
    throw new DevNodeError(`cannot listen on ${parameters.host ?? '127.0.0.1'}:${parameters.rpcPort ?? 0}`, {
      cause: error,
    });
  }
  return {
    chain,
    server,
    wsUrl: server.wsUrl,
    httpUrl: server.httpUrl,
    port: server.port,
    grandpa: chain.grandpa,
    async stop() {
      await server.close();
      await chain.stop();
    },
  };
}

async function knownChain(name: ChainName, parameters: StartDevNodeParameters): Promise<ChainSpec> {
  switch (name) {
    case 'phala':
      return phalaChainSpec(parameters.phala);
    default:
      throw new DevNodeError(`unknown chain ${String(name)}`, { details: 'known chains: phala' });
  }
}

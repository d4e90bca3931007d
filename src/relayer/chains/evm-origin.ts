import type { Logger } from 'pino';
import { type Address, type Client, type Hex, createPublicClient, http } from 'viem';
import { getBlock, getTransaction } from 'viem/actions';
import { MemoryCheckpointStore } from '../../base/checkpoint.js';
import { errorMessage } from '../../base/errors.js';
import type { EvmChainConfig } from '../../config/schema.js';
import { GatewayWatcher } from '../../evm/watcher/watcher.js';
import type { GatewayLogEvent } from '../../evm/gateway/events.js';
import { getContractInfo, isRequestPending } from '../../evm/gateway/read.js';
import type { Origin } from '../../protocol/origin.js';
import { encodeEvmLog } from '../tape/entries.js';
import type { RecordedTransaction } from '../tape/recorder.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { RedisCheckpointStore } from '../checkpoints.js';
import type { RelayerMetrics } from '../metrics.js';
import type { RedisConnection } from '../redis.js';
import type { OriginWatcher, WatchSink } from '../ports.js';

/**
 * The relayer's view of one EVM chain with a PhalaBridgeGateway: a watcher turning gateway
 * events into the pipeline's calls, and a destination posting fulfillments there.
 */
export type EvmChainParameters = {
  config: EvmChainConfig;
  client?: Client;
  redis: RedisConnection;
  keyPrefix: string;
  checkpoints: RedisCheckpointStore;
  logger: Logger;
  metrics: RelayerMetrics;
};

export function evmOrigin(config: EvmChainConfig): Extract<Origin, { kind: 'evm' }> {
  return { kind: 'evm', chainId: config.chainId, gateway: config.gateway as Address };
}

export function evmClient(config: EvmChainConfig): Client {
  const batch = config.rpcBatchSize > 0 ? { batch: { batchSize: config.rpcBatchSize, wait: 0 } } : {};
  return createPublicClient({ transport: http(config.rpcUrl, { retryCount: 2, timeout: 15_000, ...batch }) });
}

/** Clusters of contracts, read from the gateway's registrations once each. */
class ContractClusters {
  readonly #cache = new Map<string, Hex>();
  constructor(
    readonly client: Client,
    readonly gateway: Address,
  ) {}
  async of(contractId: Hex): Promise<Hex | null> {
    const key = contractId.toLowerCase();
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const info = await getContractInfo(this.client, { gateway: this.gateway, contractId });
    if (!info.registered) return null;
    this.#cache.set(key, info.cluster);
    return info.cluster;
  }
}

export class EvmOriginWatcher implements OriginWatcher {
  readonly chain: string;
  readonly #p: EvmChainParameters;
  readonly #client: Client;
  readonly #origin: Extract<Origin, { kind: 'evm' }>;
  readonly #clusters: ContractClusters;
  #watcher: GatewayWatcher | undefined;

  constructor(parameters: EvmChainParameters) {
    this.#p = parameters;
    this.chain = parameters.config.name;
    this.#client = parameters.client ?? evmClient(parameters.config);
    this.#origin = evmOrigin(parameters.config);
    this.#clusters = new ContractClusters(this.#client, this.#origin.gateway);
  }

  /** The transaction behind a request log, for the tape (replay sends it again). */
  async transactionOf(hash: Hex): Promise<RecordedTransaction> {
    const tx = await getTransaction(this.#client, { hash });
    return {
      call: tx.input,
      transaction: { from: tx.from, to: tx.to ?? null, value: tx.value.toString() },
    };
  }

  #newWatcher(
    sink: WatchSink,
    checkpoints: RedisCheckpointStore | MemoryCheckpointStore,
    startBlock: bigint,
    onlyPending: boolean,
    counter?: { n: number },
  ) {
    const { config } = this.#p;
    return new GatewayWatcher({
      client: this.#client,
      chainId: config.chainId,
      gateway: this.#origin.gateway,
      checkpoints,
      startBlock,
      finality: config.confirmations === 'finalized' ? 'finalized' : { confirmations: config.confirmations },
      maxBlockRange: BigInt(config.maxBlockRange),
      onEvents: async (events) => {
        // Requests sent one after another are reported together (the observe stage writes them
        // in one go); a cancel or an answer still comes after the requests logged before it.
        for (let i = 0; i < events.length; ) {
          let end = i + 1;
          if (events[i]!.kind === 'RequestSent')
            while (end < events.length && events[end]!.kind === 'RequestSent') end++;
          await Promise.all(events.slice(i, end).map((e) => this.#handle(e, sink, onlyPending, counter)));
          i = end;
        }
      },
      onBadLog: (error) => sink.rejected(this.chain, error.shortMessage),
      onReorg: (notice) => {
        this.#p.logger.warn(
          { chain: this.chain, resumeAfter: notice.resumeAfter.toString() },
          'reorg: rewinding',
        );
        void sink.reorged(this.chain, Number(notice.resumeAfter)).catch((error: unknown) => {
          this.#p.logger.error(
            { chain: this.chain, err: errorMessage(error) },
            'could not re-check answers after a reorg',
          );
        });
      },
      onError: (error) => {
        this.#p.metrics.errors.inc({ kind: 'watch' });
        this.#p.logger.warn({ chain: this.chain, err: errorMessage(error) }, 'watch poll failed');
      },
    });
  }

  /** A RequestSent event as a job, or null (with the reason given to the sink) when it cannot be one. */
  async jobOf(
    event: Extract<GatewayLogEvent, { kind: 'RequestSent' }>,
    sink: Pick<WatchSink, 'rejected'>,
  ): Promise<RequestJob | null> {
    const cluster = await this.#clusters.of(event.contractId);
    if (!cluster) {
      sink.rejected(this.chain, `request ${event.requestId} names unregistered contract ${event.contractId}`);
      return null;
    }
    return {
      v: 1,
      origin: this.#origin,
      requestId: event.requestId,
      contractId: event.contractId,
      cluster,
      requester: event.requester.toLowerCase() as Hex,
      endUser: event.endUser.toLowerCase() as Hex,
      nonce: event.nonce.toString(),
      sealedInput: event.sealedInput,
      responseKey: event.responseKey,
      deadline: Number(event.deadline),
      callbackGasLimit: event.callbackGasLimit,
      observed: {
        chain: this.chain,
        blockNumber: Number(event.blockNumber),
        blockHash: event.blockHash,
        txHash: event.transactionHash,
        logIndex: event.logIndex,
        at: Date.now(),
      },
    };
  }

  async #handle(
    event: GatewayLogEvent,
    sink: WatchSink,
    onlyPending: boolean,
    counter?: { n: number },
  ): Promise<void> {
    switch (event.kind) {
      case 'RequestSent': {
        if (
          onlyPending &&
          !(await isRequestPending(this.#client, {
            gateway: this.#origin.gateway,
            requestId: event.requestId,
          }))
        )
          return;
        const job = await this.jobOf(event, sink);
        if (!job) return;
        await sink.request(
          job,
          event.log && {
            kind: 'evm.log',
            data: encodeEvmLog({ address: event.gateway, ...event.log }),
            index: event.logIndex,
          },
        );
        if (counter) counter.n++;
        return;
      }
      case 'RequestCancelled':
        await sink.cancelled(this.#origin, event.requestId, {
          chain: this.chain,
          txHash: event.transactionHash,
        });
        return;
      case 'RequestFulfilled':
        await sink.fulfilled(this.#origin, event.requestId, {
          chain: this.chain,
          txHash: event.transactionHash,
        });
        return;
      default:
        return;
    }
  }

  async start(sink: WatchSink): Promise<void> {
    const { config } = this.#p;
    this.#watcher = this.#newWatcher(sink, this.#p.checkpoints, BigInt(config.startBlock ?? 0), false);
    this.#watcher.start(config.pollIntervalMs);
  }

  async stop(): Promise<void> {
    await this.#watcher?.stop();
    this.#watcher = undefined;
  }

  async lag(): Promise<number> {
    const checkpoint = await this.#p.checkpoints.load();
    const head = await getBlock(this.#client, { blockTag: 'latest' });
    return Number((head.number ?? 0n) - (checkpoint?.blockNumber ?? 0n));
  }

  /** Reads the gateway from `fromBlock` up to the safe head and re-reports what is still pending. */
  async rederive(fromBlock: number, sink: WatchSink): Promise<number> {
    const counter = { n: 0 };
    const scan = this.#newWatcher(sink, new MemoryCheckpointStore(), BigInt(fromBlock), true, counter);
    await scan.poll();
    return counter.n;
  }
}

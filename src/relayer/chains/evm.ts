import type { Logger } from 'pino';
import { type Address, type Client, type Hex, createPublicClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBlock, getTransaction, getTransactionReceipt } from 'viem/actions';
import { MemoryCheckpointStore } from '../../base/checkpoint.js';
import { errorMessage } from '../../base/errors.js';
import type { EvmChainConfig } from '../../config/schema.js';
import { GatewayWatcher } from '../../evm/watcher/watcher.js';
import type { GatewayLogEvent } from '../../evm/gateway/events.js';
import {
  getContractInfo,
  getGatekeeperSet,
  isRequestPending,
  isWorkerAuthorized,
} from '../../evm/gateway/read.js';
import { submitFulfillment, submitFulfillmentBatch } from '../../evm/submitter/submit-fulfillment.js';
import {
  submitContractRegistration,
  submitWorkerRegistration,
} from '../../evm/submitter/submit-registration.js';
import { encodeRevokeWorker, encodeUpdateGatekeepers } from '../../evm/gateway/registry.js';
import type { EvmSignatureCollector } from '../../gatekeeper/evm/collector.js';
import { EvmSubmitter } from '../../evm/submitter/submitter.js';
import type { FulfillmentInput } from '../../evm/types.js';
import type { Origin } from '../../protocol/origin.js';
import { encodeEvmLog } from '../tape/entries.js';
import { completeBatches } from './evm-batches.js';
import type { RecordedTransaction } from '../tape/recorder.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { RedisCheckpointStore } from '../checkpoints.js';
import type { RelayerMetrics } from '../metrics.js';
import type { RedisConnection } from '../redis.js';
import type {
  Destination,
  ItemOutcome,
  OriginWatcher,
  RequestStatus,
  SubmitItem,
  WatchSink,
} from '../ports.js';

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
  return createPublicClient({ transport: http(config.rpcUrl, { retryCount: 2, timeout: 15_000 }) });
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
        for (const event of events) await this.#handle(event, sink, onlyPending, counter);
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

export type EvmDestinationParameters = EvmChainParameters & {};

export class EvmDestination implements Destination {
  readonly chain: string;
  readonly batch: { maxSize: number; maxDelayMs: number };
  readonly #p: EvmDestinationParameters;
  readonly #client: Client;
  readonly #origin: Extract<Origin, { kind: 'evm' }>;
  readonly #submitter: EvmSubmitter;
  readonly #carried = new Set<string>();

  constructor(parameters: EvmDestinationParameters) {
    const { config } = parameters;
    if (!config.signer) throw new Error(`chain ${config.name}: a signer is required to submit fulfillments`);
    this.#p = parameters;
    this.chain = config.name;
    this.batch = config.batch;
    this.#client = parameters.client ?? evmClient(config);
    this.#origin = evmOrigin(config);
    const confirmations = typeof config.confirmations === 'number' ? Math.max(config.confirmations, 1) : 1;
    this.#submitter = new EvmSubmitter({
      client: this.#client,
      chainId: config.chainId,
      account: privateKeyToAccount(config.signer.reveal() as Hex),
      redis: parameters.redis,
      keyPrefix: parameters.keyPrefix,
      fees: { maxFeePerGasCap: BigInt(Math.round(config.maxFeePerGasGwei * 1e9)) },
      confirmations,
      // Receipts are looked for as often as the chain is watched, at least every second.
      pollIntervalMs: Math.min(config.pollIntervalMs, 1_000),
      stuckAfterMs: config.replaceAfterMs,
      onEvent: (event) => {
        if (event.kind === 'replaced')
          this.#p.metrics.submissions.inc({ chain: this.chain, kind: 'replacement', outcome: 'sent' });
      },
    });
  }

  /**
   * After a reorg our transactions there may be gone and the stored nonce ahead of the chain:
   * start again from the chain's count rather than wait for a stuck transaction to show it.
   */
  async afterReorg(): Promise<void> {
    await this.#submitter.nonces.reconcile();
  }

  /**
   * Carries gatekeeper-signed registrations (workers, contracts, revocations) that reached the
   * gateway's threshold to the gateway; what the gateway already holds is skipped.
   */
  async carryRegistrations(collector: EvmSignatureCollector): Promise<number> {
    const gateway = { chainId: BigInt(this.#origin.chainId), gateway: this.#origin.gateway };
    const set = await getGatekeeperSet(this.#client, { gateway: this.#origin.gateway });
    let carried = 0;
    // Revocations first: a revoked worker must stop being authorised before anything else lands.
    const readyItems = collector.ready(gateway, set.threshold, set.members);
    readyItems.sort(
      (a, b) => Number(b.item.kind === 'WorkerRevocation') - Number(a.item.kind === 'WorkerRevocation'),
    );
    for (const ready of readyItems) {
      if (this.#carried.has(ready.digest)) continue;
      try {
        const item = ready.item;
        if (item.kind === 'WorkerRegistration') {
          await submitWorkerRegistration(this.#submitter, this.#client, {
            gateway: this.#origin.gateway,
            registration: item.message,
            signatures: ready.signatures,
          });
        } else if (item.kind === 'ContractRegistration') {
          await submitContractRegistration(this.#submitter, this.#client, {
            gateway: this.#origin.gateway,
            registration: item.message,
            signatures: ready.signatures,
          });
        } else if (item.kind === 'WorkerRevocation') {
          await this.#submitter.submit({
            to: this.#origin.gateway,
            data: encodeRevokeWorker({ revocation: item.message, signatures: ready.signatures }),
          });
          this.#p.logger.warn(
            { chain: this.chain, worker: item.message.worker, revokeUpTo: String(item.message.revokeUpTo) },
            'carried a worker revocation to the gateway',
          );
        } else {
          await this.#submitter.submit({
            to: this.#origin.gateway,
            data: encodeUpdateGatekeepers({ update: item.message, signatures: ready.signatures }),
          });
        }
        this.#carried.add(ready.digest);
        carried++;
      } catch (error) {
        this.#p.logger.warn(
          { chain: this.chain, kind: ready.item.kind, err: errorMessage(error) },
          'could not carry a registration',
        );
      }
    }
    return carried;
  }

  accepts(origin: Origin): boolean {
    return (
      origin.kind === 'evm' &&
      origin.chainId === this.#origin.chainId &&
      origin.gateway.toLowerCase() === this.#origin.gateway.toLowerCase()
    );
  }

  async isApprovedWorker(cluster: Hex, worker: { address: Hex }): Promise<boolean> {
    return isWorkerAuthorized(this.#client, {
      gateway: this.#origin.gateway,
      worker: worker.address,
      cluster,
    });
  }

  async status(request: RequestJob): Promise<RequestStatus> {
    const pending = await isRequestPending(this.#client, {
      gateway: this.#origin.gateway,
      requestId: request.requestId,
    });
    if (!pending) return 'fulfilled';
    if (request.deadline * 1000 <= Date.now()) return 'expired';
    return 'pending';
  }

  async submit(
    items: SubmitItem[],
    onSent: (txHash: string, items: SubmitItem[]) => Promise<void>,
  ): Promise<ItemOutcome[]> {
    const outcomes = new Map<SubmitItem, Promise<ItemOutcome>>();
    // A worker's batch goes as one transaction when all of it is here and its signature holds;
    // everything else goes alone (the nonce manager lets those go out together).
    for (const group of completeBatches(items)) {
      const sent = this.#submitBatch(group, onSent);
      for (const [i, item] of group.entries())
        outcomes.set(
          item,
          sent.then((all) => all[i]!),
        );
    }
    for (const item of items) if (!outcomes.has(item)) outcomes.set(item, this.#submitOne(item, onSent));
    return Promise.all(items.map((item) => outcomes.get(item)!));
  }

  async #submitBatch(
    group: SubmitItem[],
    onSent: (txHash: string, items: SubmitItem[]) => Promise<void>,
  ): Promise<ItemOutcome[]> {
    const single = () => Promise.all(group.map((item) => this.#submitOne(item, onSent)));
    let submitted: Awaited<ReturnType<typeof submitFulfillmentBatch>>;
    try {
      submitted = await submitFulfillmentBatch(this.#submitter, this.#client, {
        gateway: this.#origin.gateway,
        items: group.map(fulfillmentInputOf),
        signature: group[0]!.result.batch!.signature,
      });
    } catch (error) {
      this.#p.logger.warn(
        { chain: this.chain, size: group.length, err: errorMessage(error) },
        'batch refused; sending its results one by one',
      );
      return single();
    }
    const receipt = submitted.receipt;
    if (!receipt) return group.map(() => ({ kind: 'already-fulfilled' }) as const);
    await onSent(receipt.transactionHash, group);
    if (!(await this.#stillCanonical(receipt.transactionHash, receipt.blockHash))) {
      return group.map(() => ({ kind: 'reorged', txHash: receipt.transactionHash }) as const);
    }
    const perItemGas = receipt.gasUsed / BigInt(group.length);
    return group.map((item): ItemOutcome => {
      const code = submitted.results.get(item.request.requestId);
      if (code === 'Delivered' || code === 'CallbackFailed') {
        return {
          kind: 'fulfilled',
          txHash: receipt.transactionHash,
          blockNumber: Number(receipt.blockNumber),
          gasUsed: perItemGas,
        };
      }
      if (code === 'NotPending') return { kind: 'already-fulfilled' };
      // WorkerNotAuthorized can heal (a registration on its way); the others cannot.
      return {
        kind: 'rejected',
        reason: `gateway: ${code ?? 'no result'}`,
        txHash: receipt.transactionHash,
        retryable: code === 'WorkerNotAuthorized',
      };
    });
  }

  async #submitOne(
    item: SubmitItem,
    onSent: (txHash: string, items: SubmitItem[]) => Promise<void>,
  ): Promise<ItemOutcome> {
    const { result } = item;
    const fulfillment = fulfillmentInputOf(item);
    // A stateful result's state is committed by the worker itself, final before it released the
    // result (src/pruntime/worker/state-commit-gate.ts): the relayer commits nothing here.
    try {
      const outcome = await submitFulfillment(this.#submitter, this.#client, {
        gateway: this.#origin.gateway,
        fulfillment,
        signature: result.proof.signature,
      });
      if (outcome.status === 'already-fulfilled') return { kind: 'already-fulfilled' };
      const receipt = outcome.receipt;
      await onSent(receipt.transactionHash, [item]);
      if (!(await this.#stillCanonical(receipt.transactionHash, receipt.blockHash)))
        return { kind: 'reorged', txHash: receipt.transactionHash };
      if (outcome.result !== 'Delivered' && outcome.result !== 'CallbackFailed') {
        return {
          kind: 'rejected',
          reason: `gateway: ${outcome.result}`,
          txHash: receipt.transactionHash,
          retryable: false,
        };
      }
      return {
        kind: 'fulfilled',
        txHash: receipt.transactionHash,
        blockNumber: Number(receipt.blockNumber),
        gasUsed: receipt.gasUsed,
      };
    } catch (error) {
      const name = (error as { shortMessage?: string }).shortMessage ?? errorMessage(error);
      // The gateway refused it for good (bad signature, unregistered worker, commitment mismatch).
      const permanent =
        (error as { name?: string }).name === 'GatewayRejectedError' && !/reverted/.test(name);
      return { kind: 'rejected', reason: name, retryable: !permanent };
    }
  }

  async #stillCanonical(txHash: Hex, blockHash: Hex): Promise<boolean> {
    try {
      const receipt = await getTransactionReceipt(this.#client, { hash: txHash });
      return receipt.blockHash === blockHash;
    } catch {
      return false;
    }
  }
}

function fulfillmentInputOf({ request, result }: SubmitItem): FulfillmentInput {
  return {
    request: {
      requestId: request.requestId,
      contractId: request.contractId,
      requester: request.requester as Address,
      callbackGasLimit: request.callbackGasLimit ?? 0,
      deadline: BigInt(request.deadline),
    },
    publicOutput: result.publicOutput,
    sealedOutput: result.sealedOutput,
    stateRoot: result.stateRoot,
  };
}

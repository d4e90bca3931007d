import type { ApiPromise } from '@polkadot/api';
import type { Logger } from 'pino';
import { type Hex, toHex, utf8 } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import type { PhalaChainConfig } from '../../config/schema.js';
import { type PhalaClient, genesisHex } from '../../phala/client.js';
import {
  type FinalizedBlock,
  finalizedBlockAt,
  followFinalizedBlocks,
  type Follower,
} from '../../phala/follow.js';
import type { Plain } from '../../phala/plain.js';
import { type PhalaEvent, parsePhalaEvent } from '../../phala/types.js';
import * as contracts from '../../phala/actions/contracts.js';
import * as registry from '../../phala/actions/registry.js';
import { DESTINATIONS } from '../../protocol/mq-destinations.js';
import type { Origin } from '../../protocol/origin.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { XcmTracker } from '../../xcm/tracker/tracker.js';
import type { RedisCheckpointStore } from '../checkpoints.js';
import type { RelayerMetrics } from '../metrics.js';
import type { OriginWatcher, WatchSink } from '../ports.js';
import { WORKER_REVOCATION_DESTINATION_BYTES } from '../../gatekeeper/messages/worker-revocation-message.js';
import type { SignedWorkerApproval } from './sibling.js';

/**
 * The relayer's view of the Phala-style chain as an origin: a watcher of finalized blocks turning
 * requests (from its own users and from XCM origins) into jobs, and carrying gatekeeper messages
 * to where they are needed. The destination side is in phala-destination.ts.
 */
export type PhalaChainParameters = {
  config: PhalaChainConfig;
  client: PhalaClient;
  checkpoints: RedisCheckpointStore;
  logger: Logger;
  metrics: RelayerMetrics;
  /** Started and stopped with the watcher: one process writes the XCM tracker's store. */
  xcmTracker?: XcmTracker | undefined;
  /*
   * The three hand-offs below run on this chain's block: they must return at once and leave the
   * work for other chains to a carry queue (build.ts). A hand-off that throws is logged and
   * counted; the block still completes, since the failure is not this chain's.
   */
  /** A worker approved on this chain, with the gatekeepers' signatures (carried to sibling parachains). */
  onWorkerApproved?: ((approval: SignedWorkerApproval) => void | Promise<void>) | undefined;
  /** Gatekeeper messages with EIP-712 signatures for EVM gateways (the relayer carries them there). */
  onEvmSignatures?: ((senderKey: Hex, payload: Hex) => void | Promise<void>) | undefined;
  /** Gatekeeper-signed worker revocations for sibling parachains (PhalaMq worker-revocation/v1). */
  onWorkerRevocationSignatures?: ((senderKey: Hex, payload: Hex) => void | Promise<void>) | undefined;
  /** A worker approved or revoked on this chain (finalized), for the result checks' revocation marks. */
  onWorkerVerdict?: ((worker: Hex, verdict: 'approved' | 'revoked', reason: string) => void) | undefined;
};

const EVM_SIGNATURE_DESTINATION = toHex(utf8(DESTINATIONS.evmSignature));
const WORKER_REVOCATION_DESTINATION_HEX = toHex(WORKER_REVOCATION_DESTINATION_BYTES);

type RequestSubmitted = Extract<PhalaEvent, { pallet: 'PhalaContracts'; type: 'RequestSubmitted' }>;

/** The SCALE bytes of an XCM V4 Location as the chain's metadata encodes it. */
export function locationBytes(api: ApiPromise, location: Plain): Uint8Array {
  const entry = api.runtimeMetadata.asLatest.lookup.types.find(
    (t) => t.type.path.join('::') === 'staging_xcm::v4::location::Location',
  );
  if (!entry) throw new Error('the chain has no XCM V4 Location type');
  const def = api.registry.lookup.getTypeDef(entry.id);
  return api.registry.createType(def.lookupName ?? def.type, location as never).toU8a();
}

/** The para id a location relative to the Phala-style chain points into (`../Parachain(n)/..`). */
export function paraIdOf(location: Plain): number | null {
  const loc = location as { parents?: number; interior?: Record<string, unknown> } | null;
  if (loc?.parents !== 1 || !loc.interior) return null;
  const [variant] = Object.keys(loc.interior);
  const junctions = loc.interior[variant!];
  const first = (Array.isArray(junctions) ? junctions[0] : junctions) as Record<string, unknown> | undefined;
  if (!first) return null;
  const para = first.parachain ?? first.Parachain;
  return typeof para === 'number' ? para : typeof para === 'string' ? Number(para.replace(/,/g, '')) : null;
}

export class PhalaOriginWatcher implements OriginWatcher {
  readonly chain: string;
  readonly #p: PhalaChainParameters;
  readonly #origin: Extract<Origin, { kind: 'phala' }>;
  readonly #clusters = new Map<string, Hex>();
  #follower: Follower | undefined;

  constructor(parameters: PhalaChainParameters) {
    this.#p = parameters;
    this.chain = parameters.config.name;
    this.#origin = { kind: 'phala', genesisHash: genesisHex(parameters.client) };
  }

  get origin(): Extract<Origin, { kind: 'phala' }> {
    return this.#origin;
  }

  async #cluster(contractId: Hex): Promise<Hex | null> {
    const cached = this.#clusters.get(contractId);
    if (cached) return cached;
    const info = await contracts.getContract(this.#p.client, contractId);
    if (!info) return null;
    this.#clusters.set(contractId, info.cluster);
    return info.cluster;
  }

  /** A request as a job, or null (with the reason given to the sink) when it cannot be one. */
  async jobOf(
    e: RequestSubmitted,
    block: Pick<FinalizedBlock, 'number' | 'hash'>,
    sink: Pick<WatchSink, 'rejected'>,
  ): Promise<RequestJob | null> {
    const cluster = await this.#cluster(e.contractId);
    if (!cluster) {
      sink.rejected(this.chain, `request ${e.requestId} names unknown contract ${e.contractId}`);
      return null;
    }
    let origin: Origin;
    let requester: Hex;
    if (e.origin.kind === 'signed') {
      origin = this.#origin;
      requester = e.origin.account;
    } else if (e.origin.kind === 'xcm') {
      const paraId = paraIdOf(e.origin.location);
      if (paraId === null) {
        sink.rejected(
          this.chain,
          `request ${e.requestId} comes from an XCM location outside a sibling parachain`,
        );
        return null;
      }
      requester = toHex(locationBytes(this.#p.client.api, e.origin.location));
      origin = { kind: 'xcm', paraId, location: requester };
    } else {
      sink.rejected(
        this.chain,
        `request ${e.requestId} has an origin the relayer does not know (${e.origin.variant})`,
      );
      return null;
    }
    // Deadlines are block numbers on this chain; the pipeline reasons in time.
    const blocksLeft = Math.max(0, e.deadline - block.number);
    return {
      v: 1,
      origin,
      requestId: e.requestId,
      contractId: e.contractId,
      cluster,
      requester,
      // Only an EVM consumer contract acts for someone else: here the requester is the end user.
      endUser: requester,
      nonce: e.nonce.toString(),
      sealedInput: e.sealedInput,
      responseKey: e.responseKey,
      deadline: Math.floor(Date.now() / 1000 + (blocksLeft * this.#p.config.blockTimeMs) / 1000),
      observed: { chain: this.chain, blockNumber: block.number, blockHash: block.hash, at: Date.now() },
    };
  }

  /**
   * Gatekeeper approval signatures, from the `approveWorker` extrinsics that landed, by worker and
   * signed fields: when the worker is approved, they are what a sibling parachain checks.
   */
  readonly #approvalSignatures = new Map<string, Set<Hex>>();

  #collectApprovals(block: FinalizedBlock): void {
    if (!this.#p.onWorkerApproved || !block.extrinsics) return;
    const landed = new Set(
      block.events
        .filter((e) => e.name === 'WorkerApprovalAdded' && e.phase.kind === 'applyExtrinsic')
        .map((e) => (e.phase as { index: number }).index),
    );
    for (const index of landed) {
      try {
        const ext = this.#p.client.api.createType('Extrinsic', block.extrinsics[index]);
        if (ext.method.section !== 'phalaRegistry' || ext.method.method !== 'approveWorker') continue;
        const [worker, measurement, expiresAt, signature] = ext.method.args.map((a) => a.toHex());
        const key = `${worker}:${measurement}:${BigInt(expiresAt!)}`;
        const set = this.#approvalSignatures.get(key) ?? new Set<Hex>();
        set.add(signature as Hex);
        this.#approvalSignatures.set(key, set);
      } catch (error) {
        this.#p.logger.warn(
          { chain: this.chain, err: errorMessage(error) },
          'could not read an approveWorker extrinsic',
        );
      }
    }
  }

  async #workerApproved(e: Extract<PhalaEvent, { type: 'WorkerApproved' }>): Promise<void> {
    if (!this.#p.onWorkerApproved) return;
    const key = `${e.worker}:${e.measurement}:${BigInt(e.expiresAt)}`;
    const signatures = [...(this.#approvalSignatures.get(key) ?? [])];
    this.#approvalSignatures.delete(key);
    const info = await registry.getWorker(this.#p.client, e.worker);
    if (!info || signatures.length === 0) return;
    const onWorkerApproved = this.#p.onWorkerApproved;
    await this.#handOff('worker approval', () =>
      onWorkerApproved({
        worker: e.worker,
        x25519: info.x25519,
        cluster: e.cluster,
        measurement: e.measurement,
        expiresAt: BigInt(e.expiresAt),
        registeredAt: info.registeredAt,
        signatures,
      }),
    );
  }

  /** Runs a hand-off to another chain's carrier; its failure is logged, never the block's. */
  async #handOff(what: string, handOff: () => void | Promise<void>): Promise<void> {
    try {
      await handOff();
    } catch (error) {
      this.#p.metrics.errors.inc({ kind: 'carry-hand-off' });
      this.#p.logger.error(
        { chain: this.chain, what, err: errorMessage(error) },
        'could not hand off cross-chain work',
      );
    }
  }

  async #handleBlock(block: FinalizedBlock, sink: WatchSink, onlyPending: boolean): Promise<number> {
    let reported = 0;
    const requests: Promise<void>[] = [];
    if (!onlyPending) this.#collectApprovals(block);
    for (const raw of block.events) {
      let event: PhalaEvent | null;
      try {
        event = parsePhalaEvent(raw);
      } catch (error) {
        sink.rejected(this.chain, errorMessage(error));
        continue;
      }
      if (
        event?.pallet === 'PhalaMq' &&
        event.sender.kind === 'gatekeeper' &&
        event.destination.toLowerCase() === EVM_SIGNATURE_DESTINATION &&
        !onlyPending
      ) {
        const { key } = event.sender;
        await this.#handOff('gatekeeper EVM signatures', () => this.#p.onEvmSignatures?.(key, event.payload));
        continue;
      }
      if (
        event?.pallet === 'PhalaMq' &&
        event.sender.kind === 'gatekeeper' &&
        event.destination.toLowerCase() === WORKER_REVOCATION_DESTINATION_HEX &&
        !onlyPending
      ) {
        const { key } = event.sender;
        await this.#handOff('gatekeeper worker revocation', () =>
          this.#p.onWorkerRevocationSignatures?.(key, event.payload),
        );
        continue;
      }
      if (event?.pallet === 'PhalaRegistry' && event.type === 'WorkerRevoked' && !onlyPending) {
        this.#p.onWorkerVerdict?.(event.worker, 'revoked', event.reason);
        continue;
      }
      if (event?.pallet === 'PhalaRegistry' && event.type === 'WorkerApproved' && !onlyPending) {
        this.#p.onWorkerVerdict?.(event.worker, 'approved', '');
        await this.#workerApproved(event);
        continue;
      }
      if (event?.pallet !== 'PhalaContracts') continue;
      if (event.type === 'RequestSubmitted') {
        const submitted = event;
        // A block's requests are reported together (the observe stage writes them in one go).
        const report = (async () => {
          if (onlyPending && (await contracts.requestStatus(this.#p.client, submitted.requestId)) !== 'open')
            return;
          const job = await this.jobOf(submitted, block, sink);
          if (!job) return;
          await sink.request(
            job,
            raw.raw && {
              kind: job.origin.kind === 'xcm' ? 'xcm.message' : 'substrate.event',
              data: raw.raw,
              index: raw.index,
            },
          );
          reported++;
        })();
        // Awaited below (with the block's others); marked handled now so that a failure while
        // the loop goes on is not an unhandled rejection.
        report.catch(() => undefined);
        requests.push(report);
      } else if (event.type === 'RequestFulfilled' || event.type === 'RequestCancelled') {
        // An answer or a cancel still comes after the requests made before it in the block.
        await Promise.all(requests.splice(0));
        const request = await contracts.getRequest(this.#p.client, event.requestId).catch(() => null);
        const origin = request?.origin.kind === 'xcm' ? null : this.#origin;
        if (!origin) continue; // XCM requests end when the origin processes the response
        if (event.type === 'RequestFulfilled')
          await sink.fulfilled(origin, event.requestId, { chain: this.chain });
        else await sink.cancelled(origin, event.requestId, { chain: this.chain });
      }
    }
    await Promise.all(requests);
    return reported;
  }

  async start(sink: WatchSink): Promise<void> {
    const checkpoint = await this.#p.checkpoints.load();
    const from = checkpoint ? Number(checkpoint.blockNumber) + 1 : this.#p.config.startBlock;
    this.#follower = followFinalizedBlocks(this.#p.client.api, {
      ...(from === undefined ? {} : { from }),
      includeExtrinsics: Boolean(this.#p.onWorkerApproved),
      onBlock: async (block) => {
        await this.#handleBlock(block, sink, false);
        await this.#p.checkpoints.save({ blockNumber: BigInt(block.number), blockHash: block.hash });
      },
      onError: (error, blockNumber) => {
        this.#p.metrics.errors.inc({ kind: 'watch' });
        this.#p.logger.warn(
          { chain: this.chain, blockNumber, err: errorMessage(error) },
          'block handling failed; retrying',
        );
      },
    });
    await this.#follower.ready;
    await this.#p.xcmTracker?.start();
  }

  async stop(): Promise<void> {
    await this.#p.xcmTracker?.stop();
    await this.#follower?.stop();
    this.#follower = undefined;
  }

  async lag(): Promise<number> {
    const head = await this.#p.client.api.rpc.chain.getFinalizedHead();
    const header = await this.#p.client.api.rpc.chain.getHeader(head);
    const checkpoint = await this.#p.checkpoints.load();
    return header.number.toNumber() - Number(checkpoint?.blockNumber ?? 0n);
  }

  async rederive(fromBlock: number, sink: WatchSink): Promise<number> {
    const head = await this.#p.client.api.rpc.chain.getFinalizedHead();
    const last = (await this.#p.client.api.rpc.chain.getHeader(head)).number.toNumber();
    let reported = 0;
    for (let n = Math.max(fromBlock, 1); n <= last; n++) {
      reported += await this.#handleBlock(await finalizedBlockAt(this.#p.client.api, n), sink, true);
    }
    return reported;
  }
}

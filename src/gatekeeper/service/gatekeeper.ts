import type { Address } from 'viem';
import { type Hex, equalBytes, fromHex, toHex, utf8 } from '../../base/bytes.js';
import { InvalidInputError, errorMessage } from '../../base/errors.js';
import { EnvelopeOpenError } from '../../crypto/envelope.js';
import { blake2_256 } from '../../crypto/hash.js';
import { ethereumAddress } from '../../crypto/keys.js';
import type { GatewayDomain } from '../../crypto/proofs.js';
import type { Logger } from '../../log/logger.js';
import * as mq from '../../phala/actions/mq.js';
import * as registry from '../../phala/actions/registry.js';
import type { PhalaClient } from '../../phala/client.js';
import { ChainDataError, DispatchFailedError } from '../../phala/errors.js';
import { type FinalizedBlock, type Follower, followFinalizedBlocks } from '../../phala/follow.js';
import type { Signer } from '../../phala/submit.js';
import { type PhalaEvent, type PhalaEventOf, parsePhalaEvent } from '../../phala/types.js';
import {
  approvalBy,
  chainTime,
  contractKeyHistory,
  listContracts,
  masterKeyHistory,
} from '../chain/chain-view.js';
import { freshnessBlockOf } from '../approvals/attestation-bundle.js';
import type { GatekeeperEnclave, WorkerVerdict } from '../enclave/enclave.js';
import { GatekeeperError, GatekeeperRefusalError } from '../errors.js';
import { sortAddresses } from '../../evm/gateway/registry.js';
import type { EvmMessage } from '../evm/typed-data.js';
import { DESTINATION_BYTES, destinationOf } from '../../protocol/mq-destinations.js';
import { encodeEvmSignatureMessage } from '../messages/evm-signature-message.js';
import { MAX_HANDOVERS_PER_MESSAGE, decodeKeyHandoverMessage } from '../../protocol/key-handover-message.js';
import { decodeMasterKeyHandoverMessage } from '../messages/master-key-handover-message.js';
import {
  WORKER_REVOCATION_DESTINATION_BYTES,
  encodeWorkerRevocationMessage,
} from '../messages/worker-revocation-message.js';
import { rotateMasterKey } from './rotate.js';
import { readState, writeState } from './state-file.js';

/**
 * A running gatekeeper (docs/gatekeeper.md#the-service): it follows the Phala-style chain's
 * finalized blocks (resuming after the last block it finished, so a restart or a lost connection
 * misses nothing) and, for what it sees, does its part:
 *
 * - master keys: the first gatekeeper makes epoch 0 and publishes its public key; a later one asks
 *   for the keys with its quote (PhalaMq) and gets them sealed to its attested key; rotation
 *   publishes the next epoch, and each gatekeeper then publishes the new contract keys;
 * - workers: verifies each registration and approves or rejects it by signed extrinsic; for an
 *   approved worker signs the EVM `WorkerRegistration` and hands it its cluster's contract keys;
 *   revokes it on the chain when its measurement leaves the allowlist or its approval expires, and
 *   on every `WorkerRevoked` (whoever revoked: governance, a gatekeeper, expiry) signs the
 *   revocation for every EVM gateway and for sibling parachains;
 * - contracts: publishes each new contract's public key, signs its EVM `ContractRegistration`,
 *   hands the key to the cluster's approved workers.
 *
 * Work that one gatekeeper suffices for (publishing a key, a handover, a chain revocation) is done
 * by a primary chosen per subject from the gatekeeper set; the others do it after
 * `backupDelayMs × rank` if it is still not done. Work every gatekeeper must do (approvals, EVM
 * signatures: k of n) each does itself.
 */

export type GatekeeperParameters = {
  enclave: GatekeeperEnclave;
  client: PhalaClient;
  /** Where the gatekeeper keeps its progress (gatekeeper-state.json; usually the enclave's dataDir). */
  dataDir: string;
  /** Pays for transactions; default: the enclave identity's own ecdsa account. */
  signer?: Signer;
  /** The EVM gateways to sign registrations for (EIP-712 domains). */
  evmGateways?: readonly GatewayDomain[];
  /** The smallest approval threshold this gatekeeper signs EVM gatekeeper sets with (default 1). */
  minThreshold?: number;
  /** How long each backup waits per rank before doing a primary's work (default 10 s). */
  backupDelayMs?: number;
  /** How often a gatekeeper without the master keys asks again (default 60 s). */
  masterKeyRetryMs?: number;
  logger?: Logger;
};

export type GatekeeperStatus = {
  gatekeeper: Hex;
  address: Address;
  measurement: Hex;
  isGatekeeper: boolean;
  epochs: number[];
  chainEpochs: number[];
  ready: boolean;
  cursor: number;
  approvedWorkers: number;
  contracts: number;
};

type ApprovedWorker = {
  cluster: Hex;
  measurement: Hex;
  expiresAt: bigint;
  registeredAt: number;
};

type DeferredEvent = PhalaEventOf<'WorkerApproved'> | PhalaEventOf<'ContractKeyPublished'>;
const MAX_DEFERRED = 10_000;
/** Revocations remembered (signed, or sent to the chain and awaiting their event); oldest go first. */
const MAX_REVOCATIONS = 10_000;

const PERMANENT_ERRORS = [
  DispatchFailedError,
  GatekeeperRefusalError,
  InvalidInputError,
  ChainDataError,
  EnvelopeOpenError,
];

const silentLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
} as unknown as Logger;

export class Gatekeeper {
  readonly enclave: GatekeeperEnclave;
  readonly client: PhalaClient;
  readonly #dataDir: string;
  readonly #signer: Signer;
  readonly #gateways: readonly GatewayDomain[];
  readonly #minThreshold: number;
  readonly #backupDelayMs: number;
  readonly #retryMs: number;
  readonly #log: Logger;
  readonly #me: Hex;
  readonly #genesis: Uint8Array;

  #gatekeepers: Hex[] = [];
  #threshold = 1;
  #chainEpochs = new Map<number, Uint8Array>();
  readonly #approved = new Map<Hex, ApprovedWorker>();
  readonly #contracts = new Map<Hex, Hex>();
  readonly #seenHandovers = new Set<string>();
  readonly #seenMasterHandovers = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #deferred: DeferredEvent[] = [];
  /** Approvals this gatekeeper is revoking on chain, kept until their `WorkerRevoked` (for revokeUpTo). */
  readonly #revoking = new Map<Hex, ApprovedWorker>();
  /** `worker:registeredAt` of revocations already signed for other chains (a replayed event signs nothing). */
  readonly #revocationsSigned = new Set<string>();
  #lastKeyRequest = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #follower: Follower | null = null;
  #cursor = 0;
  #failingSince: number | null = null;
  #stopped = false;
  #readyWaiters: (() => void)[] = [];

  private constructor(p: GatekeeperParameters) {
    this.enclave = p.enclave;
    this.client = p.client;
    this.#dataDir = p.dataDir;
    this.#signer = p.signer ?? p.enclave.transactionSigner();
    this.#gateways = p.evmGateways ?? [];
    this.#minThreshold = p.minThreshold ?? 1;
    this.#backupDelayMs = p.backupDelayMs ?? 10_000;
    this.#retryMs = p.masterKeyRetryMs ?? 60_000;
    this.#log = p.logger ?? silentLogger;
    this.#me = toHex(p.enclave.secp256k1PublicKey);
    this.#genesis = p.client.genesisHash;
  }

  /**
   * Starts a gatekeeper: checks the data directory belongs to this chain, brings its master keys
   * in line with the chain (making, publishing or asking for them), catches up with work that
   * was waiting (pending registrations, contracts without a key, expired approvals), and follows
   * finalized blocks from where it stopped.
   */
  static async start(p: GatekeeperParameters): Promise<Gatekeeper> {
    const gatekeeper = new Gatekeeper(p);
    await gatekeeper.#start();
    return gatekeeper;
  }

  async #start(): Promise<void> {
    const genesis = toHex(this.#genesis);
    const state = await readState(this.#dataDir);
    if (state && state.genesisHash !== genesis)
      throw new GatekeeperError('The data directory belongs to another chain.', {
        details: `${this.#dataDir} follows ${state.genesisHash}, the node is ${genesis}`,
      });
    await this.#refreshGatekeepers();
    this.#threshold = await registry.getApprovalThreshold(this.client);
    this.#chainEpochs = await masterKeyHistory(this.client);
    for (const { worker, info } of await registry.listWorkers(this.client)) {
      if (info.status.kind === 'approved')
        this.#approved.set(worker, {
          cluster: info.cluster,
          measurement: info.status.measurement,
          expiresAt: info.status.expiresAt,
          registeredAt: info.registeredAt,
        });
    }
    for (const { contractId, info } of await listContracts(this.client))
      this.#contracts.set(contractId, info.cluster);
    this.#log.info(
      {
        gatekeeper: this.#me,
        address: this.enclave.publicIdentity.address,
        measurement: this.enclave.measurement,
        isGatekeeper: this.isGatekeeper,
        epochs: this.enclave.epochs(),
      },
      'gatekeeper starting',
    );
    if (!this.isGatekeeper)
      this.#log.warn(
        { gatekeeper: this.#me, x25519: this.enclave.publicIdentity.x25519 },
        'not a gatekeeper on chain yet: waiting for PhalaRegistry.addGatekeeper',
      );
    // A first start follows from the finalized head as it is now: what happens from here on
    // (including its own start-up work) is seen as events; what was before, catch-up covers.
    const head = await this.client.api.rpc.chain.getFinalizedHead();
    this.#cursor = state ? state.cursor : (await this.client.api.rpc.chain.getHeader(head)).number.toNumber();
    await this.#serial(async () => {
      await this.#ensureMasterKeys();
      await this.#catchUp();
    });
    if (!state) await writeState(this.#dataDir, { genesisHash: genesis, cursor: this.#cursor });
    this.#follower = followFinalizedBlocks(this.client.api, {
      from: this.#cursor + 1,
      onBlock: (block) => this.#serial(() => this.#processBlock(block)),
      onError: (error, blockNumber) => {
        this.#failingSince ??= Date.now();
        this.#log.warn(
          { block: blockNumber, error: errorMessage(error) },
          'block processing failed; retrying',
        );
      },
    });
    await this.#follower.ready;
  }

  /** Stops following; work in progress finishes first. The enclave and client stay open (the caller's). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#follower?.stop();
    await this.#queue.catch(() => {});
  }

  /**
   * How long the current block has been failing (0 when it is not): a block that keeps failing
   * for long means a wedged connection (see supervisor.ts), or a node that is gone.
   */
  get stalledForMs(): number {
    return this.#failingSince === null ? 0 : Date.now() - this.#failingSince;
  }

  get isGatekeeper(): boolean {
    return this.#gatekeepers.includes(this.#me);
  }

  /** True once this is a gatekeeper on chain holding the master key of every epoch the chain lists. */
  get ready(): boolean {
    return (
      this.isGatekeeper &&
      this.#chainEpochs.size > 0 &&
      [...this.#chainEpochs.keys()].every((e) => this.enclave.hasEpoch(e))
    );
  }

  /** Resolves when `ready` (see above). */
  whenReady(timeoutMs = 60_000): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new GatekeeperError('The gatekeeper did not get ready in time.', { details: `${timeoutMs} ms` }),
          ),
        timeoutMs,
      );
      this.#readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  status(): GatekeeperStatus {
    return {
      gatekeeper: this.#me,
      address: this.enclave.publicIdentity.address,
      measurement: this.enclave.measurement,
      isGatekeeper: this.isGatekeeper,
      epochs: this.enclave.epochs(),
      chainEpochs: [...this.#chainEpochs.keys()].sort((a, b) => a - b),
      ready: this.ready,
      cursor: this.#cursor,
      approvedWorkers: this.#approved.size,
      contracts: this.#contracts.size,
    };
  }

  /**
   * Rotates the master key: makes the next epoch inside the enclave, seals it, publishes its
   * public key (PhalaRegistry.rotateMasterKey). Every gatekeeper then (on the finalized event)
   * publishes the contracts' keys of the new epoch and signs the EVM gatekeeper-set update for it;
   * the other gatekeepers ask for the new key. Old epochs stay: old state and requests sealed to
   * old keys still open.
   */
  rotateMasterKey(): Promise<{ epoch: number; publicKey: Hex }> {
    return this.#serial(async () => {
      if (!this.ready) throw new GatekeeperError('Only a ready gatekeeper can rotate the master key.');
      const rotated = await rotateMasterKey({
        enclave: this.enclave,
        client: this.client,
        signer: this.#signer,
      });
      this.#chainEpochs.set(rotated.epoch, fromHex(rotated.publicKey));
      this.#log.info(rotated, 'rotated the master key');
      return rotated;
    });
  }

  // ---------------------------------------------------------------- block processing

  async #processBlock(block: FinalizedBlock): Promise<void> {
    if (this.#stopped) return;
    const time = await chainTime(this.client, block.hash);
    for (const raw of block.events) {
      let event: PhalaEvent | null;
      try {
        event = parsePhalaEvent(raw);
      } catch (error) {
        this.#log.warn(
          { block: block.number, event: `${raw.pallet}.${raw.name}`, error: errorMessage(error) },
          'unreadable event',
        );
        continue;
      }
      if (event) await this.#guard(event.type, () => this.#onEvent(event, block, time));
    }
    await this.#guard('expiries', () => this.#revokeExpired(time));
    this.#cursor = block.number;
    this.#failingSince = null;
    await writeState(this.#dataDir, { genesisHash: toHex(this.#genesis), cursor: block.number });
  }

  async #onEvent(event: PhalaEvent, block: FinalizedBlock, time: number): Promise<void> {
    switch (event.type) {
      case 'GatekeeperAdded':
      case 'GatekeeperRemoved': {
        const wasGatekeeper = this.isGatekeeper;
        await this.#refreshGatekeepers();
        if (!wasGatekeeper && this.isGatekeeper) {
          this.#log.info({ gatekeeper: this.#me }, 'added as a gatekeeper');
          await this.#ensureMasterKeys();
          await this.#catchUp();
        }
        return;
      }
      case 'ApprovalThresholdSet':
        this.#threshold = event.threshold;
        return;
      case 'WorkerRegistered':
        this.#forgetWorker(event.worker);
        return this.#onRegistration(event.worker, block.number, time);
      case 'WorkerApproved':
        return this.#onApproved(event);
      case 'WorkerRejected':
        this.#forgetWorker(event.worker);
        return;
      case 'WorkerRevoked':
        return this.#onRevoked(event, block);
      case 'MeasurementRemoved':
        for (const [worker, w] of [...this.#approved]) {
          if (w.measurement === event.measurement)
            await this.#revoke(worker, w, `MeasurementRemoved: ${event.measurement} left the allowlist`);
        }
        return;
      case 'MasterKeyRotated':
        return this.#onMasterKeyRotated(event);
      case 'ContractKeyPublished':
        return this.#onContractKeyPublished(event);
      case 'Instantiated':
        this.#contracts.set(event.contractId, event.cluster);
        return this.#onInstantiated(event.contractId);
      case 'MessageReceived':
        return this.#onMessage(event);
      default:
        return;
    }
  }

  /**
   * Work that is due whatever happened while this gatekeeper was away (idempotent: each step
   * checks the chain first): pending registrations, contracts without a key of the newest epoch,
   * approvals past their expiry or whose measurement left the allowlist.
   */
  async #catchUp(): Promise<void> {
    if (!this.isGatekeeper) return;
    const [workers, allowed, now] = await Promise.all([
      registry.listWorkers(this.client),
      registry.listMeasurements(this.client),
      chainTime(this.client),
    ]);
    for (const { worker, info } of workers) {
      if (info.status.kind !== 'pending') continue;
      const hash = (await this.client.api.rpc.chain.getBlockHash(info.registeredAt)).toHex() as Hex;
      const at = await chainTime(this.client, hash);
      await this.#guard('pending registration', () => this.#onRegistration(worker, info.registeredAt, at));
    }
    for (const [worker, w] of [...this.#approved]) {
      if (!allowed.includes(w.measurement))
        await this.#guard('revocation', () =>
          this.#revoke(worker, w, `MeasurementRemoved: ${w.measurement} left the allowlist`),
        );
    }
    await this.#guard('expiries', () => this.#revokeExpired(now));
    for (const contractId of this.#contracts.keys()) await this.#onInstantiated(contractId);
  }

  // ---------------------------------------------------------------- master keys

  /** Brings the held master keys in line with the chain's history (see docs/gatekeeper.md#master-key). */
  async #ensureMasterKeys(): Promise<void> {
    if (!this.isGatekeeper) return;
    await this.enclave.reload();
    this.#chainEpochs = await masterKeyHistory(this.client);
    const chain = await registry.getMasterKey(this.client);
    const chainEpoch = chain ? Number(chain.epoch) : null;
    for (const epoch of this.enclave.epochs()) {
      const published = this.#chainEpochs.get(epoch);
      if (published) {
        if (!equalBytes(published, this.enclave.masterPublicKey(epoch))) {
          this.#log.error({ epoch }, 'held master key differs from the chain: dropping it');
          await this.enclave.forgetEpoch(epoch);
        }
        continue;
      }
      if (epoch === (chainEpoch === null ? epoch : chainEpoch + 1) && epoch === this.enclave.latestEpoch()) {
        // Made and sealed, but the publication did not land (a crash in between): publish it now.
        await this.#publishMasterKey(
          epoch,
          this.enclave.masterPublicKey(epoch),
          this.enclave.signMasterKey(epoch, this.#genesis),
        );
      } else {
        this.#log.warn({ epoch }, 'held master key epoch was never published: dropping it');
        await this.enclave.forgetEpoch(epoch);
      }
    }
    if (chainEpoch === null && this.enclave.latestEpoch() === null) {
      const created = await this.enclave.createMasterKey(0, this.#genesis);
      this.#log.info({ epoch: 0 }, 'made the first master key');
      await this.#publishMasterKey(0, created.publicKey, created.signature);
    }
    this.#checkReady();
    if (!this.ready && this.#chainEpochs.size > 0) await this.#requestMasterKeys();
  }

  async #publishMasterKey(epoch: number, publicKey: Uint8Array, signature: Uint8Array): Promise<void> {
    try {
      await registry.rotateMasterKey(this.client, {
        signer: this.#signer,
        publicKey,
        epoch: BigInt(epoch),
        signature,
      });
      this.#chainEpochs.set(epoch, publicKey);
      this.#log.info({ epoch, publicKey: toHex(publicKey) }, 'published the master public key');
    } catch (error) {
      if (error instanceof DispatchFailedError && error.error === 'StaleEpoch') {
        // Another gatekeeper published this epoch first; ours was never used.
        this.#log.warn({ epoch }, 'another gatekeeper published this epoch first: asking for its key');
        await this.enclave.forgetEpoch(epoch);
        this.#chainEpochs = await masterKeyHistory(this.client);
        await this.#requestMasterKeys();
        return;
      }
      throw error;
    }
    this.#checkReady();
  }

  /** Asks the other gatekeepers for the master keys (PhalaMq), at most once per retry period. */
  async #requestMasterKeys(): Promise<void> {
    if (!this.isGatekeeper || this.ready) return;
    const now = Date.now();
    if (now - this.#lastKeyRequest < this.#retryMs) return;
    this.#lastKeyRequest = now;
    const quote = await this.enclave.quote();
    await this.#push('masterKeyRequest', quote);
    this.#log.info({ missing: this.#missingEpochs() }, 'asked the gatekeepers for the master keys');
    this.#later(this.#retryMs, 'master key retry', () => this.#requestMasterKeys());
  }

  #missingEpochs(): number[] {
    return [...this.#chainEpochs.keys()].filter((e) => !this.enclave.hasEpoch(e)).sort((a, b) => a - b);
  }

  async #onMasterKeyRotated(event: PhalaEventOf<'MasterKeyRotated'>): Promise<void> {
    const epoch = Number(event.epoch);
    this.#chainEpochs.set(epoch, fromHex(event.publicKey));
    if (!this.isGatekeeper) return;
    if (!this.enclave.hasEpoch(epoch)) await this.enclave.reload();
    if (
      this.enclave.hasEpoch(epoch) &&
      !equalBytes(this.enclave.masterPublicKey(epoch), fromHex(event.publicKey))
    ) {
      this.#log.error({ epoch }, 'held master key differs from the published one: dropping it');
      await this.enclave.forgetEpoch(epoch);
    }
    if (!this.enclave.hasEpoch(epoch)) {
      this.#lastKeyRequest = 0;
      await this.#requestMasterKeys();
      return;
    }
    this.#checkReady();
    await this.#afterRotation(epoch);
    await this.#replayDeferred();
  }

  /** Work of a new epoch held here: the EVM gatekeeper-set update, the contracts' new keys. */
  async #afterRotation(epoch: number): Promise<void> {
    if (epoch !== this.enclave.latestEpoch()) return;
    if (epoch > 0 && this.#gateways.length) {
      if (this.#threshold < this.#minThreshold) {
        this.#log.error(
          { threshold: this.#threshold, minThreshold: this.#minThreshold },
          'the chain approval threshold is below this gatekeeper minimum: not signing the EVM gatekeeper set',
        );
      } else {
        const gatekeepers = sortAddresses(this.#gatekeepers.map((g) => ethereumAddress(fromHex(g))));
        await this.#pushEvm({
          kind: 'GatekeeperSetUpdate',
          message: { gatekeepers, threshold: this.#threshold, epoch: BigInt(epoch) },
        });
      }
    }
    for (const contractId of this.#contracts.keys()) await this.#onInstantiated(contractId);
  }

  #checkReady(): void {
    if (!this.ready) return;
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
  }

  /**
   * Keeps an event that needs master keys this gatekeeper does not hold yet (an approval or a
   * contract key of an epoch it is still fetching); replayed once it holds them.
   */
  #defer(event: DeferredEvent): void {
    if (this.#deferred.length >= MAX_DEFERRED) this.#deferred.shift();
    this.#deferred.push(event);
  }

  async #replayDeferred(): Promise<void> {
    if (!this.ready) return;
    for (const event of this.#deferred.splice(0)) {
      await this.#guard(`deferred ${event.type}`, () =>
        event.type === 'WorkerApproved' ? this.#onApproved(event) : this.#onContractKeyPublished(event),
      );
    }
  }

  // ---------------------------------------------------------------- workers

  /** Verifies a pending registration made in block `registeredAt` (at time `at`) and votes on it. */
  async #onRegistration(worker: Hex, registeredAt: number, at: number): Promise<void> {
    if (!this.isGatekeeper) return;
    const info = await registry.getWorker(this.client, worker);
    // Superseded by a later registration, or already decided: the later event (or none) applies.
    if (!info || info.registeredAt !== registeredAt || info.status.kind !== 'pending') return;
    const verdict = await this.#judge(worker, info, at);
    if ((await approvalBy(this.client, worker, this.#me)) === registeredAt) return;
    try {
      if (verdict.ok) {
        await registry.approveWorker(this.client, {
          signer: this.#signer,
          worker,
          measurement: verdict.measurement,
          expiresAt: verdict.expiresAt,
          signature: verdict.signature,
        });
        this.#log.info(
          { worker, measurement: verdict.measurement, expiresAt: String(verdict.expiresAt) },
          'approved worker',
        );
      } else {
        await registry.rejectWorker(this.client, {
          signer: this.#signer,
          worker,
          reason: verdict.reason,
          signature: verdict.signature,
        });
        this.#log.warn({ worker, reason: verdict.reason }, 'rejected worker');
      }
    } catch (error) {
      // Another gatekeeper rejected it (or it re-registered) between our read and our vote.
      if (error instanceof DispatchFailedError && error.error === 'WorkerNotPending') {
        this.#log.info({ worker }, 'registration decided by another gatekeeper first');
        return;
      }
      throw error;
    }
  }

  async #judge(
    worker: Hex,
    info: { x25519: Hex; cluster: Hex; attestation: Hex; registeredAt: number },
    at: number,
  ): Promise<WorkerVerdict> {
    const attestation = fromHex(info.attestation);
    const [allowed, now, namedBlockHash] = await Promise.all([
      registry.listMeasurements(this.client),
      chainTime(this.client),
      this.#namedBlockHash(attestation, info.registeredAt),
    ]);
    return this.enclave.judgeWorker({
      worker: fromHex(worker),
      x25519: fromHex(info.x25519),
      cluster: fromHex(info.cluster),
      attestation,
      registeredAt: info.registeredAt,
      genesisHash: this.#genesis,
      allowedMeasurements: allowed,
      at,
      now,
      freshness: { registeredAt: info.registeredAt, namedBlockHash },
    });
  }

  /**
   * The hash of the block a registration's attestation names for its quote's freshness
   * (docs/attestation.md#quote-freshness), on this chain. Registrations are judged from finalized
   * blocks, so a block before the registration is finalized and its hash the same for every
   * gatekeeper. Null when none is named or it is not before the registration.
   */
  async #namedBlockHash(attestation: Uint8Array, registeredAt: number): Promise<Uint8Array | null> {
    const named = freshnessBlockOf(attestation);
    if (named === undefined || named >= registeredAt) return null;
    const hash = await this.client.api.rpc.chain.getBlockHash(named);
    return hash.isEmpty ? null : hash.toU8a();
  }

  /** Makes sure the enclave verified this (approved) worker itself, re-verifying after a restart. */
  async #verified(worker: Hex, registeredAt: number): Promise<boolean> {
    if (this.enclave.isVerified(fromHex(worker), registeredAt)) return true;
    const info = await registry.getWorker(this.client, worker);
    if (!info || info.registeredAt !== registeredAt) return false;
    const hash = await this.client.api.rpc.chain.getBlockHash(registeredAt);
    const verdict = await this.#judge(worker, info, await chainTime(this.client, hash.toHex() as Hex));
    if (!verdict.ok)
      this.#log.warn({ worker, reason: verdict.reason }, 'approved on chain, not trusted here');
    return verdict.ok;
  }

  async #onApproved(event: PhalaEventOf<'WorkerApproved'>): Promise<void> {
    const info = await registry.getWorker(this.client, event.worker);
    if (info?.status.kind !== 'approved') return;
    const approved: ApprovedWorker = {
      cluster: event.cluster,
      measurement: event.measurement,
      expiresAt: event.expiresAt,
      registeredAt: info.registeredAt,
    };
    this.#approved.set(event.worker, approved);
    if (!this.isGatekeeper) return;
    if (!this.ready) return this.#defer(event);
    if (!(await this.#verified(event.worker, info.registeredAt))) return;
    const epoch = this.enclave.latestEpoch()!;
    await this.#pushEvm({
      kind: 'WorkerRegistration',
      message: {
        worker: ethereumAddress(fromHex(event.worker)),
        measurement: event.measurement,
        cluster: event.cluster,
        expiresAt: event.expiresAt,
        epoch: BigInt(epoch),
      },
    });
    this.#schedule(event.worker, 'worker keys', () => this.#handOver(event.worker, null));
  }

  #forgetWorker(worker: Hex): void {
    this.#approved.delete(worker);
    this.enclave.forgetWorker(fromHex(worker));
  }

  async #revokeExpired(time: number): Promise<void> {
    for (const [worker, w] of [...this.#approved]) {
      if (w.expiresAt <= BigInt(time))
        await this.#revoke(worker, w, `RegistrationExpired: the approval ended at ${w.expiresAt}`);
    }
  }

  /**
   * Revokes on the Phala-style chain (one gatekeeper suffices). The other chains follow from the
   * chain's `WorkerRevoked` (#onRevoked), as for a revocation by governance.
   */
  async #revoke(worker: Hex, w: ApprovedWorker, reason: string): Promise<void> {
    this.#approved.delete(worker);
    remember(this.#revoking, worker, w);
    if (!this.isGatekeeper) return;
    this.enclave.forgetWorker(fromHex(worker));
    this.#schedule(worker, 'revocation', async () => {
      const info = await registry.getWorker(this.client, worker);
      if (!info || info.registeredAt !== w.registeredAt || info.status.kind !== 'approved') return;
      const signature = this.enclave.signWorkerRevocation({
        genesisHash: this.#genesis,
        worker: fromHex(worker),
        registeredAt: w.registeredAt,
        reason,
      });
      await registry.revokeWorker(this.client, { signer: this.#signer, worker, reason, signature });
      this.#log.warn({ worker, reason }, 'revoked worker');
    });
  }

  /**
   * Any `WorkerRevoked` (governance `forceRevokeWorker`, a gatekeeper's `revokeWorker` for expiry
   * or a removed measurement): forgets the worker and signs its revocation for every EVM gateway
   * (`revokeUpTo` = the approval's expiry, so the old registration can never be replayed there, while
   * a later registration, expiring later, still can be accepted) and for sibling parachains (the
   * genesis-bound `workerRevocationPayload` their confidentialClient checks), both as PhalaMq
   * messages the relayer carries. Never revokes on this chain again: the event is that revocation.
   */
  async #onRevoked(event: PhalaEventOf<'WorkerRevoked'>, block: FinalizedBlock): Promise<void> {
    const worker = event.worker;
    // Trust ends at once; the approval record stays until signed, so a retried block still has it.
    this.enclave.forgetWorker(fromHex(worker));
    const done = () => {
      this.#approved.delete(worker);
      this.#revoking.delete(worker);
    };
    const known = this.#approved.get(worker) ?? this.#revoking.get(worker);
    if (!this.isGatekeeper) return done();
    let approval: { cluster: Hex; registeredAt: number; expiresAt: bigint };
    const info = known ? null : await registry.getWorker(this.client, worker);
    if (known) approval = known;
    else if (info?.status.kind === 'revoked') {
      // Revoked before this gatekeeper (re)started: the approval's expiry is gone from the chain;
      // registration time + TTL bounds it from above (the same bound every gatekeeper computes).
      const hash = (await this.client.api.rpc.chain.getBlockHash(info.registeredAt)).toHex() as Hex;
      const registeredTime = await chainTime(this.client, hash);
      approval = {
        cluster: info.cluster,
        registeredAt: info.registeredAt,
        expiresAt: BigInt(registeredTime + this.enclave.registrationTtlSeconds),
      };
    } else {
      this.#log.info({ worker, block: block.number }, 'revoked registration already replaced');
      return done();
    }
    const signed = `${worker}:${approval.registeredAt}`;
    if (this.#revocationsSigned.has(signed)) return done();
    try {
      await this.#signRevocation(event, approval);
    } catch (error) {
      // A transient failure retries the block (the record is still here); a permanent one is final.
      if (PERMANENT_ERRORS.some((kind) => error instanceof kind)) done();
      throw error;
    }
    if (this.#revocationsSigned.size >= MAX_REVOCATIONS)
      this.#revocationsSigned.delete(this.#revocationsSigned.values().next().value!);
    this.#revocationsSigned.add(signed);
    done();
  }

  async #signRevocation(
    event: PhalaEventOf<'WorkerRevoked'>,
    approval: { cluster: Hex; registeredAt: number; expiresAt: bigint },
  ): Promise<void> {
    const epoch = this.enclave.latestEpoch();
    if (epoch !== null)
      await this.#pushEvm({
        kind: 'WorkerRevocation',
        message: {
          worker: ethereumAddress(fromHex(event.worker)),
          revokeUpTo: approval.expiresAt,
          epoch: BigInt(epoch),
        },
      });
    const signature = this.enclave.signWorkerRevocation({
      genesisHash: this.#genesis,
      worker: fromHex(event.worker),
      registeredAt: approval.registeredAt,
      reason: event.reason,
    });
    await this.#push(
      WORKER_REVOCATION_DESTINATION_BYTES,
      encodeWorkerRevocationMessage({
        worker: event.worker,
        cluster: approval.cluster,
        registeredAt: approval.registeredAt,
        reason: event.reason,
        signature: toHex(signature),
      }),
    );
    this.#log.warn(
      { worker: event.worker, reason: event.reason, revokeUpTo: String(approval.expiresAt) },
      'signed the revocation for the EVM gateways and sibling parachains',
    );
  }

  // ---------------------------------------------------------------- contracts and keys

  /** Publishes the contract's key of the newest epoch if the chain lacks it (one gatekeeper suffices). */
  async #onInstantiated(contractId: Hex): Promise<void> {
    if (!this.isGatekeeper) return;
    const epoch = this.enclave.latestEpoch();
    if (epoch === null) return;
    this.#schedule(contractId, 'contract key', async () => {
      if (!this.enclave.hasEpoch(epoch)) return;
      const history = await contractKeyHistory(this.client, contractId);
      if (history.has(epoch)) return;
      const { publicKey, signature } = this.enclave.signContractKey(
        fromHex(contractId),
        epoch,
        this.#genesis,
      );
      await registry.publishContractKey(this.client, {
        signer: this.#signer,
        contractId,
        publicKey,
        epoch: BigInt(epoch),
        signature,
      });
      this.#log.info({ contractId, epoch, publicKey: toHex(publicKey) }, 'published contract key');
    });
  }

  async #onContractKeyPublished(event: PhalaEventOf<'ContractKeyPublished'>): Promise<void> {
    const epoch = Number(event.epoch);
    if (!this.isGatekeeper) return;
    if (!this.ready || !this.enclave.hasEpoch(epoch)) return this.#defer(event);
    if (toHex(this.enclave.contractPublicKey(fromHex(event.contractId), epoch)) !== event.publicKey) {
      this.#log.error(
        { contractId: event.contractId, epoch },
        'published contract key differs from the derivation',
      );
      return;
    }
    let cluster = this.#contracts.get(event.contractId);
    if (!cluster) {
      const contracts = await listContracts(this.client);
      cluster = contracts.find((c) => c.contractId === event.contractId)?.info.cluster;
      if (!cluster) return;
      this.#contracts.set(event.contractId, cluster);
    }
    if (epoch === this.enclave.latestEpoch())
      await this.#pushEvm({
        kind: 'ContractRegistration',
        message: { contractId: event.contractId, cluster, publicKey: event.publicKey, epoch: BigInt(epoch) },
      });
    for (const [worker, w] of this.#approved) {
      if (w.cluster !== cluster) continue;
      this.#schedule(worker, 'contract key handover', () => this.#handOver(worker, event.contractId));
    }
  }

  /**
   * Hands a worker the keys of its cluster's contracts (or of one contract), every published
   * epoch this gatekeeper holds, skipping handovers already seen on chain.
   */
  async #handOver(worker: Hex, only: Hex | null): Promise<void> {
    const w = this.#approved.get(worker);
    if (!w || !(await this.#verified(worker, w.registeredAt))) return;
    const keys: { contractId: Uint8Array; epoch: number; seen: string }[] = [];
    for (const [contractId, cluster] of this.#contracts) {
      if (cluster !== w.cluster || (only && contractId !== only)) continue;
      for (const [epoch, publicKey] of await contractKeyHistory(this.client, contractId)) {
        const seen = `${worker}:${contractId}:${epoch}`;
        if (this.#seenHandovers.has(seen) || !this.enclave.hasEpoch(epoch)) continue;
        if (toHex(this.enclave.contractPublicKey(fromHex(contractId), epoch)) !== publicKey) continue;
        keys.push({ contractId: fromHex(contractId), epoch, seen });
      }
    }
    for (let i = 0; i < keys.length; i += MAX_HANDOVERS_PER_MESSAGE) {
      const chunk = keys.slice(i, i + MAX_HANDOVERS_PER_MESSAGE);
      await this.#push('keyHandover', this.enclave.sealContractKeys(fromHex(worker), chunk));
      for (const k of chunk) this.#seenHandovers.add(k.seen);
      this.#log.info({ worker, keys: chunk.length }, 'handed contract keys to worker');
    }
  }

  // ---------------------------------------------------------------- messages

  async #onMessage(event: PhalaEventOf<'MessageReceived'>): Promise<void> {
    if (event.sender.kind !== 'gatekeeper') return;
    const destination = destinationOf(fromHex(event.destination));
    const payload = fromHex(event.payload);
    switch (destination) {
      case 'keyHandover': {
        const message = decodeKeyHandoverMessage(payload);
        const worker = toHex(message.worker);
        for (const h of message.handovers) this.#seenHandovers.add(`${worker}:${toHex(h.id)}:${h.epoch}`);
        return;
      }
      case 'masterKeyRequest': {
        const requester = event.sender.key;
        if (requester === this.#me || !this.isGatekeeper || !this.ready) return;
        this.#schedule(requester, 'master key handover', () => this.#handOverMasterKeys(requester, payload), [
          requester,
        ]);
        return;
      }
      case 'masterKeyHandover': {
        const message = decodeMasterKeyHandoverMessage(payload);
        const recipient = toHex(message.recipient);
        this.#seenMasterHandovers.add(`${recipient}:${message.epoch}`);
        if (recipient !== this.#me) return;
        this.#chainEpochs = await masterKeyHistory(this.client);
        const joined = this.enclave.latestEpoch() === null;
        const added = await this.enclave.receiveMasterKeys(
          message.epoch,
          message.envelope,
          this.#chainEpochs,
        );
        this.#log.info({ from: event.sender.key, added }, 'received master keys');
        this.#checkReady();
        const latest = this.enclave.latestEpoch();
        // A rotation this gatekeeper missed: do its part of it. A first join: only the contract keys.
        if (latest !== null && added.includes(latest)) {
          if (joined) for (const contractId of this.#contracts.keys()) await this.#onInstantiated(contractId);
          else await this.#afterRotation(latest);
        }
        await this.#replayDeferred();
        return;
      }
      default:
        return;
    }
  }

  async #handOverMasterKeys(requester: Hex, attestation: Uint8Array): Promise<void> {
    const epoch = this.enclave.latestEpoch();
    if (epoch === null || this.#seenMasterHandovers.has(`${requester}:${epoch}`)) return;
    const info = await registry.getGatekeeper(this.client, requester);
    if (!info) {
      this.#log.warn({ requester }, 'master key request from a key that is not a gatekeeper');
      return;
    }
    const verdict = this.enclave.handOverMasterKeys({
      requester: fromHex(requester),
      requesterX25519: fromHex(info.x25519),
      attestation,
      at: await chainTime(this.client),
    });
    if (!verdict.ok) {
      this.#log.warn({ requester, reason: verdict.reason }, 'refused the master keys to a gatekeeper');
      return;
    }
    await this.#push('masterKeyHandover', verdict.message);
    this.#seenMasterHandovers.add(`${requester}:${verdict.epoch}`);
    this.#log.info({ requester, epoch: verdict.epoch }, 'handed the master keys to a gatekeeper');
  }

  async #pushEvm(item: EvmMessage): Promise<void> {
    if (!this.#gateways.length) return;
    const signatures = this.enclave.signEvm(item, this.#gateways);
    await this.#push('evmSignature', encodeEvmSignatureMessage({ ...item, signatures }));
    this.#log.info({ kind: item.kind, gateways: this.#gateways.length }, 'published EVM signatures');
  }

  /** Pushes a PhalaMq message from this gatekeeper with the next sequence the chain expects. */
  async #push(to: keyof typeof DESTINATION_BYTES | Uint8Array, payload: Uint8Array): Promise<void> {
    const destination = typeof to === 'string' ? DESTINATION_BYTES[to] : to;
    const sender = { kind: 'gatekeeper' as const, key: fromHex(this.#me) };
    for (let attempt = 0; ; attempt++) {
      const sequence = await mq.nextSequence(this.client, sender);
      const signature = this.enclave.signMqMessage({
        genesisHash: this.#genesis,
        destination,
        sequence,
        payload,
      });
      try {
        await mq.pushMessage(this.client, {
          signer: this.#signer,
          message: { sender, destination, sequence, payload, signature },
        });
        return;
      } catch (error) {
        const raced =
          error instanceof DispatchFailedError &&
          (error.error === 'SequenceReplayed' || error.error === 'SequenceGap');
        if (!raced || attempt >= 2) throw error;
      }
    }
  }

  // ---------------------------------------------------------------- scheduling

  async #refreshGatekeepers(): Promise<void> {
    const list = await registry.listGatekeepers(this.client);
    this.#gatekeepers = list.map((g) => g.gatekeeper).sort();
  }

  /**
   * Runs `task` now when this gatekeeper is the subject's primary, else after backupDelayMs × rank
   * (the task checks on chain whether it is still needed). `exclude` leaves gatekeepers out of the
   * ranking (a requester does not serve itself).
   */
  #schedule(subject: Hex, label: string, task: () => Promise<void>, exclude: Hex[] = []): void {
    const set = this.#gatekeepers.filter((g) => !exclude.includes(g));
    const index = set.indexOf(this.#me);
    const rank =
      index < 0 || set.length === 0
        ? 0
        : (index - (blake2_256(utf8(subject))[0]! % set.length) + set.length) % set.length;
    if (rank === 0) {
      this.#later(0, label, task);
      return;
    }
    this.#later(rank * this.#backupDelayMs, label, task);
  }

  /** Runs `task` after `delayMs` in the serial queue; a transient failure is retried (5 times, backing off). */
  #later(delayMs: number, label: string, task: () => Promise<void>, attempt = 0): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      void this.#serial(() => this.#guard(label, task)).catch((error) => {
        this.#log.warn({ task: label, attempt, error: errorMessage(error) }, 'gatekeeper task failed');
        if (attempt < 5) this.#later(Math.min(1_000 * 2 ** attempt, 30_000), label, task, attempt + 1);
      });
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Runs one step; a permanent failure (refused on chain, refused by the enclave, bad data) is logged and skipped. */
  async #guard(label: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (PERMANENT_ERRORS.some((kind) => error instanceof kind)) {
        this.#log.warn({ step: label, error: errorMessage(error) }, 'gatekeeper step failed');
        return;
      }
      throw error;
    }
  }

  /** One thing at a time: block processing and scheduled work never interleave. */
  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** Sets `key` in a map kept to MAX_REVOCATIONS entries (the oldest goes first). */
function remember<V>(map: Map<Hex, V>, key: Hex, value: V): void {
  if (!map.has(key) && map.size >= MAX_REVOCATIONS) map.delete(map.keys().next().value!);
  map.set(key, value);
}

import path from 'node:path';
import type { IKeyringPair } from '@polkadot/types/types';
import { type Hex, equalBytes, fromHex, toHex, utf8 } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { sealKeyHandover } from '../../crypto/key-handover.js';
import { type PublicIdentity, ethereumAddress } from '../../crypto/keys.js';
import type { GatewayDomain } from '../../crypto/proofs.js';
import {
  contractKeyPayload,
  masterKeyPayload,
  mqMessagePayload,
  workerApprovalPayload,
  workerRejectionPayload,
  workerRevocationPayload,
} from '../../phala/payloads.js';
import { EnclaveIdentity } from '../../pruntime/enclave/identity.js';
import type { TeeKind, TeePlatform } from '../../pruntime/enclave/platform.js';
import { readIfExists, writeSealedFile } from '../../pruntime/enclave/sealed-files.js';
import { Sealer } from '../../pruntime/enclave/sealing.js';
import {
  type AttestationPolicy,
  type AttestationPolicyInput,
  parseAttestationPolicy,
} from '../attestation/index.js';
import {
  type FreshnessFacts,
  type Judgement,
  type JudgementReason,
  judgeCandidate,
} from '../approvals/judge.js';
import { GatekeeperRefusalError, MasterKeyUnsealError } from '../errors.js';
import { type EvmMessage, evmMessageDigest } from '../evm/typed-data.js';
import { checkEpoch } from '../keys/derive.js';
import { identityTransactionSigner } from './transaction-signer.js';
import { openMasterKeys, sealMasterKeys } from '../keys/master-key-handover.js';
import { MasterKeyRing } from '../keys/master-key-ring.js';
import type { GatewaySignature } from '../messages/evm-signature-message.js';
import { type KeyHandoverEntry, encodeKeyHandoverMessage } from '../../protocol/key-handover-message.js';
import { encodeMasterKeyHandoverMessage } from '../messages/master-key-handover-message.js';

/**
 * The gatekeeper's enclave boundary (docs/gatekeeper.md#enclave). Its identity (secp256k1 +
 * X25519, src/pruntime/enclave/identity.ts) and its master keys are made inside and leave only
 * sealed: at rest under the platform's sealing key bound to the measurement, or to another
 * gatekeeper's attested X25519 key. What it hands out are public keys, signatures over payloads
 * it builds itself, and envelopes — and it decides inside what deserves them:
 *
 * - a worker's approval, its EVM registration and its contract keys only after this enclave
 *   verified the worker's attestation (judgeWorker) and for exactly what it verified;
 * - the master keys only to a gatekeeper whose quote shows an allowed gatekeeper build and
 *   binds the receiving key;
 * - contract public keys and registrations only as derived from the master key it holds.
 *
 * What the host supplies and the enclave takes on trust is its reading of the chain: the
 * measurement allowlist, block times, and who is a gatekeeper (a production enclave would check
 * these with a light client; see docs/gatekeeper.md#trust).
 */

export type GatekeeperEnclaveOptions = {
  /** Where `identity.sealed` and `master-keys.sealed` live. */
  dataDir: string;
  platform: TeePlatform;
  /** How quotes are judged (the allowlist is replaced by the chain's for workers, by peers' for gatekeepers). */
  policy: AttestationPolicyInput;
  /** How long an approval lasts from the registration's block time. */
  registrationTtlSeconds: number;
  /** Other gatekeeper builds (measurements) that may receive the master keys; this build always may. */
  peerMeasurements?: readonly Hex[];
  /** Collateral for bare DCAP quotes (a bundle brings its own). */
  collateral?: unknown;
  /** Private test PKIs only. */
  trustAnchor?: Uint8Array;
};

export const MASTER_KEYS_FILE = 'master-keys.sealed';
const MASTER_KEYS_LABEL = 'master-keys';

export type WorkerToJudge = {
  worker: Uint8Array;
  x25519: Uint8Array;
  cluster: Uint8Array;
  attestation: Uint8Array;
  /** The block the registration was made in (bound into the approval). */
  registeredAt: number;
  genesisHash: Uint8Array;
  /** The chain's measurement allowlist. */
  allowedMeasurements: readonly Hex[];
  /** The registration block's time (unix s). */
  at: number;
  /** The chain's current time (unix s). */
  now: number;
  /** Quote freshness: the registration block and the hash of the block its attestation names. */
  freshness?: FreshnessFacts;
};

export type WorkerVerdict = Judgement & {
  /** The gatekeeper's signature over the approval (ok) or rejection payload, for the registry. */
  signature: Uint8Array;
};

type TrustedWorker = {
  x25519: Uint8Array;
  cluster: Hex;
  measurement: Hex;
  expiresAt: bigint;
  registeredAt: number;
};

export type ContractKeyToHand = { contractId: Uint8Array; epoch: number };

export type MasterKeyRequest = {
  requester: Uint8Array;
  requesterX25519: Uint8Array;
  attestation: Uint8Array;
  /** Verification time (unix s). */
  at: number;
};

export type MasterKeyHandoverVerdict =
  | { ok: true; epoch: number; message: Uint8Array }
  | { ok: false; reasons: JudgementReason[]; reason: string };

export class GatekeeperEnclave {
  readonly tee: TeeKind;
  readonly measurement: Hex;
  readonly publicIdentity: PublicIdentity;
  /** True when this start made a new identity. */
  readonly createdIdentity: boolean;
  readonly #platform: TeePlatform;
  readonly #identity: EnclaveIdentity;
  readonly #sealer: Sealer;
  readonly #ring: MasterKeyRing;
  readonly #file: string;
  readonly #policy: AttestationPolicy;
  readonly #ttl: number;
  readonly #peers: Hex[];
  readonly #collateral: unknown;
  readonly #trustAnchor: Uint8Array | undefined;
  readonly #trusted = new Map<Hex, TrustedWorker>();
  #persisting: Promise<void> = Promise.resolve();

  private constructor(
    options: GatekeeperEnclaveOptions,
    measurement: Uint8Array,
    identity: EnclaveIdentity,
    created: boolean,
    sealer: Sealer,
    ring: MasterKeyRing,
  ) {
    this.tee = options.platform.tee;
    this.measurement = toHex(measurement);
    this.publicIdentity = identity.public;
    this.createdIdentity = created;
    this.#platform = options.platform;
    this.#identity = identity;
    this.#sealer = sealer;
    this.#ring = ring;
    this.#file = path.join(options.dataDir, MASTER_KEYS_FILE);
    this.#policy = parseAttestationPolicy(options.policy);
    this.#ttl = options.registrationTtlSeconds;
    this.#peers = [this.measurement, ...(options.peerMeasurements ?? []).map((m) => m.toLowerCase() as Hex)];
    this.#collateral = options.collateral;
    this.#trustAnchor = options.trustAnchor;
  }

  /**
   * Unseals (or makes) the identity and unseals the master keys under `dataDir`. Sealed data this
   * build cannot open stops the start; it is never silently replaced.
   */
  static async open(options: GatekeeperEnclaveOptions): Promise<GatekeeperEnclave> {
    const measurement = await options.platform.measurement();
    const sealer = Sealer.derive(await options.platform.sealingSecret(), measurement);
    const { identity, created } = await EnclaveIdentity.loadOrCreate(options.dataDir, sealer);
    const ring = await readRing(path.join(options.dataDir, MASTER_KEYS_FILE), sealer);
    return new GatekeeperEnclave(
      options,
      measurement,
      identity,
      created,
      sealer,
      ring ?? new MasterKeyRing(),
    );
  }

  get secp256k1PublicKey(): Uint8Array {
    return this.#identity.secp256k1PublicKey;
  }

  get x25519PublicKey(): Uint8Array {
    return this.#identity.x25519PublicKey;
  }

  /** The account id of this gatekeeper's ecdsa chain account: blake2_256(secp256k1 public key). */
  get accountId(): Uint8Array {
    return blake2_256(this.#identity.secp256k1PublicKey);
  }

  /** How long an approval lasts (every gatekeeper is configured alike). */
  get registrationTtlSeconds(): number {
    return this.#ttl;
  }

  /** A quote whose report data binds this gatekeeper's keys (PROTOCOL §5). */
  quote(): Promise<Uint8Array> {
    return this.#platform.quote(this.#identity.reportData());
  }

  // ---------------------------------------------------------------- master keys

  /** Master key epochs held, ascending. */
  epochs(): number[] {
    return this.#ring.epochs();
  }

  latestEpoch(): number | null {
    return this.#ring.latest();
  }

  hasEpoch(epoch: number): boolean {
    return this.#ring.has(epoch);
  }

  masterPublicKey(epoch: number): Uint8Array {
    this.#requireEpoch(epoch);
    return this.#ring.masterPublicKey(epoch);
  }

  /**
   * Makes the master key of `epoch` (the first gatekeeper's, or a rotation's: then `epoch` must
   * follow the newest held) and seals it before anything is published, so a published key is
   * never lost. Returns the signature publishing it (PhalaRegistry.rotateMasterKey).
   */
  async createMasterKey(
    epoch: number,
    genesisHash: Uint8Array,
  ): Promise<{ epoch: number; publicKey: Uint8Array; signature: Uint8Array }> {
    checkEpoch(epoch);
    const latest = this.#ring.latest();
    if (latest !== null && epoch !== latest + 1)
      throw new GatekeeperRefusalError('epoch-out-of-order', `epoch ${epoch} after ${latest}`);
    this.#ring.generate(epoch);
    await this.#persist();
    return {
      epoch,
      publicKey: this.#ring.masterPublicKey(epoch),
      signature: this.signMasterKey(epoch, genesisHash),
    };
  }

  /** The signature publishing a held epoch's master public key (masterKeyPayload). */
  signMasterKey(epoch: number, genesisHash: Uint8Array): Uint8Array {
    this.#requireEpoch(epoch);
    return this.#signPayload(
      masterKeyPayload({ genesisHash, publicKey: this.#ring.masterPublicKey(epoch), epoch: BigInt(epoch) }),
    );
  }

  /**
   * Development only (simulated TEE): takes a given first master key instead of making one, so a
   * devnet started with the same seed has the same contract keys on every start and recorded
   * sealed inputs still open (replay tapes, docs/PROTOCOL.md §8). Refused on real TEEs and once a
   * key is held. The gatekeeper publishes it as a made-but-unpublished key on start.
   */
  async importDevelopmentMasterKey(masterKey: Uint8Array): Promise<void> {
    if (this.tee !== 'sim')
      throw new GatekeeperRefusalError('not-development', 'a given master key is for the simulated TEE only');
    if (this.#ring.latest() !== null)
      throw new GatekeeperRefusalError('epoch-out-of-order', 'a master key is held already');
    this.#ring.insert(0, masterKey);
    await this.#persist();
  }

  /** Drops an epoch that was never published because another gatekeeper's key won it. */
  async forgetEpoch(epoch: number): Promise<void> {
    this.#ring.forget(epoch);
    await this.#persist();
  }

  /** Merges the sealed master keys on disk (another process of this enclave may have added some). */
  async reload(): Promise<number[]> {
    const ring = await readRing(this.#file, this.#sealer);
    if (!ring) return [];
    const added = this.#ring.merge(ring);
    ring.clear();
    return added;
  }

  /**
   * Seals every held master key to a gatekeeper that asked for them, if its quote verifies under
   * the policy with a gatekeeper measurement (this build's or a configured peer build's) and binds
   * the requester's keys. The caller checked that the requester is a gatekeeper on chain.
   */
  handOverMasterKeys(request: MasterKeyRequest): MasterKeyHandoverVerdict {
    const epoch = this.#ring.latest();
    if (epoch === null) throw new GatekeeperRefusalError('unknown-epoch', 'no master key held');
    const judgement = judgeCandidate({
      candidate: {
        secp256k1: request.requester,
        x25519: request.requesterX25519,
        cluster: new Uint8Array(32),
        attestation: request.attestation,
      },
      policy: this.#policy,
      allowedMeasurements: this.#peers,
      at: request.at,
      now: request.at,
      registrationTtlSeconds: this.#ttl,
      collateral: this.#collateral,
      trustAnchor: this.#trustAnchor,
    });
    if (!judgement.ok) return { ok: false, reasons: judgement.reasons, reason: judgement.reason };
    const envelope = sealMasterKeys(request.requesterX25519, this.#ring, epoch);
    return {
      ok: true,
      epoch,
      message: encodeMasterKeyHandoverMessage({ recipient: request.requester, epoch, envelope }),
    };
  }

  /**
   * Opens master keys another gatekeeper sealed to this one. Every epoch must match the master
   * public key the chain lists for it (`chainPublicKeys`); epochs the chain does not list are not
   * taken. Returns the epochs added (sealed at rest before returning).
   */
  async receiveMasterKeys(
    epoch: number,
    envelope: Uint8Array,
    chainPublicKeys: ReadonlyMap<number, Uint8Array>,
  ): Promise<number[]> {
    const received = this.#identity.withEncryptionKey((secretKey, publicKey) =>
      openMasterKeys(secretKey, publicKey, epoch, envelope),
    );
    try {
      if (received.latest() !== epoch)
        throw new GatekeeperRefusalError(
          'master-key-mismatch',
          `the handover's newest epoch is not ${epoch}`,
        );
      for (const e of received.epochs()) {
        const expected = chainPublicKeys.get(e);
        if (!expected) {
          received.forget(e);
          continue;
        }
        if (!equalBytes(received.masterPublicKey(e), expected))
          throw new GatekeeperRefusalError(
            'master-key-mismatch',
            `epoch ${e} differs from the chain's master key`,
          );
        if (this.#ring.has(e) && !equalBytes(this.#ring.masterPublicKey(e), expected))
          throw new GatekeeperRefusalError(
            'master-key-mismatch',
            `the held epoch ${e} differs from the chain's`,
          );
      }
      const added = this.#ring.merge(received);
      if (added.length) await this.#persist();
      return added;
    } finally {
      received.clear();
    }
  }

  // ---------------------------------------------------------------- workers

  /**
   * Verifies a worker registration and signs the approval (with the measurement and expiry it
   * found) or the rejection (with the reason). An approved worker is remembered as verified:
   * only such workers get EVM registrations and contract keys from this enclave.
   */
  judgeWorker(w: WorkerToJudge): WorkerVerdict {
    const judgement = judgeCandidate({
      candidate: { secp256k1: w.worker, x25519: w.x25519, cluster: w.cluster, attestation: w.attestation },
      policy: this.#policy,
      allowedMeasurements: w.allowedMeasurements,
      at: w.at,
      now: w.now,
      registrationTtlSeconds: this.#ttl,
      collateral: this.#collateral,
      trustAnchor: this.#trustAnchor,
      freshness: w.freshness,
    });
    const key = toHex(w.worker);
    if (!judgement.ok) {
      this.#trusted.delete(key);
      return {
        ...judgement,
        signature: this.#signPayload(
          workerRejectionPayload({
            genesisHash: w.genesisHash,
            worker: w.worker,
            registeredAt: w.registeredAt,
            reason: utf8(judgement.reason),
          }),
        ),
      };
    }
    const signature = this.#signPayload(
      workerApprovalPayload({
        genesisHash: w.genesisHash,
        worker: w.worker,
        x25519: w.x25519,
        cluster: w.cluster,
        measurement: fromHex(judgement.measurement),
        expiresAt: judgement.expiresAt,
        registeredAt: w.registeredAt,
      }),
    );
    this.#trusted.set(key, {
      x25519: new Uint8Array(w.x25519),
      cluster: toHex(w.cluster),
      measurement: judgement.measurement,
      expiresAt: judgement.expiresAt,
      registeredAt: w.registeredAt,
    });
    return { ...judgement, signature };
  }

  /** Whether this enclave verified the worker (this registration, if `registeredAt` is given). */
  isVerified(worker: Uint8Array, registeredAt?: number): boolean {
    const trusted = this.#trusted.get(toHex(worker));
    return !!trusted && (registeredAt === undefined || trusted.registeredAt === registeredAt);
  }

  /** Signs a revocation (PhalaRegistry.revokeWorker) and stops trusting the worker. */
  signWorkerRevocation(p: {
    genesisHash: Uint8Array;
    worker: Uint8Array;
    registeredAt: number;
    reason: string;
  }): Uint8Array {
    this.#trusted.delete(toHex(p.worker));
    return this.#signPayload(
      workerRevocationPayload({
        genesisHash: p.genesisHash,
        worker: p.worker,
        registeredAt: p.registeredAt,
        reason: utf8(p.reason),
      }),
    );
  }

  /** Stops trusting a worker (revoked, rejected or re-registered on chain). */
  forgetWorker(worker: Uint8Array): void {
    this.#trusted.delete(toHex(worker));
  }

  // ---------------------------------------------------------------- contract keys

  contractPublicKey(contractId: Uint8Array, epoch: number): Uint8Array {
    this.#requireEpoch(epoch);
    const pair = this.#ring.contractKeyPair(contractId, epoch);
    pair.secretKey.fill(0);
    return pair.publicKey;
  }

  /** The contract's public key at `epoch` and the signature publishing it (contractKeyPayload). */
  signContractKey(
    contractId: Uint8Array,
    epoch: number,
    genesisHash: Uint8Array,
  ): { publicKey: Uint8Array; signature: Uint8Array } {
    const publicKey = this.contractPublicKey(contractId, epoch);
    return {
      publicKey,
      signature: this.#signPayload(
        contractKeyPayload({ genesisHash, contractId, publicKey, epoch: BigInt(epoch) }),
      ),
    };
  }

  /**
   * Seals contract keys to a verified worker's X25519 key (src/crypto/key-handover.ts) and returns
   * the key handover message for it (src/protocol/key-handover-message.ts).
   */
  sealContractKeys(worker: Uint8Array, keys: readonly ContractKeyToHand[]): Uint8Array {
    const trusted = this.#trusted.get(toHex(worker));
    if (!trusted) throw new GatekeeperRefusalError('worker-not-verified', `worker ${toHex(worker)}`);
    const handovers: KeyHandoverEntry[] = keys.map(({ contractId, epoch }) => {
      this.#requireEpoch(epoch);
      const pair = this.#ring.contractKeyPair(contractId, epoch);
      try {
        return {
          kind: 'contract',
          id: new Uint8Array(contractId),
          epoch,
          publicKey: pair.publicKey,
          envelope: sealKeyHandover(trusted.x25519, {
            kind: 'contract',
            id: contractId,
            epoch,
            secretKey: pair.secretKey,
          }),
        };
      } finally {
        pair.secretKey.fill(0);
      }
    });
    return encodeKeyHandoverMessage({ worker, workerX25519: trusted.x25519, handovers });
  }

  // ---------------------------------------------------------------- EVM

  /**
   * Signs an EIP-712 message for each gateway. A WorkerRegistration must be for a worker this
   * enclave verified, with its measurement and cluster, expiring no later than it approved; a
   * ContractRegistration must carry the key derived here; every epoch must be held.
   */
  signEvm(item: EvmMessage, domains: readonly GatewayDomain[]): GatewaySignature[] {
    this.#checkEvm(item);
    return domains.map((d) => ({
      chainId: BigInt(d.chainId),
      gateway: d.verifyingContract,
      signature: this.#identity.signEthereumDigest(evmMessageDigest(d, item)),
    }));
  }

  #checkEvm(item: EvmMessage): void {
    this.#requireEpoch(Number(item.message.epoch));
    if (item.kind === 'WorkerRegistration') {
      const m = item.message;
      const entry = [...this.#trusted.entries()].find(
        ([key]) => ethereumAddress(fromHex(key)).toLowerCase() === m.worker.toLowerCase(),
      );
      if (!entry) throw new GatekeeperRefusalError('worker-not-verified', `worker ${m.worker}`);
      const trusted = entry[1];
      if (
        trusted.measurement !== m.measurement.toLowerCase() ||
        trusted.cluster !== m.cluster.toLowerCase() ||
        m.expiresAt > trusted.expiresAt
      )
        throw new GatekeeperRefusalError('registration-mismatch', `worker ${m.worker}`);
    } else if (item.kind === 'ContractRegistration') {
      const m = item.message;
      const derived = this.contractPublicKey(fromHex(m.contractId, 'contractId', 32), Number(m.epoch));
      if (toHex(derived) !== m.publicKey.toLowerCase())
        throw new GatekeeperRefusalError('registration-mismatch', `contract ${m.contractId} key`);
    }
  }

  // ---------------------------------------------------------------- chain

  /** Signs a PhalaMq message from this gatekeeper (mqMessagePayload). */
  signMqMessage(p: {
    genesisHash: Uint8Array;
    destination: Uint8Array;
    sequence: bigint;
    payload: Uint8Array;
  }): Uint8Array {
    return this.#signPayload(
      mqMessagePayload({ ...p, sender: { kind: 'gatekeeper', key: this.#identity.secp256k1PublicKey } }),
    );
  }

  /** This gatekeeper's ecdsa chain account as a polkadot-js signer (transaction-signer.ts). */
  transactionSigner(ss58Format = 42): IKeyringPair {
    return identityTransactionSigner(this.#identity, ss58Format);
  }

  /** Zeroes the master keys held in memory. */
  async close(): Promise<void> {
    await this.#persisting.catch(() => {});
    this.#ring.clear();
    this.#trusted.clear();
  }

  toJSON(): { tee: TeeKind; measurement: Hex; identity: PublicIdentity; epochs: number[] } {
    return {
      tee: this.tee,
      measurement: this.measurement,
      identity: this.publicIdentity,
      epochs: this.epochs(),
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `GatekeeperEnclave(${this.publicIdentity.address}, epochs ${this.epochs().join(',') || 'none'})`;
  }

  #requireEpoch(epoch: number): void {
    if (!this.#ring.has(epoch)) throw new GatekeeperRefusalError('unknown-epoch', `epoch ${epoch}`);
  }

  #signPayload(payload: Uint8Array): Uint8Array {
    return this.#identity.signSubstrateDigest(blake2_256(payload));
  }

  #persist(): Promise<void> {
    const next = this.#persisting.then(async () => {
      const plaintext = this.#ring.encode();
      try {
        await writeSealedFile(this.#file, this.#sealer.seal(MASTER_KEYS_LABEL, plaintext));
      } finally {
        plaintext.fill(0);
      }
    });
    this.#persisting = next.catch(() => {});
    return next;
  }
}

async function readRing(file: string, sealer: Sealer): Promise<MasterKeyRing | null> {
  const sealed = await readIfExists(file);
  if (!sealed) return null;
  let plaintext: Uint8Array;
  try {
    plaintext = sealer.open(MASTER_KEYS_LABEL, sealed);
  } catch (error) {
    throw new MasterKeyUnsealError(file, error);
  }
  try {
    return MasterKeyRing.decode(plaintext);
  } catch (error) {
    throw new MasterKeyUnsealError(file, error);
  } finally {
    plaintext.fill(0);
  }
}

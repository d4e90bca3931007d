import { type Hex, equalBytes, fromHex, toHex } from '../../base/bytes.js';
import { InvalidInputError, errorMessage } from '../../base/errors.js';
import { EnvelopeOpenError } from '../../crypto/envelope.js';
import { type FinalizedBlock, type Follower, followFinalizedBlocks } from '../../phala/follow.js';
import { type PhalaEvent, parsePhalaEvent } from '../../phala/types.js';
import type { Logger } from '../../log/logger.js';
import type { Enclave } from '../enclave/enclave.js';
import { KeyMismatchError } from '../enclave/key-store.js';
import type { ChainReader } from './chain-reader.js';
import {
  KEY_HANDOVER_DESTINATION_BYTES,
  type KeyHandoverEntry,
  decodeKeyHandoverMessage,
} from '../../protocol/key-handover-message.js';
import { writeProgress } from './state-file.js';

/**
 * Follows the Phala-style chain's finalized blocks for what concerns this worker
 * (docs/pruntime-worker.md#keys), in order and from a persisted cursor, so nothing published while
 * the worker was down is missed:
 *
 * - key handovers: `PhalaMq.MessageReceived` from a gatekeeper to the key-handover destination,
 *   addressed to this worker's keys; each key is taken only when its public half is the one the
 *   chain published for that contract and epoch (PhalaRegistry.ContractKeyHistory);
 * - verdicts: registry events about this worker (registered, approved, rejected, revoked) and
 *   allowlist changes, which make the service re-read its registration.
 *
 * Hostile or malformed chain data is logged and skipped; a failing RPC retries the same block.
 */
export type ChainWatchParameters = {
  enclave: Enclave;
  chain: ChainReader;
  dataDir: string;
  genesisHash: Hex;
  logger: Logger;
  /** Called (after the block's keys are taken) when the worker's registration may have changed. */
  onRegistryChange(): Promise<void>;
  /** Called after every block (the service checks the approval's expiry). */
  onBlock?(block: FinalizedBlock): Promise<void>;
};

export type KeyIntakeStats = { received: number; refused: number };

const REGISTRY_EVENTS = new Set([
  'WorkerRegistered',
  'WorkerApproved',
  'WorkerRejected',
  'WorkerRevoked',
  'MeasurementAdded',
  'MeasurementRemoved',
]);

export class ChainWatch {
  readonly #p: ChainWatchParameters;
  readonly #me: Uint8Array;
  readonly #myX25519: Uint8Array;
  #follower: Follower | null = null;
  #cursor = -1;
  readonly stats: KeyIntakeStats = { received: 0, refused: 0 };

  constructor(parameters: ChainWatchParameters) {
    this.#p = parameters;
    this.#me = fromHex(parameters.enclave.publicIdentity.secp256k1);
    this.#myX25519 = fromHex(parameters.enclave.publicIdentity.x25519);
  }

  /** The last block fully handled. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Starts following at block `from` (inclusive); resolves once the subscription is live. */
  async start(from: number): Promise<void> {
    this.#cursor = from - 1;
    this.#follower = followFinalizedBlocks(this.#p.chain.client.api, {
      from,
      onBlock: (block) => this.#onBlock(block),
      onError: (error, blockNumber) =>
        this.#p.logger.warn(
          { block: blockNumber, err: errorMessage(error) },
          'block handling failed; retrying',
        ),
    });
    await this.#follower.ready;
  }

  async stop(): Promise<void> {
    await this.#follower?.stop();
    this.#follower = null;
  }

  async #onBlock(block: FinalizedBlock): Promise<void> {
    let registryChanged = false;
    for (const raw of block.events) {
      let event: PhalaEvent | null;
      try {
        event = parsePhalaEvent(raw);
      } catch (error) {
        this.#p.logger.warn(
          { block: block.number, event: `${raw.pallet}.${raw.name}`, err: errorMessage(error) },
          'unreadable chain event skipped',
        );
        continue;
      }
      if (!event) continue;
      if (event.type === 'MessageReceived') {
        if (event.sender.kind !== 'gatekeeper') continue;
        if (!equalBytes(fromHex(event.destination), KEY_HANDOVER_DESTINATION_BYTES)) continue;
        await this.#onHandoverMessage(fromHex(event.payload), event.sender.key, block.number);
      } else if (REGISTRY_EVENTS.has(event.type)) {
        const subject = 'worker' in event ? event.worker : null;
        if (subject === null || subject.toLowerCase() === toHex(this.#me)) registryChanged = true;
      }
    }
    if (registryChanged) await this.#p.onRegistryChange();
    await this.#p.onBlock?.(block);
    await writeProgress(this.#p.dataDir, { genesisHash: this.#p.genesisHash, cursor: block.number });
    this.#cursor = block.number;
  }

  async #onHandoverMessage(payload: Uint8Array, gatekeeper: Hex, blockNumber: number): Promise<void> {
    let message: ReturnType<typeof decodeKeyHandoverMessage>;
    try {
      message = decodeKeyHandoverMessage(payload);
    } catch (error) {
      this.#p.logger.warn(
        { block: blockNumber, gatekeeper, err: errorMessage(error) },
        'malformed key handover skipped',
      );
      return;
    }
    if (!equalBytes(message.worker, this.#me)) return;
    if (!equalBytes(message.workerX25519, this.#myX25519)) {
      this.#p.logger.warn(
        { block: blockNumber, gatekeeper },
        'key handover for an older X25519 key of this worker skipped',
      );
      return;
    }
    for (const entry of message.handovers) await this.#take(entry, gatekeeper, blockNumber);
  }

  async #take(entry: KeyHandoverEntry, gatekeeper: Hex, blockNumber: number): Promise<void> {
    const id = toHex(entry.id);
    const where = { block: blockNumber, gatekeeper, kind: entry.kind, id, epoch: entry.epoch };
    const held = this.#p.enclave
      .keys()
      .some((k) => k.kind === entry.kind && k.id === id && k.epoch === entry.epoch);
    if (held) return;
    // A contract key must be the one the chain published; a cluster key has no on-chain public
    // half, so the gatekeeper's word (its signed message) is what binds it.
    let expected: Uint8Array = entry.publicKey;
    if (entry.kind === 'contract') {
      const published = await this.#p.chain.contractKeyAt(id, entry.epoch);
      if (!published) {
        this.stats.refused++;
        this.#p.logger.warn(where, 'key handover for a key the chain has not published; skipped');
        return;
      }
      if (!equalBytes(fromHex(published), entry.publicKey)) {
        this.stats.refused++;
        this.#p.logger.warn(where, 'key handover whose key differs from the published one; skipped');
        return;
      }
      expected = fromHex(published);
    }
    try {
      await this.#p.enclave.receiveKeyHandover({
        envelope: entry.envelope,
        epoch: entry.epoch,
        expectedPublicKey: expected,
      });
      this.stats.received++;
      this.#p.logger.info(where, 'received a key');
    } catch (error) {
      // A handover that does not open, or holds another key, is refused; anything else (a full
      // disk) is this worker's problem and the block is retried.
      const refused =
        error instanceof EnvelopeOpenError ||
        error instanceof KeyMismatchError ||
        error instanceof InvalidInputError;
      if (!refused) throw error;
      this.stats.refused++;
      this.#p.logger.warn({ ...where, err: errorMessage(error) }, 'key handover refused');
    }
  }
}

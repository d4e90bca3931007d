import { type Hex, toHex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import {
  type WorkerRevocationMessage,
  decodeWorkerRevocationMessage,
  workerRevocationSigner,
} from '../messages/worker-revocation-message.js';

/**
 * Gathers the gatekeepers' sibling revocations from PhalaMq messages (for the relayer, or anyone
 * who carries them to a sibling parachain). A signature counts only if it recovers to the
 * gatekeeper that sent the message; signatures over the same (worker, registration, reason) are
 * pooled, so k gatekeepers give one `confidentialClient.revokeWorker` with k signatures.
 */
export type ReadyWorkerRevocation = {
  id: string;
  worker: Hex;
  cluster: Hex;
  registeredAt: number;
  reason: string;
  signers: Hex[];
  signatures: Hex[];
};

type Entry = Omit<WorkerRevocationMessage, 'signature'> & { id: string; bySigner: Map<Hex, Hex> };

/** Old entries go first once this many are pooled (a revocation is carried within seconds). */
const MAX_ENTRIES = 10_000;

export class WorkerRevocationCollector {
  readonly #genesisHash: Uint8Array;
  readonly #entries = new Map<string, Entry>();

  /** `genesisHash`: the Phala-style chain's, which the signed payload binds. */
  constructor(genesisHash: Uint8Array) {
    this.#genesisHash = genesisHash;
  }

  /**
   * Adds one message sent by the gatekeeper with this compressed secp256k1 key. Never throws on
   * hostile payloads: returns the revocation's id when accepted, else why not.
   */
  add(senderKey: Uint8Array, payload: Uint8Array): string | { rejected: string } {
    let message: WorkerRevocationMessage;
    try {
      message = decodeWorkerRevocationMessage(payload);
    } catch (error) {
      return { rejected: errorMessage(error) };
    }
    const sender = toHex(senderKey);
    const signer = workerRevocationSigner(this.#genesisHash, message);
    if (signer !== sender) return { rejected: `revocation of ${message.worker} is not signed by ${sender}` };
    const id = `${message.worker}:${message.registeredAt}:${toHex(new TextEncoder().encode(message.reason))}`;
    let entry = this.#entries.get(id);
    if (!entry) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      const { signature: _signature, ...rest } = message;
      entry = { ...rest, id, bySigner: new Map() };
      this.#entries.set(id, entry);
    }
    entry.bySigner.set(sender, message.signature);
    return id;
  }

  /**
   * Revocations signed by at least `threshold` of `gatekeepers` (when given, other signers are
   * ignored), each with exactly `threshold` signatures, ordered by signer key.
   */
  ready(threshold: number, gatekeepers?: readonly Hex[]): ReadyWorkerRevocation[] {
    const allowed = gatekeepers ? new Set(gatekeepers.map((g) => g.toLowerCase())) : null;
    const out: ReadyWorkerRevocation[] = [];
    for (const entry of this.#entries.values()) {
      const signers = [...entry.bySigner.keys()]
        .filter((k) => !allowed || allowed.has(k))
        .sort()
        .slice(0, Math.max(1, threshold));
      if (signers.length < Math.max(1, threshold)) continue;
      const { bySigner, ...rest } = entry;
      out.push({ ...rest, signers, signatures: signers.map((k) => bySigner.get(k)!) });
    }
    return out;
  }

  /** Drops a revocation once carried (or no longer needed). */
  forget(id: string): void {
    this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }
}

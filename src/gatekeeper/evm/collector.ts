import type { Address } from 'viem';
import type { Hex } from '../../base/bytes.js';
import { ethereumAddress } from '../../crypto/keys.js';
import { recoverTypedSigner } from '../../crypto/proofs.js';
import { decodeEvmSignatureMessage } from '../messages/evm-signature-message.js';
import { type EvmMessage, evmMessageDigest } from './typed-data.js';

/**
 * Gathers the gatekeepers' EVM signatures from PhalaMq messages (for the relayer, or anyone who
 * carries registrations to a gateway): each signature must recover to the address of the
 * gatekeeper that sent the message; signatures over the same digest for the same gateway are
 * pooled; `ready` yields every message that a gateway's threshold of distinct signers has signed,
 * with the signatures in the ascending signer order the gateway requires.
 */
export type GatewayRef = { chainId: bigint; gateway: Address };

export type ReadyEvmMessage = GatewayRef & {
  item: EvmMessage;
  digest: Hex;
  signers: Address[];
  signatures: Hex[];
};

type Entry = GatewayRef & { item: EvmMessage; digest: Hex; bySigner: Map<Address, Hex> };

export type AddResult = { accepted: number; rejected: string[] };

export class EvmSignatureCollector {
  readonly #entries = new Map<string, Entry>();

  /**
   * Adds one message sent by the gatekeeper with this compressed secp256k1 key. Never throws on
   * hostile payloads: what cannot be used is listed in `rejected`.
   */
  add(senderKey: Uint8Array, payload: Uint8Array): AddResult {
    const rejected: string[] = [];
    let signer: Address;
    let decoded: ReturnType<typeof decodeEvmSignatureMessage>;
    try {
      signer = ethereumAddress(senderKey);
      decoded = decodeEvmSignatureMessage(payload);
    } catch (error) {
      return { accepted: 0, rejected: [(error as Error).message] };
    }
    const { signatures, ...item } = decoded;
    let accepted = 0;
    for (const s of signatures) {
      const domain = { chainId: s.chainId, verifyingContract: s.gateway };
      const digest = evmMessageDigest(domain, item);
      const recovered = recoverTypedSigner(digest, s.signature);
      if (!recovered || recovered.toLowerCase() !== signer.toLowerCase()) {
        rejected.push(`signature for ${s.chainId}/${s.gateway} is not by ${signer}`);
        continue;
      }
      const key = `${s.chainId}:${s.gateway.toLowerCase()}:${digest}`;
      let entry = this.#entries.get(key);
      if (!entry) {
        entry = { chainId: s.chainId, gateway: s.gateway, item, digest, bySigner: new Map() };
        this.#entries.set(key, entry);
      }
      entry.bySigner.set(signer, s.signature);
      accepted++;
    }
    return { accepted, rejected };
  }

  /**
   * Messages for `gateway` signed by at least `threshold` of `gatekeepers` (when given, others'
   * signatures are ignored), each with exactly `threshold` signatures, ascending by signer.
   */
  ready(gateway: GatewayRef, threshold: number, gatekeepers?: readonly Address[]): ReadyEvmMessage[] {
    const allowed = gatekeepers ? new Set(gatekeepers.map((a) => a.toLowerCase())) : null;
    const out: ReadyEvmMessage[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.chainId !== gateway.chainId || entry.gateway.toLowerCase() !== gateway.gateway.toLowerCase())
        continue;
      const signers = [...entry.bySigner.keys()]
        .filter((a) => !allowed || allowed.has(a.toLowerCase()))
        .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
        .slice(0, threshold);
      if (signers.length < threshold) continue;
      out.push({
        chainId: entry.chainId,
        gateway: entry.gateway,
        item: entry.item,
        digest: entry.digest,
        signers,
        signatures: signers.map((a) => entry.bySigner.get(a)!),
      });
    }
    return out;
  }

  /** Drops a message once it is on the gateway (or superseded). */
  forget(gateway: GatewayRef, digest: Hex): void {
    this.#entries.delete(`${gateway.chainId}:${gateway.gateway.toLowerCase()}:${digest}`);
  }

  get size(): number {
    return this.#entries.size;
  }
}

import { utf8 } from '../base/bytes.js';

/**
 * PhalaMq destinations the gatekeepers use (docs/gatekeeper.md#what-goes-on-chain). Every message
 * is signed by its sender (a gatekeeper or a worker) and accepted by the chain only from a
 * registered gatekeeper or approved worker, with a per-sender sequence; readers take them from
 * `PhalaMq.MessageReceived` events of finalized blocks, so no one needs a connection to a
 * gatekeeper.
 */
export const DESTINATIONS = {
  /** Gatekeeper → worker: contract keys sealed to the worker's X25519 key (src/protocol/key-handover-message.ts). */
  keyHandover: 'phala-bridge/gatekeeper/key-handover/v1',
  /** Gatekeeper → relayer: EIP-712 signatures for EVM gateways (src/gatekeeper/messages/evm-signature-message.ts). */
  evmSignature: 'phala-bridge/gatekeeper/evm-signature/v1',
  /** Joining gatekeeper → gatekeepers: its attestation, asking for the master keys. */
  masterKeyRequest: 'phala-bridge/gatekeeper/master-key-request/v1',
  /** Gatekeeper → gatekeeper: the master keys sealed to the attested requester. */
  masterKeyHandover: 'phala-bridge/gatekeeper/master-key-handover/v1',
} as const;

export type DestinationName = keyof typeof DESTINATIONS;

export const DESTINATION_BYTES: Record<DestinationName, Uint8Array> = {
  keyHandover: utf8(DESTINATIONS.keyHandover),
  evmSignature: utf8(DESTINATIONS.evmSignature),
  masterKeyRequest: utf8(DESTINATIONS.masterKeyRequest),
  masterKeyHandover: utf8(DESTINATIONS.masterKeyHandover),
};

/** The destination name of raw destination bytes, or null for one the gatekeepers do not use. */
export function destinationOf(bytes: Uint8Array): DestinationName | null {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  for (const [name, value] of Object.entries(DESTINATIONS))
    if (value === text) return name as DestinationName;
  return null;
}

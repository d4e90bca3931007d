import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../../base/bytes.js';
import type { PhalaClient } from '../client.js';
import { type MessageSender, mqMessagePayload, signPayload } from '../payloads.js';
import type { Signer } from '../submit.js';
import { type ActionOptions, type Bytes, bytesOf, hexOf, queryPlain, submitFor } from './common.js';

/** PhalaMq: signed messages with a per-sender sequence. */

export type SignedMessage = {
  sender: MessageSender;
  destination: Bytes;
  sequence: bigint;
  payload: Bytes;
  signature: Bytes;
};

function senderJson(sender: MessageSender) {
  const key = hexOf(sender.key, 'sender key', 33);
  return sender.kind === 'worker' ? { Worker: key } : { Gatekeeper: key };
}

/** Signs a message as its sender (worker or gatekeeper identity key). */
export function signMessage(
  client: PhalaClient,
  p: { secretKey: Uint8Array; sender: MessageSender; destination: Bytes; sequence: bigint; payload: Bytes },
): Hex {
  const payload = mqMessagePayload({
    genesisHash: client.genesisHash,
    sender: p.sender,
    destination: bytesOf(p.destination, 'destination'),
    sequence: p.sequence,
    payload: bytesOf(p.payload, 'payload'),
  });
  return u8aToHex(signPayload(payload, p.secretKey)) as Hex;
}

export function pushMessage(
  client: PhalaClient,
  p: { signer: Signer; message: SignedMessage } & ActionOptions,
) {
  const m = p.message;
  const call = client.api.tx.phalaMq!.pushMessage!({
    sender: senderJson(m.sender),
    destination: hexOf(m.destination, 'destination'),
    sequence: m.sequence,
    payload: hexOf(m.payload, 'payload'),
    signature: hexOf(m.signature, 'signature', 65),
  });
  return submitFor(client, call, p.signer, 'MessageReceived', p);
}

/** The sequence the chain expects next from `sender`. */
export async function nextSequence(client: PhalaClient, sender: MessageSender): Promise<bigint> {
  const query = (client.api.query.phalaMq as unknown as Record<string, (...a: unknown[]) => Promise<Codec>>)
    .offchainIngress!;
  return BigInt(String(await queryPlain(query, senderJson(sender))));
}

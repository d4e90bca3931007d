import { z } from 'zod';
import { type Hex, fromHex, toHex, utf8 } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { recoverPayloadSigner, workerRevocationPayload } from '../../phala/payloads.js';

/**
 * One gatekeeper's signature revoking one worker registration on sibling parachains, as a
 * PhalaMq payload to WORKER_REVOCATION_DESTINATION (docs/gatekeeper.md#revocation-propagation).
 * The signature is over the Phala-style chain's genesis-bound `workerRevocationPayload`, exactly
 * what a sibling's `confidentialClient.revokeWorker` checks. UTF-8 JSON, versioned:
 *
 *   { "v": 1, "worker": "0x…(33)", "cluster": "0x…(32)", "registeredAt": 12,
 *     "reason": "Governance: …", "signature": "0x…(65)" }
 *
 * `cluster` is not signed (the sibling keys its workers by cluster and finds nothing under a
 * wrong one); `reason` is the text of the chain's `WorkerRevoked` event, so every gatekeeper signs
 * the same bytes and their signatures count together.
 */
export const WORKER_REVOCATION_DESTINATION = 'phala-bridge/gatekeeper/worker-revocation/v1';
export const WORKER_REVOCATION_DESTINATION_BYTES = utf8(WORKER_REVOCATION_DESTINATION);

/** The sibling takes any length; the Phala-style registry caps reasons at 256 bytes. */
const MAX_REASON_BYTES = 1024;

const hex = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of 0x-hex`)
    .transform((s) => s.toLowerCase() as Hex);

const messageSchema = z.strictObject({
  v: z.literal(1),
  worker: hex(33),
  cluster: hex(32),
  registeredAt: z.number().int().min(0).max(0xffff_ffff),
  reason: z.string().refine((s) => utf8(s).length <= MAX_REASON_BYTES, `at most ${MAX_REASON_BYTES} bytes`),
  signature: hex(65),
});

export type WorkerRevocationMessage = {
  worker: Hex;
  cluster: Hex;
  registeredAt: number;
  reason: string;
  signature: Hex;
};

export function encodeWorkerRevocationMessage(m: WorkerRevocationMessage): Uint8Array {
  return utf8(
    JSON.stringify({
      v: 1,
      worker: m.worker.toLowerCase(),
      cluster: m.cluster.toLowerCase(),
      registeredAt: m.registeredAt,
      reason: m.reason,
      signature: m.signature.toLowerCase(),
    }),
  );
}

/** Parses a payload; anything but a well-formed v1 message is an InvalidInputError. */
export function decodeWorkerRevocationMessage(payload: Uint8Array): WorkerRevocationMessage {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (cause) {
    throw new InvalidInputError('worker revocation message', 'UTF-8 JSON', { cause });
  }
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(
      `worker revocation message ${issue?.path.join('.') || '(root)'}`,
      issue?.message ?? 'a v1 message',
    );
  }
  const { v: _v, ...message } = parsed.data;
  return message;
}

/** The key (33-byte secp256k1, hex) that signed the message's revocation, or null. */
export function workerRevocationSigner(genesisHash: Uint8Array, m: WorkerRevocationMessage): Hex | null {
  const signer = recoverPayloadSigner(
    workerRevocationPayload({
      genesisHash,
      worker: fromHex(m.worker),
      registeredAt: m.registeredAt,
      reason: utf8(m.reason),
    }),
    fromHex(m.signature),
  );
  return signer ? toHex(signer) : null;
}

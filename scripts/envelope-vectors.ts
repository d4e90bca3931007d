/**
 * Writes test/vectors/envelope.json: fixed recipient key, ephemeral key and nonce → exact envelope
 * bytes for each purpose and payload size. Run with `npm run vectors:envelope`; the test suite
 * checks the file both against our code and against an independent construction from node:crypto.
 */
import { writeFileSync } from 'node:fs';
import { toHex } from '../src/base/bytes.js';
import { sha256 } from '../src/crypto/hash.js';
import { keyPairFromSecret } from '../src/crypto/keys.js';
import { type EnvelopePurpose, envelopePurposes, sealEnvelope } from '../src/crypto/envelope.js';
import { requestContext } from '../src/crypto/envelope-context.js';

/** Deterministic filler bytes: sha256 chained from a label, so vectors need no randomness. */
export function filler(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let block = sha256(new TextEncoder().encode(label));
  for (let offset = 0; offset < length; offset += 32) {
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
    block = sha256(block);
  }
  return out;
}

const recipient = keyPairFromSecret('x25519', filler('recipient', 32));
const sizes = [0, 1, 1024, 65536];
const vectors = [];
for (const purpose of Object.keys(envelopePurposes) as EnvelopePurpose[]) {
  for (const size of sizes) {
    const label = `${purpose}/${size}`;
    const ephemeralSecretKey = filler(`ephemeral/${label}`, 32);
    const nonce = filler(`nonce/${label}`, 24);
    // Request inputs use a real context (PROTOCOL §2, with the end user since v1.1) so the vectors
    // pin its layout too; the other purposes' contexts are fixed-size and opaque here.
    const parts =
      purpose === 'request'
        ? {
            originKey: 'evm-31337',
            requester: filler(`requester/${label}`, 20),
            endUser: filler(`endUser/${label}`, 20),
            contractId: filler(`contractId/${label}`, 32),
            responseKey: filler(`responseKey/${label}`, 32),
          }
        : null;
    const context = parts
      ? requestContext(parts.originKey, parts.requester, parts.contractId, parts.responseKey, parts.endUser)
      : filler(`context/${label}`, 32);
    const plaintext = filler(`plaintext/${label}`, size);
    const envelope = sealEnvelope({
      recipientPublicKey: recipient.publicKey,
      purpose,
      context,
      plaintext,
      ephemeralSecretKey,
      nonce,
    });
    vectors.push({
      purpose,
      purposeByte: envelopePurposes[purpose],
      ephemeralSecretKey: toHex(ephemeralSecretKey),
      nonce: toHex(nonce),
      context: toHex(context),
      ...(parts
        ? {
            requestContext: {
              originKey: parts.originKey,
              requester: toHex(parts.requester),
              endUser: toHex(parts.endUser),
              contractId: toHex(parts.contractId),
              responseKey: toHex(parts.responseKey),
            },
          }
        : {}),
      plaintextLength: size,
      // Large payloads give only the plaintext's sha256: open the envelope and compare.
      ...(size <= 1024 ? { plaintext: toHex(plaintext) } : { plaintextSha256: toHex(sha256(plaintext)) }),
      envelope: toHex(envelope),
    });
  }
}
const file = {
  description:
    'Sealed envelope v1 (docs/PROTOCOL.md §2; request-input context v1.1, with the end user). Every field is hex but requestContext.originKey (text). sealEnvelope(recipientPublicKey, purpose, context, plaintext, ephemeralSecretKey, nonce) must give exactly `envelope`, and openEnvelope with recipientSecretKey must give back `plaintext` (or bytes whose sha256 is `plaintextSha256`). For request inputs, `context` = lp(utf8(originKey)) ‖ lp(requester) ‖ lp(endUser) ‖ contractId ‖ responseKey from `requestContext`.',
  recipientSecretKey: toHex(recipient.secretKey),
  recipientPublicKey: toHex(recipient.publicKey),
  vectors,
};
if (process.argv[1]?.endsWith('envelope-vectors.ts')) {
  writeFileSync(
    new URL('../test/vectors/envelope.json', import.meta.url),
    `${JSON.stringify(file, null, 1)}\n`,
  );
  console.log(`wrote ${vectors.length} vectors`);
}

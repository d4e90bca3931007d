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
    const context = filler(`context/${label}`, purpose === 'request' ? 71 : 32);
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
      plaintextLength: size,
      // Large payloads give only the plaintext's sha256: open the envelope and compare.
      ...(size <= 1024 ? { plaintext: toHex(plaintext) } : { plaintextSha256: toHex(sha256(plaintext)) }),
      envelope: toHex(envelope),
    });
  }
}
const file = {
  description:
    'Sealed envelope v1 (docs/PROTOCOL.md §2). Every field is hex. sealEnvelope(recipientPublicKey, purpose, context, plaintext, ephemeralSecretKey, nonce) must give exactly `envelope`, and openEnvelope with recipientSecretKey must give back `plaintext` (or bytes whose sha256 is `plaintextSha256`).',
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
